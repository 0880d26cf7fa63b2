// The pure retry policy: which statuses are retried, Retry-After parsing and its cap, and jittered backoff bounds.
import { describe, expect, test } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, RETRY_AFTER_CAP_MS, backoffDelay, classifyStatus, parseRetryAfter } from '../../src/core/retry.js';

describe('classifyStatus', () => {
  test.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [599, 'retry'],
    [401, 'auth'],
    [403, 'auth'],
    [400, 'refused'],
    [404, 'refused'],
    [409, 'refused'],
    [413, 'refused'],
    [422, 'refused'],
    // Redirects are never followed: the payload was not taken, so it stays queued (retried, not dead-lettered).
    [301, 'retry'],
    [302, 'retry'],
    [307, 'retry'],
    [308, 'retry'],
  ])('HTTP %i → %s', (status, kind) => {
    expect(classifyStatus(status).kind).toBe(kind);
  });

  test('a refusal keeps its status and the server detail for the dead letter', () => {
    expect(classifyStatus(422, undefined, 'bad field')).toEqual({ kind: 'refused', status: 422, reason: 'HTTP 422: bad field' });
  });

  test('a retried status carries Retry-After through', () => {
    expect(classifyStatus(429, 5000)).toMatchObject({ kind: 'retry', retryAfterMs: 5000 });
  });

  test('401 says the token was refused', () => {
    expect(classifyStatus(401).kind === 'auth' && classifyStatus(401)).toMatchObject({ reason: expect.stringContaining('refused the token') });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-04T10:00:00.000Z');
  test.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['0', 0],
    ['3', 3000],
    [' 7 ', 7000],
    ['60', 60_000],
    // Capped: a bad header cannot park delivery for a day.
    ['86400', RETRY_AFTER_CAP_MS],
    ['99999999999999999999', RETRY_AFTER_CAP_MS],
    // HTTP dates: in the future, in the past (now), far future (capped).
    ['Fri, 04 Dec 2026 10:00:30 GMT', 30_000],
    ['Fri, 04 Dec 2026 09:59:00 GMT', 0],
    ['Sat, 05 Dec 2026 10:00:00 GMT', RETRY_AFTER_CAP_MS],
  ])('%j → %j', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });
});

describe('backoffDelay', () => {
  test('Retry-After lengthens the wait but never shortens it below the backoff (no hot loop on "0")', () => {
    expect(backoffDelay(1, 12_000, () => 0.5)).toBe(12_000);
    expect(backoffDelay(1, RETRY_AFTER_CAP_MS, () => 0.5)).toBe(60_000);
    expect(backoffDelay(1, 0, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffDelay(9, 0, () => 0)).toBe(BACKOFF_CAP_MS / 2);
  });

  test.each([1, 2, 3, 4, 5, 6, 10, 50])('failure %i: between half and all of the capped exponential step', (failures) => {
    const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (failures - 1));
    expect(backoffDelay(failures, undefined, () => 0)).toBe(step / 2);
    expect(backoffDelay(failures, undefined, () => 0.999999)).toBeLessThanOrEqual(step);
    expect(backoffDelay(failures, undefined, () => 0.999999)).toBeGreaterThan(step * 0.99);
  });

  test('never above the cap, whatever the failure count (the API returning is noticed within 8 s)', () => {
    for (let f = 1; f < 200; f++) expect(backoffDelay(f, undefined)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
    expect(BACKOFF_CAP_MS).toBe(8000);
  });

  test('jitter spreads parallel callers', () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4, undefined)));
    expect(seen.size).toBeGreaterThan(10);
  });
});
