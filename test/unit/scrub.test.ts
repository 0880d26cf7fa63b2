// Tests of secret scrubbing: which values count as secrets, and that they never survive in text.
import { describe, expect, test } from 'vitest';
import { MIN_SECRET_LENGTH, collectSecrets, scrub } from '../../src/core/scrub.js';

describe('collectSecrets', () => {
  test.each([
    ['GITLAB_TOKEN', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['DB_PASSWORD', true],
    ['api_key', true],
    ['ssh_keyfile', true],
    ['PROGRESS_API_TOKEN', true],
    ['PROGRESS_API_TOKEN_FILE', false],
    ['SSH_KEY_PATH', false],
    ['GNUPG_KEY_DIR', false],
    ['KEY_FILE_CONTENTS', true],
    ['HOME', false],
    ['PATH', false],
    ['USER', false],
  ])('%s → secret: %s', (name, secret) => {
    expect(collectSecrets({ [name]: 'value-123456' }).includes('value-123456')).toBe(secret);
  });
  test(`values shorter than ${MIN_SECRET_LENGTH} characters are left alone`, () => {
    expect(collectSecrets({ A_TOKEN: 'x'.repeat(MIN_SECRET_LENGTH - 1), B_KEY: 'y'.repeat(MIN_SECRET_LENGTH) })).toEqual(['y'.repeat(MIN_SECRET_LENGTH)]);
    expect(collectSecrets({}, 'short')).toEqual([]);
  });
  test('the API token counts whatever the variable names; empty and unset values do not', () => {
    expect(collectSecrets({ X_TOKEN: '', Y_TOKEN: undefined }, 'tok-abcdef')).toEqual(['tok-abcdef']);
  });
  test('longest first, duplicates once', () => {
    expect(collectSecrets({ A_KEY: 'abcdef', B_KEY: 'abcdefgh', C_KEY: 'abcdef' })).toEqual(['abcdefgh', 'abcdef']);
  });
});

describe('scrub', () => {
  test.each([
    ['no secrets', 'plain text', [], 'plain text'],
    ['one secret, many times', 'a s3cr3t b s3cr3t', ['s3cr3t'], 'a *** b ***'],
    ['a secret inside another', 'Bearer abcdefgh', ['abcdefgh', 'abcdef'], 'Bearer ***'],
    ['regex characters are literal', 'x a.b*c(d) y', ['a.b*c(d)'], 'x *** y'],
    ['dollar patterns are literal', 'x $&$1 y', ['$&$1'], 'x *** y'],
    ['multi-line text', 'line1 tok\nline2 tok', ['tok'], 'line1 ***\nline2 ***'],
  ])('%s', (_name, text, secrets, want) => expect(scrub(text, secrets)).toBe(want));
  test('end to end: a token and a secret env var never survive', () => {
    const secrets = collectSecrets({ GITLAB_TOKEN: 'glpat-abcdefghij', PATH: '/usr/bin' }, 'api-token-xyz');
    const out = scrub('curl -H "PRIVATE-TOKEN: glpat-abcdefghij" -H "Authorization: Bearer api-token-xyz" /usr/bin', secrets);
    expect(out).toBe('curl -H "PRIVATE-TOKEN: ***" -H "Authorization: Bearer ***" /usr/bin');
  });
});
