// Parses discovered areas (JSON lines or one JSON array) into the seed's area shape; a bad entry names its line.
import { UsageError } from './errors.js';
import type { Area } from './payload.js';
import { MAX_ID, MAX_TEXT, capText } from './validate.js';

/** Largest discovery input accepted, so a runaway pipe cannot exhaust memory. */
export const MAX_DISCOVERY_BYTES = 32 * 1024 * 1024;

function text(value: unknown, field: string, where: string, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw new UsageError(`${where}: missing "${field}"`);
    return undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw new UsageError(`${where}: "${field}" must be a string`);
  if (required && value.trim() === '') throw new UsageError(`${where}: "${field}" must not be empty`);
  return value;
}

function toArea(value: unknown, where: string, discoveredBy: string | undefined): Area {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${where}: expected a JSON object`);
  const v = value as Record<string, unknown>;
  if (v.type !== 'group' && v.type !== 'project') throw new UsageError(`${where}: "type" must be "group" or "project"`);
  const id = text(v.id, 'id', where, true)!;
  if (id.length > MAX_ID) throw new UsageError(`${where}: "id" is too long`);
  const area: Area = { type: v.type, name: capText(text(v.name, 'name', where, true)!), gitlabId: id };
  const fullPath = text(v.full_path, 'full_path', where, false);
  const webUrl = text(v.web_url, 'web_url', where, false);
  const description = text(v.description, 'description', where, false);
  if (fullPath !== undefined) area.fullPath = capText(fullPath);
  if (webUrl !== undefined) area.webUrl = capText(webUrl);
  if (description !== undefined) area.description = description.length > MAX_TEXT ? capText(description) : description;
  if (discoveredBy !== undefined) area.discoveredBy = discoveredBy;
  return area;
}

/** Parses the whole input; nothing is returned unless every entry is valid. */
export function parseAreas(input: string, discoveredBy?: string): Area[] {
  const trimmed = input.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      throw new UsageError(`discover input is not a valid JSON array: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new UsageError('discover input is not a JSON array');
    if (parsed.length === 0) throw new UsageError('discover input holds no areas');
    return parsed.map((v, i) => toArea(v, `entry ${i + 1}`, discoveredBy));
  }
  const areas: Area[] = [];
  const lines = input.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UsageError(`line ${i + 1}: not valid JSON`);
    }
    areas.push(toArea(value, `line ${i + 1}`, discoveredBy));
  }
  if (areas.length === 0) throw new UsageError('discover input holds no areas');
  return areas;
}
