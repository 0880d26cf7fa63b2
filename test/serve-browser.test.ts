// The dashboard in a real headless Chromium: live updates over SSE from CLI events, inert XSS probes, phone layout, screenshot.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { serveDir, startServe, type ServeProcess } from './support/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];
const PROBE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
// docs/dashboard.png is written when missing or with UPDATE_SCREENSHOTS=1 (so a plain test run leaves the tree clean);
// every run also writes the light, dark and phone views to the temp directory for a look.
const SCREENSHOT = resolve(import.meta.dirname, '../docs/dashboard.png');
const writeDocs = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(SCREENSHOT);
// Chromium is required in CI (.ci/run installs it); elsewhere a machine without it skips this file.
const missing = !existsSync(CHROMIUM) && !process.env.CI;

let browser: Browser | undefined;
let server: ServeProcess | undefined;
let dir: { cleanup(): void } | undefined;
const boxes: Sandbox[] = [];

beforeAll(async () => {
  if (missing) return;
  const d = serveDir();
  dir = d;
  server = await startServe({ dataPath: join(d.dir, 'serve.db'), args: ['--quiet'] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  for (const b of boxes) b.cleanup();
  await server?.stop();
  dir?.cleanup();
});

function cli(task: string): Sandbox {
  const b = sandbox({ endpoint: server!.endpoint, task, env: { PROGRESS_MIN_INTERVAL: '0.1' } });
  boxes.push(b);
  return b;
}

async function post(task: string, key: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${server!.endpoint}/${encodeURIComponent(task).replace(/\./g, '%2E')}/progress`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ type: 'progress', taskId: task, ...body }),
  });
  expect(res.status).toBe(200);
}

/** A crawl's recorded history (ten minutes of it, through the real protocol), so the chart has a shape worth a look. */
async function seedHistory(task: string): Promise<number> {
  const start = Date.now() - 10 * 60_000;
  const at = (s: number) => new Date(start + s * 1000).toISOString();
  await post(task, 'h-stage-0', { timestamp: at(0), stage: 'discovery', operationType: 'discovery', timeline: [{ timestamp: at(0), event: 'stage_change', details: { toStage: 'discovery', operationType: 'discovery' } }] });
  const areas = [
    { type: 'group', gitlabId: '9970', name: 'gitlab-org', fullPath: 'gitlab-org', webUrl: 'https://gitlab.com/gitlab-org' },
    { type: 'project', gitlabId: '278964', name: 'gitlab', fullPath: 'gitlab-org/gitlab', webUrl: 'https://gitlab.com/gitlab-org/gitlab' },
    { type: 'project', gitlabId: '13083', name: 'gitlab-runner', fullPath: 'gitlab-org/gitlab-runner', webUrl: 'javascript:alert(1)' },
  ];
  await post(task, 'h-areas', { timestamp: at(20), status: 'new_areas_discovered', areas, itemsByType: { groups: 1, projects: 2 }, stage: 'discovery', message: 'Discovered 3 areas' });
  await post(task, 'h-stage-1', { timestamp: at(30), stage: 'data_collection', operationType: 'data_collection', message: 'Transitioning to data_collection', timeline: [{ timestamp: at(30), event: 'stage_change', details: { fromStage: 'discovery', toStage: 'data_collection', operationType: 'data_collection' } }] });
  let processed = 0;
  let issues = 0;
  for (let s = 40, i = 0; s <= 560; s += 20, i++) {
    const items = { issues: 30 + ((i * 7) % 11), merge_requests: 12 + ((i * 5) % 7), commits: i > 8 ? 60 + ((i * 13) % 17) : 0 };
    processed += items.issues + items.merge_requests + items.commits;
    issues += items.issues;
    await post(task, `h-${i}`, { timestamp: at(s), itemsByType: items, processedItems: processed, totalItems: 4200, currentDataType: 'issues', lastProcessedId: String(48_000 + i * 37) });
    if (i === 12) {
      const context = { exitCode: 22, stderrTail: ['curl: (22) The requested URL returned error: 429', 'retrying in 30s'] };
      await post(task, 'h-err', { type: 'error', timestamp: at(s + 5), error: 'HTTP 429 from /projects/278964/issues', message: 'Error: HTTP 429 from /projects/278964/issues', timeline: [{ timestamp: at(s + 5), event: 'error', details: { errorType: 'HttpError', errorMessage: 'HTTP 429 from /projects/278964/issues', context } }] });
    }
  }
  return issues;
}

async function text(page: Page, selector: string): Promise<string> {
  // Never blocks: a missing element reads as '' and expect.poll tries again.
  return page.evaluate((sel) => (globalThis as any).document.querySelector(sel)?.textContent ?? '', selector);
}

test.skipIf(missing)('the dashboard updates live from CLI events, shows untrusted text as text, and fits a phone', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
  page.setDefaultTimeout(10_000);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const failedRequests: string[] = [];
  page.on('requestfailed', (r) => failedRequests.push(r.url()));
  await page.goto(server!.url);
  await page.locator('#conn[data-state="live"]').waitFor();
  await expect.poll(() => page.locator('#empty').isVisible()).toBe(true);

  // Live: the first events of a new task appear without a reload.
  const task = 'crawl-gitlab.com';
  const b = cli(task);
  expect((await b.run(['stage', 'discovery', '--operation', 'discovery'])).exitCode).toBe(0);
  await page.locator(`.task-card[data-task="${task}"]`).waitFor();
  await expect.poll(() => text(page, '#d-stage')).toBe('discovery');
  const seededIssues = await seedHistory(task);
  expect((await b.run(['update', '--items', 'issues=25', '--processed', '3400', '--last-id', '52000'])).exitCode).toBe(0);
  // The seeded history holds issues 30..40 per step; wait until the CLI's +25 is in, then the page must show that total.
  const issuesAt = async () => ((await (await fetch(`${server!.url}api/tasks/${task.replace(/\./g, '%2E')}`)).json()) as any).totals.issues as number;
  expect((await b.run(['flush', '--timeout', '10'])).exitCode).toBe(0);
  const issues = await issuesAt();
  expect(issues).toBe(seededIssues + 25);
  await expect.poll(() => text(page, '#totals tr[data-type="issues"] td.num')).toBe(issues.toLocaleString('en'));
  await expect.poll(() => text(page, '.task-card[data-task="crawl-gitlab.com"] .chip[data-type="issues"] b')).toBe(issues.toLocaleString('en'));
  expect((await b.run(['stage', 'finalization', '--operation', 'finalization'])).exitCode).toBe(0);
  await expect.poll(() => text(page, '#d-stage')).toBe('finalization');
  await expect.poll(() => text(page, '#timeline li:first-child')).toMatch(/Stage\s*discovery → finalization/);

  // Untrusted text: an error message carrying markup is shown literally and never runs.
  expect((await b.run(['error', PROBE, '--type', 'ProbeError', '--context', JSON.stringify({ stderr: PROBE })])).exitCode).toBe(0);
  await expect.poll(() => text(page, '#timeline li.error .err-msg')).toBe(PROBE);
  expect(await text(page, '#timeline li.error pre.context')).toContain(PROBE);
  expect(await text(page, '#d-message')).toBe(`Error: ${PROBE}`);
  const evil = `<img src=x onerror="window.__xss=3">`;
  expect((await cli(evil).run(['update', '--items', 'x=1', '--message', PROBE])).exitCode).toBe(0);
  await page.locator('.task-card', { hasText: evil }).waitFor();
  expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
  expect(await page.locator('#timeline img, .task-list img, #d-message img, script:not([src])').count()).toBe(0);
  expect(dialogs).toEqual([]);
  // A javascript: URL from an area never becomes a link.
  expect(await page.locator('#areas a[href^="javascript"]').count()).toBe(0);
  expect(await page.locator('#areas a[href="https://gitlab.com/gitlab-org/gitlab"]').count()).toBe(1);

  // Chart: one line per type, progress bar and rate present.
  await page.click(`.task-card[data-task="${task}"]`);
  await expect.poll(() => page.locator('#chart polyline').count()).toBe(5);
  expect(await page.locator('#d-progress').isVisible()).toBe(true);
  expect(await text(page, '#s-rate')).toMatch(/\/s$/);

  await page.screenshot({ path: join(tmpdir(), 'progress-dashboard.png'), fullPage: true });
  if (writeDocs) {
    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(tmpdir(), 'progress-dashboard-dark.png'), fullPage: false });

  // Phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(390);
  // The chart is drawn again for the narrower screen (its text stays legible instead of being scaled down).
  await expect.poll(() => page.locator('#chart svg').getAttribute('width').then(Number)).toBeLessThanOrEqual(390);
  await page.screenshot({ path: join(tmpdir(), 'progress-dashboard-phone.png'), fullPage: true });
  expect(failedRequests.filter((u) => !u.includes('/api/events'))).toEqual([]);
  await page.close();
});
