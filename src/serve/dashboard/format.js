// Number, duration and time formatting for the dashboard (pure functions).

const nf = new Intl.NumberFormat('en');

/** 12345 → "12,345". */
export function formatCount(n) {
  return n === null || n === undefined ? '—' : nf.format(n);
}

/** 12345 → "12.3k" for tight places such as axis labels. */
export function formatShort(n) {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${trim(n / 1e9)}G`;
  if (abs >= 1e6) return `${trim(n / 1e6)}M`;
  if (abs >= 1e3) return `${trim(n / 1e3)}k`;
  return String(Math.round(n * 10) / 10);
}

function trim(x) {
  return (Math.round(x * 10) / 10).toString();
}

/** Milliseconds → "1h 02m", "3m 07s", "12s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (x) => String(x).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

export function formatRate(perSecond) {
  if (perSecond === null || perSecond === undefined) return '—';
  if (perSecond >= 100) return `${nf.format(Math.round(perSecond))}/s`;
  return `${perSecond.toFixed(1)}/s`;
}

/** ISO time → "14:03:07" (local). */
export function formatClock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** ISO time → "3m ago". */
export function formatAgo(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  if (ms < 5000) return 'just now';
  return `${formatDuration(ms)} ago`;
}
