// Replaces secrets with *** before any text leaves the machine or reaches a terminal.

/** Names of environment variables whose values are secrets. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|KEY/i;
/** ...unless the name says the value is a location (PROGRESS_API_TOKEN_FILE, SSH_KEY_PATH): hiding a path helps no one. */
const LOCATION_NAME = /_(FILE|PATH|DIR)$/i;
/** Values shorter than this are left alone: scrubbing "1" or "yes" everywhere would garble output, not protect. */
export const MIN_SECRET_LENGTH = 6;

/** The secret values to scrub: the API token and every secret-named environment variable's value. */
export function collectSecrets(env: Record<string, string | undefined>, token?: string): string[] {
  const values = new Set<string>();
  if (token && token.length >= MIN_SECRET_LENGTH) values.add(token);
  for (const [name, value] of Object.entries(env)) {
    if (value && SECRET_NAME.test(name) && !LOCATION_NAME.test(name) && value.length >= MIN_SECRET_LENGTH) values.add(value);
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** Replaces each secret in text with ***. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}
