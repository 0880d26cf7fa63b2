// Coalescing of plain updates (the seed's mergeQueuedUpdates), and the bound on a coalesced timeline.
import type { Payload, TimelineEntry } from './payload.js';

const SCALARS = [
  'timestamp',
  'processedItems',
  'totalItems',
  'currentDataType',
  'lastProcessedId',
  'stage',
  'operationType',
  'message',
] as const;

/** Sums two itemsByType maps into a new null-prototype map (type names like `__proto__` stay plain keys). */
export function addCounts(a: Record<string, number> | undefined, b: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const src of [a, b]) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) out[k] = (Object.prototype.hasOwnProperty.call(out, k) ? out[k]! : 0) + v;
  }
  return out;
}

/**
 * Merges a later plain update into an earlier one: the latest *set* value wins for each scalar
 * (an update that does not mention lastProcessedId does not erase the previous one),
 * itemsByType increments are summed, timelines concatenated. Associative.
 */
export function mergeUpdates(earlier: Payload, later: Payload): Payload {
  const merged: Payload = { ...earlier };
  for (const key of SCALARS) {
    const value = later[key];
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (earlier.itemsByType || later.itemsByType) merged.itemsByType = { ...addCounts(earlier.itemsByType, later.itemsByType) };
  if (earlier.timeline || later.timeline) merged.timeline = [...(earlier.timeline ?? []), ...(later.timeline ?? [])];
  return merged;
}

/** Merges a non-empty list of updates, oldest first. */
export function mergeQueuedUpdates(updates: readonly Payload[]): Payload {
  if (updates.length === 0) throw new Error('mergeQueuedUpdates needs at least one update');
  return updates.slice(1).reduce(mergeUpdates, updates[0]!);
}

/** Most progress_update entries one coalesced payload carries before they are folded into one. */
export const TIMELINE_CAP = 100;

/**
 * Keeps a coalesced timeline bounded during a long outage: when it holds more than TIMELINE_CAP
 * entries, all progress_update entries fold into one whose details say how many updates it stands
 * for (`coalescedUpdates`) and sum their itemsByType. Other events are never in a mergeable payload.
 */
export function boundTimeline(timeline: readonly TimelineEntry[]): TimelineEntry[] {
  if (timeline.length <= TIMELINE_CAP) return [...timeline];
  let count = 0;
  let items: Record<string, number> | undefined;
  let last: TimelineEntry | undefined;
  const others: TimelineEntry[] = [];
  const latest: Record<string, unknown> = {};
  for (const entry of timeline) {
    if (entry.event !== 'progress_update') {
      others.push(entry);
      continue;
    }
    const d = entry.details;
    count += typeof d.coalescedUpdates === 'number' ? d.coalescedUpdates : 1;
    if (d.itemsByType) items = addCounts(items, d.itemsByType as Record<string, number>);
    for (const key of ['processedItems', 'currentDataType', 'stage']) if (d[key] !== undefined) latest[key] = d[key];
    last = entry;
  }
  if (!last) return [...timeline];
  const folded: TimelineEntry = {
    timestamp: last.timestamp,
    event: 'progress_update',
    details: { ...latest, ...(items ? { itemsByType: { ...items } } : {}), coalescedUpdates: count },
  };
  return [...others, folded];
}
