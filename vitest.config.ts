// Test settings: black-box tests spawn the built CLI, so files run in parallel processes with generous timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run print the real pass/fail counts.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
