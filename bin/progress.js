#!/usr/bin/env node
// Entry point: loads the bundled CLI and sets the exit code. Only this file ends the process.
// CommonJS (bin/package.json), like dist/progress.cjs: Node's ESM loader costs ~10 ms on every call.
const { main } = require('../dist/progress.cjs');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
