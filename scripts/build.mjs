// Bundles src/ into dist/progress.mjs with esbuild: one file loads in a fraction of the time of many.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: { progress: 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true, // lazy import() of undici/ora/execa/conf becomes a separate chunk, loaded only when used
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // better-sqlite3's JavaScript is bundled; its compiled addon is loaded from node_modules (store.ts).
  external: ['*.node'],
  define: { __PROGRESS_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: "import { createRequire as __progressCreateRequire } from 'node:module'; const require = __progressCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  metafile: true,
}).then(async (result) => {
  const { writeFileSync } = await import('node:fs');
  writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
  // `progress serve` reads its dashboard (plain HTML/CSS/JS, no build step) from dist/dashboard at run time.
  const { cpSync } = await import('node:fs');
  cpSync('src/serve/dashboard', 'dist/dashboard', { recursive: true });
});
