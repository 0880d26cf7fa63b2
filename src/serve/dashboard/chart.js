// Items over time as a plain SVG line chart (one line per type), with a hover read-out; data is only ever text.
import { formatClock, formatCount, formatShort } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const PALETTE_SIZE = 8;
const PAD = { top: 12, right: 16, bottom: 26, left: 48 };

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function niceStep(span, ticks) {
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** The colour class of a type: stable for the life of the page, so a line keeps its colour as types appear. */
const colours = new Map();
export function colourOf(type) {
  if (!colours.has(type)) colours.set(type, `c${(colours.size % PALETTE_SIZE) + 1}`);
  return colours.get(type);
}

/**
 * Draws `series` ([{at, totals}]) into `box`, replacing what was there.
 * `types` gives the lines in legend order.
 */
export function renderChart(box, series, types) {
  box.replaceChildren();
  const width = Math.max(280, box.clientWidth || 600);
  const height = width < 520 ? 180 : 240;
  if (series.length === 0 || types.length === 0) {
    const p = document.createElement('p');
    p.className = 'muted chart-empty';
    p.textContent = 'No item counts reported yet.';
    box.append(p);
    return;
  }
  const xs = series.map((p) => Date.parse(p.at));
  let x0 = xs[0];
  let x1 = xs[xs.length - 1];
  if (x1 - x0 < 10_000) x1 = x0 + 10_000;
  let maxY = 0;
  for (const p of series) for (const t of types) maxY = Math.max(maxY, p.totals[t] ?? 0);
  const step = niceStep(maxY || 1, 4);
  const y1 = Math.max(step, Math.ceil((maxY || 1) / step) * step);
  const iw = width - PAD.left - PAD.right;
  const ih = height - PAD.top - PAD.bottom;
  const sx = (t) => PAD.left + ((t - x0) / (x1 - x0)) * iw;
  const sy = (v) => PAD.top + ih - (v / y1) * ih;

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'Items over time by type' });
  const grid = svg('g', { class: 'grid' });
  for (let v = 0; v <= y1 + step / 2; v += step) {
    grid.append(svg('line', { x1: PAD.left, x2: width - PAD.right, y1: sy(v), y2: sy(v) }));
    const label = svg('text', { x: PAD.left - 8, y: sy(v) + 4, 'text-anchor': 'end', class: 'axis' });
    label.textContent = formatShort(v);
    grid.append(label);
  }
  const xTicks = Math.max(2, Math.min(6, Math.floor(iw / 110)));
  for (let i = 0; i <= xTicks; i++) {
    const t = x0 + ((x1 - x0) * i) / xTicks;
    const label = svg('text', { x: sx(t), y: height - 6, 'text-anchor': i === 0 ? 'start' : i === xTicks ? 'end' : 'middle', class: 'axis' });
    label.textContent = formatClock(new Date(t).toISOString());
    grid.append(label);
  }
  root.append(grid);

  for (const type of types) {
    const points = series.map((p, i) => `${sx(xs[i]).toFixed(1)},${sy(p.totals[type] ?? 0).toFixed(1)}`);
    const cls = colourOf(type);
    root.append(svg('polyline', { points: points.join(' '), class: `line ${cls}` }));
    const last = series[series.length - 1];
    root.append(svg('circle', { cx: sx(xs[xs.length - 1]), cy: sy(last.totals[type] ?? 0), r: 3, class: `dot ${cls}` }));
  }

  const cursor = svg('line', { class: 'cursor', y1: PAD.top, y2: PAD.top + ih, x1: -10, x2: -10 });
  root.append(cursor);
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;
  root.addEventListener('pointermove', (e) => {
    const rect = root.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * width;
    let best = 0;
    for (let i = 1; i < xs.length; i++) if (Math.abs(sx(xs[i]) - x) < Math.abs(sx(xs[best]) - x)) best = i;
    const px = sx(xs[best]);
    cursor.setAttribute('x1', px);
    cursor.setAttribute('x2', px);
    const p = series[best];
    const head = document.createElement('div');
    head.className = 'tip-time';
    head.textContent = formatClock(p.at);
    const rows = types.map((t) => {
      const row = document.createElement('div');
      const sw = document.createElement('span');
      sw.className = `swatch ${colourOf(t)}`;
      const name = document.createElement('span');
      name.textContent = `${t} `;
      const val = document.createElement('b');
      val.textContent = formatCount(p.totals[t] ?? 0);
      row.append(sw, name, val);
      return row;
    });
    tip.replaceChildren(head, ...rows);
    tip.hidden = false;
    const left = (px / width) * rect.width;
    tip.style.left = `${Math.min(left + 12, rect.width - 160)}px`;
  });
  root.addEventListener('pointerleave', () => {
    tip.hidden = true;
    cursor.setAttribute('x1', -10);
    cursor.setAttribute('x2', -10);
  });

  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const type of types) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = `swatch ${colourOf(type)}`;
    const name = document.createElement('span');
    name.textContent = type;
    li.append(sw, name);
    legend.append(li);
  }
  box.append(root, tip, legend);
}
