// Bundles src/ into CommonJS with esbuild: dist/progress.cjs (the hot path) plus one dist/lazy/<name>.cjs per dynamic import().
// CommonJS because Node's ESM loader costs ~10 ms per start for the same code; every `await import(...)` in src/ becomes
// a separate bundle, loaded with require() only on the path that needs it (commander, undici, ora, execa, conf, chalk...).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Lazy bundles by name → entry (a source file, or a package name); filled as dynamic imports are found. */
const lazy = new Map();

/** The lazy bundle's name for a dynamic import() found in src/: the file's base name, or the package's name. */
function lazyName(specifier, resolveDir) {
  if (specifier.startsWith('.')) {
    const file = resolve(resolveDir, specifier).replace(/\.js$/, '.ts');
    return { name: basename(file, '.ts'), entry: relative(root, file).split(sep).join('/') };
  }
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('__') : specifier.split('/')[0];
  return { name: name.replace(/^@/, ''), entry: specifier };
}

/** Turns every dynamic import() in src/ into a require() of its own bundle in dist/lazy/, run when the import() is. */
function lazyImports(fromDir) {
  return {
    name: 'progress-lazy-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import' || args.path.startsWith('node:')) return undefined;
        if (!args.importer.startsWith(join(root, 'src') + sep)) return undefined;
        const { name, entry } = lazyName(args.path, args.resolveDir);
        const known = lazy.get(name);
        if (known !== undefined && known !== entry) throw new Error(`two lazy imports share the name ${name}: ${known} and ${entry}`);
        lazy.set(name, entry);
        return { path: `${fromDir}${name}.cjs`, namespace: 'lazy-bundle' };
      });
      // A stand-in module, outside the "type": "module" package, that re-exports the external bundle. Imported directly,
      // esbuild would use Node's rule for import() of CommonJS (default = module.exports); through it, `default` is the
      // bundle's own default export (ora, conf).
      b.onLoad({ filter: /.*/, namespace: 'lazy-bundle' }, (args) => ({
        contents: `export * from ${JSON.stringify(args.path)};\nexport { default } from ${JSON.stringify(args.path)};`,
        loader: 'js',
      }));
      b.onResolve({ filter: /.*/, namespace: 'lazy-bundle' }, (args) => ({ path: args.path, external: true }));
    },
  };
}

/**
 * Builtins loaded on first call rather than when a bundle starts: node:crypto costs ~2.5 ms to load (it pulls in the
 * stream stack) and the hot path calls it only to create a state database or to deliver; node:child_process (~2.5 ms)
 * only to start a flusher. Each becomes a facade of functions that require the real module when called; importing a
 * class from one fails the build (add it here if ever needed).
 */
const LAZY_BUILTINS = ['node:crypto', 'node:child_process', 'node:os'];

function lazyBuiltins() {
  return {
    name: 'progress-lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_]+$/ }, (args) => {
        const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
        if (args.kind !== 'import-statement' || !LAZY_BUILTINS.includes(id)) return undefined;
        if (!args.importer.startsWith(join(root, 'src') + sep)) return undefined;
        return { path: id, namespace: 'lazy-builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
        const mod = await import(args.path);
        const names = Object.keys(mod).filter((k) => k !== 'default' && /^[a-z]/.test(k) && typeof mod[k] === 'function');
        const lines = [`let m;\nconst load = () => (m ??= require(${JSON.stringify(args.path)}));`];
        for (const k of names) lines.push(`export function ${k}(...a) { return load().${k}(...a); }`);
        // Values (os.constants...) are read when the bundle starts, but only in a bundle that imports them (the call is pure).
        const values = Object.keys(mod).filter((k) => k !== 'default' && /^[a-z]/.test(k) && typeof mod[k] !== 'function');
        for (const k of values) lines.push(`export const ${k} = /* @__PURE__ */ (() => load().${k})();`);
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}

/** In a CommonJS bundle, import.meta.url is the bundle's own file URL (createRequire, dashboard and bin paths rely on it). */
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of another bundle becomes require(): no ESM loader on any path.
  supported: { 'dynamic-import': false },
  // better-sqlite3's JavaScript is bundled; its compiled addon is loaded from node_modules (store.ts).
  external: ['*.node'],
  // A getter: the URL is computed only where it is used (node:url's pathToFileURL costs ~0.3 ms at every start otherwise).
  define: { __PROGRESS_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__progress_import_meta.url' },
  banner: {
    js: "'use strict';\nvar __progress_url, __progress_import_meta = { get url() { return (__progress_url ??= require('node:url').pathToFileURL(__filename).href); } };",
  },
  logLevel: 'warning',
  metafile: true,
  write: false,
  absWorkingDir: root,
};

/** Builds one bundle in memory. */
async function bundle(entry, outfile, fromDir) {
  // A package name is resolved as an import would be; its ESM exports (default included) become module.exports.
  const result = await build({
    ...common,
    entryPoints: [entry],
    outfile,
    plugins: [lazyImports(fromDir), lazyBuiltins()],
  });
  return result;
}

const outputs = [];
const metas = [];
const main = await bundle('src/cli/main.ts', 'dist/progress.cjs', './lazy/');
outputs.push(...main.outputFiles);
metas.push(main.metafile);
// Lazy bundles may themselves import lazily (program → serve); build until no new name appears.
const built = new Set();
for (let pending = [...lazy.keys()]; pending.length > 0; pending = [...lazy.keys()].filter((n) => !built.has(n))) {
  for (const name of pending) built.add(name);
  const results = await Promise.all(pending.map((name) => bundle(lazy.get(name), `dist/lazy/${name}.cjs`, './')));
  for (const r of results) {
    outputs.push(...r.outputFiles);
    metas.push(r.metafile);
  }
}

// Each file is written next to its final name and renamed: a CLI running while we build never reads half a file.
const written = new Set();
for (const file of outputs) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(`${file.path}.tmp`, file.contents);
  renameSync(`${file.path}.tmp`, file.path);
  written.add(file.path);
}
// Outputs of earlier builds (the former ESM chunks, renamed lazy bundles) are removed.
rmSync(join(dist, 'chunks'), { recursive: true, force: true });
rmSync(join(dist, 'progress.mjs'), { force: true });
for (const f of readdirSync(join(dist, 'lazy'))) if (!written.has(join(dist, 'lazy', f))) rmSync(join(dist, 'lazy', f), { force: true });

// One metafile for all bundles (test/lazy-imports.test.ts reads it): outputs are disjoint, inputs merged.
const meta = { inputs: {}, outputs: {} };
for (const m of metas) {
  Object.assign(meta.inputs, m.inputs);
  Object.assign(meta.outputs, m.outputs);
}
writeFileSync(join(dist, 'meta.json'), JSON.stringify(meta));
// `progress serve` reads its dashboard (plain HTML/CSS/JS, no build step) from dist/dashboard at run time.
cpSync(join(root, 'src/serve/dashboard'), join(dist, 'dashboard'), { recursive: true });
