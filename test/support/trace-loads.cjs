// Preloaded with `node --require` by test/lazy-imports.test.ts: at exit, writes which files and which Node builtins
// the process loaded after start-up to the file named by PROGRESS_TEST_TRACE (JSON). CommonJS, as --require needs.
const { writeFileSync } = require('node:fs');

const before = new Set(process.moduleLoadList);
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  writeFileSync(process.env.PROGRESS_TEST_TRACE, JSON.stringify({ files: Object.keys(require.cache), builtins }));
});
