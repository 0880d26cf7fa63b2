// isProgressError recognises a ProgressError from another copy of errors.ts (each dist bundle has its own), where instanceof fails.
import { expect, test, vi } from 'vitest';
import { ConfigError, isProgressError, ProgressError, UsageError } from '../../src/core/errors.js';

test('an error class from a second copy of the module is recognised by its brand, not by instanceof', async () => {
  vi.resetModules();
  const other = await import('../../src/core/errors.js'); // evaluated afresh after resetModules: a second copy
  expect(other.UsageError).not.toBe(UsageError);
  const foreign = new other.UsageError('bad flag');
  expect(foreign instanceof ProgressError).toBe(false);
  expect(isProgressError(foreign)).toBe(true);
  expect(isProgressError(foreign) && foreign.exitCode).toBe(2);
});

test('every kind of ProgressError is one, and nothing else is', () => {
  expect(isProgressError(new ConfigError('x'))).toBe(true);
  expect(isProgressError(new ProgressError('x', 4))).toBe(true);
  for (const other of [new Error('x'), Object.assign(new Error('x'), { exitCode: 2 }), { exitCode: 2, message: 'x' }, null, undefined, 'x', 2]) {
    expect(isProgressError(other)).toBe(false);
  }
});
