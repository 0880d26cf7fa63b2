#!/usr/bin/env node
// Entry point: loads the bundled CLI and sets the exit code. Only this file ends the process.
import { main } from '../dist/progress.mjs';

// A reader that goes away (`progress status --json | head -1`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
