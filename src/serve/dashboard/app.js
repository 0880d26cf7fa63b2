// The dashboard: task list and one task's detail, kept live over server-sent events. Untrusted data only via textContent.
import { colourOf, renderChart } from './chart.js';
import { formatAgo, formatClock, formatCount, formatDuration, formatRate } from './format.js';

const IDLE_MS = 120_000;
const $ = (id) => document.getElementById(id);

/** Creates an element; string children become text nodes (never markup). */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Path segment for a task id; dots too, so "." and ".." stay ids, not path steps. */
const segment = (id) => encodeURIComponent(id).replace(/\./g, '%2E');

const state = { tasks: new Map(), selected: null, detail: null };

function liveElapsed(t, now = Date.now()) {
  if (t.status === 'completed') return t.elapsedMs;
  const live = now - Date.parse(t.startedAt);
  return live >= t.elapsedMs ? live : t.elapsedMs;
}

function isIdle(t, now = Date.now()) {
  return t.status !== 'completed' && now - Date.parse(t.lastEventAt) > IDLE_MS;
}

function statusLabel(t) {
  if (t.status === 'completed') return ['completed', 'ok'];
  if (t.status === 'error') return ['error', 'bad'];
  if (isIdle(t)) return ['idle', 'idle'];
  return ['running', 'live'];
}

function done(t) {
  return t.processedItems ?? t.items;
}

function percent(t) {
  if (t.totalItems === null || t.totalItems === 0) return t.status === 'completed' && t.totalItems === 0 ? 100 : null;
  return Math.min(100, (done(t) / t.totalItems) * 100);
}

function sortedTypes(totals) {
  return Object.entries(totals).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

function setProgress(box, t) {
  const pct = percent(t);
  box.hidden = pct === null;
  if (pct === null) return;
  box.querySelector('.fill').style.width = `${pct.toFixed(2)}%`;
  box.querySelector('.done').textContent = `${formatCount(done(t))} / ${formatCount(t.totalItems)}`;
  box.querySelector('.pct').textContent = `${Math.floor(pct)}%`;
}

function taskCard(t) {
  const [label, kind] = statusLabel(t);
  const progress = h('div', { class: 'progress' }, h('div', { class: 'bar' }, h('div', { class: 'fill' })), h('div', { class: 'progress-text' }, h('span', { class: 'done' }), h('span', { class: 'pct' })));
  setProgress(progress, t);
  const chips = sortedTypes(t.totals).slice(0, 4).map((type) => h('span', { class: 'chip', 'data-type': type }, h('span', { class: `swatch ${colourOf(type)}` }), `${type} `, h('b', { text: formatCount(t.totals[type]) })));
  const more = Object.keys(t.totals).length - chips.length;
  const card = h(
    'button',
    { class: 'task-card', type: 'button', 'aria-pressed': String(state.selected === t.id), 'data-task': t.id, onclick: () => select(t.id) },
    h('div', { class: 'card-top' }, h('span', { class: 'task-id', text: t.id, title: t.id }), h('span', { class: `badge ${kind}`, text: label })),
    h('div', { class: 'card-stage' }, h('span', { class: t.stage ? 'stage' : 'stage none', text: t.stage ?? 'no stage yet' }), t.errors > 0 ? h('span', { class: 'err-count', text: `${t.errors} error${t.errors === 1 ? '' : 's'}` }) : null),
    progress,
    chips.length ? h('div', { class: 'chips' }, chips, more > 0 ? h('span', { class: 'chip more', text: `+${more}` }) : null) : null,
    h(
      'div',
      { class: 'card-meta' },
      h('span', { 'data-k': 'rate', text: t.itemsPerSecond === null ? 'rate —' : formatRate(t.itemsPerSecond) }),
      h('span', { 'data-k': 'elapsed', text: formatDuration(liveElapsed(t)), title: 'elapsed' }),
      h('span', { 'data-k': 'eta', text: t.status === 'completed' ? 'done' : t.etaSeconds === null ? 'ETA —' : `ETA ${formatDuration(t.etaSeconds * 1000)}` }),
    ),
  );
  return h('li', {}, card);
}

function renderList() {
  const list = [...state.tasks.values()].sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt) || a.id.localeCompare(b.id));
  $('task-list').replaceChildren(...list.map(taskCard));
  $('task-count').textContent = list.length ? String(list.length) : '';
  $('empty').hidden = list.length > 0;
}

/** Error context as a person reads it: strings and line lists (stderr tails) verbatim, the rest as JSON. */
function contextText(context) {
  const value = (v) => (typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? `\n${v.join('\n')}` : JSON.stringify(v));
  if (context && typeof context === 'object' && !Array.isArray(context)) return Object.entries(context).map(([k, v]) => `${k}: ${value(v)}`).join('\n');
  return value(context).trimStart();
}

function timelineItem(e) {
  const d = e.details && typeof e.details === 'object' ? e.details : {};
  const time = h('time', { datetime: e.at, text: formatClock(e.at), title: e.at });
  if (e.event === 'stage_change') {
    return h('li', { class: 'tl stage-change' }, time, h('div', {}, h('span', { class: 'tl-kind', text: 'Stage' }), ' ', h('span', { class: 'from', text: d.fromStage ?? '—' }), ' → ', h('b', { text: d.toStage ?? '?' }), d.operationType ? h('span', { class: 'muted', text: ` · ${d.operationType}` }) : null));
  }
  if (e.event === 'error') {
    const context = d.context === undefined ? null : h('pre', { class: 'context', text: contextText(d.context) });
    const where = [d.stage ? `stage ${d.stage}` : null, d.lastProcessedId ? `last id ${d.lastProcessedId}` : null].filter(Boolean).join(' · ');
    return h('li', { class: 'tl error' }, time, h('div', {}, h('span', { class: 'tl-kind', text: d.errorType ?? 'Error' }), ' ', h('span', { class: 'err-msg', text: d.errorMessage ?? '' }), where ? h('div', { class: 'muted small', text: where }) : null, context));
  }
  if (e.event === 'completion') {
    const counts = d.finalCounts && typeof d.finalCounts === 'object' ? Object.entries(d.finalCounts).map(([k, v]) => `${k} ${formatCount(v)}`).join(' · ') : '';
    return h('li', { class: 'tl completion' }, time, h('div', {}, h('span', { class: 'tl-kind', text: 'Completed' }), typeof d.duration === 'number' ? ` in ${formatDuration(d.duration)}` : '', d.summary ? h('div', { class: 'summary', text: d.summary }) : null, counts ? h('div', { class: 'muted small', text: counts }) : null));
  }
  return h('li', { class: 'tl other' }, time, h('div', {}, h('span', { class: 'tl-kind', text: e.event }), ' ', h('span', { class: 'muted small', text: JSON.stringify(d) })));
}

function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function renderStats(t) {
  const [label, kind] = statusLabel(t);
  $('d-title').textContent = t.id;
  $('d-status').textContent = label;
  $('d-status').className = `badge ${kind}`;
  $('d-stage').textContent = t.stage ?? '—';
  $('d-operation').textContent = t.operationType ? `· ${t.operationType}` : '';
  $('d-message').textContent = t.message ?? '';
  setProgress($('d-progress'), t);
  $('s-items').textContent = formatCount(t.items);
  $('s-rate').textContent = formatRate(t.itemsPerSecond);
  $('s-elapsed').textContent = formatDuration(liveElapsed(t));
  $('s-eta').textContent = t.status === 'completed' ? 'done' : t.etaSeconds === null ? '—' : formatDuration(t.etaSeconds * 1000);
  $('s-errors').textContent = formatCount(t.errors);
  $('s-errors').classList.toggle('bad', t.errors > 0);
  $('s-last-id').textContent = t.lastProcessedId ?? '—';
  $('s-last-id').title = t.lastProcessedId ?? '';
}

function renderDetail() {
  const d = state.detail;
  $('detail').hidden = !d;
  if (!d) return;
  renderStats(d);
  const types = sortedTypes(d.totals);
  renderChart($('chart'), d.series, types);
  const max = Math.max(1, ...Object.values(d.totals));
  const totalRow = (type) => {
    const bar = h('div', { class: `share-bar ${colourOf(type)}` });
    bar.style.width = `${(d.totals[type] / max) * 100}%`;
    return h('tr', { 'data-type': type }, h('td', {}, h('span', { class: `swatch ${colourOf(type)}` }), h('span', { text: type })), h('td', { class: 'num', text: formatCount(d.totals[type]) }), h('td', { class: 'share' }, bar));
  };
  $('totals').tBodies[0].replaceChildren(...(types.length ? types.map(totalRow) : [h('tr', {}, h('td', { class: 'muted', text: 'No items yet.' }))]));
  const entries = [...d.timeline].reverse();
  $('timeline').replaceChildren(...(entries.length ? entries.map(timelineItem) : [h('li', { class: 'muted', text: 'Nothing yet.' })]));
  $('tl-note').textContent = d.progressUpdates ? `· ${formatCount(d.progressUpdates)} progress update${d.progressUpdates === 1 ? '' : 's'} not listed` : '';
  $('areas-count').textContent = d.areas ? String(d.areas) : '';
  $('areas-empty').hidden = d.discoveredAreas.length > 0;
  $('areas').hidden = d.discoveredAreas.length === 0;
  $('areas').tBodies[0].replaceChildren(
    ...d.discoveredAreas.map((a) => {
      const href = a.webUrl ? safeHref(a.webUrl) : null;
      const name = href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: a.name }) : h('span', { text: a.name });
      return h('tr', {}, h('td', {}, h('span', { class: `pill ${a.type}`, text: a.type })), h('td', { title: a.description ?? '' }, name), h('td', { class: 'mono small', text: a.fullPath ?? '' }), h('td', { class: 'mono small', text: a.gitlabId }));
    }),
  );
}

let detailTimer = null;
let detailInFlight = false;
/** Fetches the selected task's detail, at most a few times a second however fast events arrive. */
function refreshDetail(delay = 250) {
  if (!state.selected || detailTimer) return;
  detailTimer = setTimeout(async () => {
    detailTimer = null;
    if (detailInFlight) return refreshDetail();
    detailInFlight = true;
    const id = state.selected;
    try {
      const res = await fetch(`api/tasks/${segment(id)}`, { cache: 'no-store' });
      if (res.ok && state.selected === id) {
        state.detail = await res.json();
        renderDetail();
      }
    } finally {
      detailInFlight = false;
    }
  }, delay);
}

function select(id) {
  state.selected = id;
  history.replaceState(null, '', `#task=${encodeURIComponent(id)}`);
  for (const b of document.querySelectorAll('.task-card')) b.setAttribute('aria-pressed', String(b.dataset.task === id));
  if (state.detail?.id !== id) state.detail = null;
  refreshDetail(0);
}

async function loadTasks() {
  const res = await fetch('api/tasks', { cache: 'no-store' });
  if (!res.ok) return;
  const { tasks } = await res.json();
  state.tasks = new Map(tasks.map((t) => [t.id, t]));
  renderList();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('task');
  if (!state.selected || !state.tasks.has(state.selected)) {
    const pick = fromHash !== null && state.tasks.has(fromHash) ? fromHash : tasks[0]?.id;
    if (pick !== undefined) select(pick);
  } else refreshDetail(0);
}

function setConnection(kind, text) {
  $('conn').dataset.state = kind;
  $('conn-text').textContent = text;
}

function connect() {
  const events = new EventSource('api/events');
  events.addEventListener('open', () => {
    setConnection('live', 'live');
    loadTasks();
  });
  events.addEventListener('error', () => setConnection('down', 'reconnecting…'));
  events.addEventListener('task', (e) => {
    const t = JSON.parse(e.data);
    state.tasks.set(t.id, t);
    renderList();
    if (!state.selected) select(t.id);
    else if (t.id === state.selected) {
      if (state.detail) {
        state.detail = { ...state.detail, ...t };
        renderStats(state.detail);
      }
      refreshDetail();
    }
  });
}

// Elapsed times and idle badges move every second without any traffic.
setInterval(() => {
  const now = Date.now();
  for (const card of document.querySelectorAll('.task-card')) {
    const t = state.tasks.get(card.dataset.task);
    if (t) card.querySelector('[data-k="elapsed"]').textContent = formatDuration(liveElapsed(t, now));
  }
  if (state.detail) {
    $('s-elapsed').textContent = formatDuration(liveElapsed(state.detail, now));
    $('d-status').title = `last event ${formatAgo(state.detail.lastEventAt, now)}`;
  }
}, 1000);

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.detail && renderChart($('chart'), state.detail.series, sortedTypes(state.detail.totals)), 150);
});

$('empty-hint').textContent = `export PROGRESS_API_ENDPOINT=${new URL('api/tasks', location.href).href}\nexport PROGRESS_TASK_ID=my-crawl\nprogress update --items issues=10`;
connect();
