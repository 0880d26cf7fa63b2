// Shared by the unit tests: finds null or undefined anywhere in a value (SPEC §7: unset fields are absent, never null).

/** Paths of every null or undefined inside the value. */
export function nullish(value: unknown, path = '$'): string[] {
  if (value === null || value === undefined) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => nullish(v, `${path}[${i}]`));
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => nullish(v, `${path}.${k}`));
  return [];
}
