// The dashboard's static files: found next to the bundle (dist/dashboard, copied by scripts/build.mjs) or in src.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

/** Served files by URL path; nothing else under the dashboard directory is reachable. */
const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/chart.js': ['chart.js', 'text/javascript; charset=utf-8'],
  '/format.js': ['format.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};

/** dist/lazy/serve.cjs → dist/dashboard; src/serve/assets.ts → src/serve/dashboard. */
function dashboardDir(): string {
  const candidates = ['../dashboard/', './dashboard/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(`${dir}index.html`)) ?? candidates[0]!;
}

/** Loads every asset once at start, so a request never touches the file system. */
export function loadAssets(): Map<string, Asset> {
  const dir = dashboardDir();
  const assets = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    try {
      assets.set(path, { type, body: readFileSync(`${dir}${file}`) });
    } catch {
      // a missing file is a 404, not a crash: the API keeps working
    }
  }
  return assets;
}
