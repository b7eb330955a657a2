// The jetbox console page. Everything from the API (message bodies above all) is untrusted:
// it reaches the page only through textContent and attribute values, never as markup.
'use strict';

const $ = (id) => document.getElementById(id);

const state = {
  meta: null,
  token: '',
  selected: null,
  filters: { consumer: '', type: '', reason: '' },
  timer: undefined,
  refreshing: false,
};

class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, method = 'GET') {
  const headers = { Accept: 'application/json' };
  if (state.token !== '') headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { method, headers, cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ProblemError(res.status, body);
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ''));
  return node;
}

function cells(values, numeric = []) {
  return values.map((v, i) => el('td', numeric.includes(i) ? { class: 'num' } : {}, v));
}

function age(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function notify(text, refused = false) {
  $('notice').textContent = text;
  $('notice').classList.toggle('refused', refused);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function renderOutbox(o) {
  $('backlog').textContent = String(o.pending);
  $('failed').textContent = String(o.failed);
  $('oldest').textContent = o.pending > 0 ? age(o.oldestPendingAgeSeconds) : '–';
  const last = o.history.at(-1);
  $('rate').textContent = last ? last.publishedPerSecond.toFixed(1) : '–';
  $('by-type').replaceChildren(
    ...o.byType.map((r) => el('tr', {}, ...cells([r.type, r.status, r.n], [2]))),
  );
  renderChart(o.history);
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Two series on one time axis, each scaled to its own maximum (labelled left and right).
function renderChart(history) {
  const [w, h, left, right, top, bottom] = [640, 180, 44, 44, 10, 22];
  const chart = $('chart');
  if (history.length < 2) {
    chart.replaceChildren(svg('text', { x: left, y: h / 2 }, 'collecting samples…'));
    return;
  }
  const t0 = Date.parse(history[0].at);
  const span = Math.max(Date.parse(history.at(-1).at) - t0, 1);
  const x = (s) => left + ((Date.parse(s.at) - t0) / span) * (w - left - right);
  const line = (key, max, cls) => {
    const y = (s) => top + (1 - s[key] / max) * (h - top - bottom);
    const points = history.map((s) => `${x(s).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
    return svg('polyline', { class: cls, points });
  };
  const maxPending = Math.max(1, ...history.map((s) => s.pending));
  const maxRate = Math.max(1, ...history.map((s) => s.publishedPerSecond));
  const time = (s) => new Date(s.at).toLocaleTimeString();
  chart.replaceChildren(
    svg('line', { class: 'grid', x1: left, x2: w - right, y1: top, y2: top }),
    svg('line', { class: 'grid', x1: left, x2: w - right, y1: h - bottom, y2: h - bottom }),
    svg('text', { x: 2, y: top + 10 }, String(maxPending)),
    svg('text', { x: 2, y: h - bottom }, '0'),
    svg('text', { x: w - right + 4, y: top + 10 }, `${maxRate.toFixed(1)}/s`),
    svg('text', { x: left, y: h - 6 }, time(history[0])),
    svg('text', { x: w - right, y: h - 6, 'text-anchor': 'end' }, time(history.at(-1))),
    line('pending', maxPending, 'pending'),
    line('publishedPerSecond', maxRate, 'rate'),
  );
}

function renderConsumers(list) {
  $('consumer-rows').replaceChildren(
    ...(list.length === 0
      ? [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no consumers'))]
      : list.map((c) =>
          el(
            'tr',
            { 'data-consumer': c.name },
            ...cells(
              [c.name, c.filter || '(all)', c.pending, c.ackPending, c.redelivered, c.waiting],
              [2, 3, 4, 5],
            ),
          ),
        )),
  );
}

function renderDeadLetters({ letters, truncated }) {
  $('dlq-count').textContent = `${letters.length}${truncated ? '+' : ''}`;
  $('dlq-rows').replaceChildren(
    ...(letters.length === 0
      ? [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no dead letters'))]
      : letters.map((l) => {
          const row = el(
            'tr',
            { 'data-seq': l.seq, tabindex: 0 },
            ...cells(
              [
                l.seq,
                new Date(l.deadLetteredAt).toLocaleString(),
                l.consumer,
                l.type ?? '–',
                l.reason,
                l.error.split('\n')[0],
              ],
              [0],
            ),
          );
          if (l.seq === state.selected) row.classList.add('selected');
          row.addEventListener('click', () => void showDetail(l.seq));
          row.addEventListener('keydown', (e) => e.key === 'Enter' && void showDetail(l.seq));
          return row;
        })),
  );
}

function prettyBody(body) {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

async function showDetail(seq) {
  try {
    const d = await api(`/api/dlq/${seq}`);
    state.selected = seq;
    $('detail-seq').textContent = String(d.seq);
    const fields = [
      ['consumer', d.consumer],
      ['type', d.type ?? '–'],
      ['event id', d.eventId ?? '–'],
      ['reason', d.reason],
      ['deliveries', d.deliveryCount],
      ['original subject', d.originalSubject],
      ['dead-lettered', new Date(d.deadLetteredAt).toLocaleString()],
    ];
    $('detail-fields').replaceChildren(
      ...fields.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    );
    $('detail-error').textContent = d.error;
    $('detail-headers').replaceChildren(
      ...Object.entries(d.headers).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))),
    );
    $('detail-body').textContent = prettyBody(d.body);
    $('detail-stack').textContent = d.stack || '–';
    $('detail').hidden = false;
    for (const row of $('dlq-rows').children)
      row.classList.toggle('selected', row.dataset.seq === String(seq));
  } catch (err) {
    notify(`dead letter ${seq}: ${err.message}`, true);
  }
}

function closeDetail() {
  state.selected = null;
  $('detail').hidden = true;
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [outbox, consumers, dlq] = await Promise.allSettled([
      api('/api/outbox'),
      api('/api/consumers'),
      api(`/api/dlq${query(state.filters)}`),
    ]);
    const failures = [];
    if (outbox.status === 'fulfilled') renderOutbox(outbox.value);
    else failures.push(`outbox: ${outbox.reason.message}`);
    if (consumers.status === 'fulfilled') renderConsumers(consumers.value);
    else failures.push(`consumers: ${consumers.reason.message}`);
    if (dlq.status === 'fulfilled') {
      renderDeadLetters(dlq.value);
      // A letter redriven or purged elsewhere is gone: its detail would only mislead.
      if (state.selected !== null && !dlq.value.letters.some((l) => l.seq === state.selected))
        closeDetail();
    } else failures.push(`dead letters: ${dlq.reason.message}`);
    $('error').hidden = failures.length === 0;
    $('error').textContent = failures.join(' · ');
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } finally {
    state.refreshing = false;
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    // A hidden tab does not need fresh numbers; it catches up when shown again.
    if (!document.hidden) await refresh();
    schedule();
  }, state.meta.refreshMs);
}

async function admin(label, path, describe) {
  try {
    notify(describe(await api(path, 'POST')));
  } catch (err) {
    notify(`${label} refused: ${err.message}`, true);
  }
  await refresh();
}

const redriven = (r) => `${r.redriven}${r.duplicates ? ` (+${r.duplicates} redriven before)` : ''}`;

function wire() {
  $('token').addEventListener('input', (e) => (state.token = e.target.value.trim()));
  $('token-form').addEventListener('submit', (e) => e.preventDefault());
  $('dlq-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    for (const key of ['consumer', 'type', 'reason'])
      state.filters[key] = String(form.get(key) ?? '').trim();
    void refresh();
  });
  $('close-detail').addEventListener('click', closeDetail);
  $('redrive').addEventListener('click', async () => {
    const seq = state.selected;
    if (seq === null) return;
    await admin(`redrive of dead letter ${seq}`, `/api/dlq/${seq}/redrive`, (r) =>
      r.duplicates ? `dead letter ${seq} had been redriven before` : `redrove dead letter ${seq}`,
    );
  });
  $('redrive-all').addEventListener('click', () => {
    if (!window.confirm('Redrive every dead letter matching the filters?')) return;
    void admin(
      'redrive',
      `/api/dlq/redrive${query(state.filters)}`,
      (r) => `redrove ${redriven(r)} dead letter(s)`,
    );
  });
  $('purge').addEventListener('click', () => {
    const consumer = state.filters.consumer;
    const what = consumer ? `all dead letters of ${consumer}` : 'ALL dead letters';
    if (!window.confirm(`Delete ${what} for good?`)) return;
    void admin(
      'purge',
      `/api/dlq/purge${query({ consumer, confirm: 'yes' })}`,
      (r) => `purged ${r.purged} dead letter(s)`,
    );
  });
  $('retry-failed').addEventListener(
    'click',
    () =>
      void admin(
        'retry',
        '/api/outbox/retry-failed',
        (r) => `requeued ${r.requeued} failed row(s)`,
      ),
  );
}

async function start() {
  wire();
  try {
    state.meta = await api('/api/meta');
  } catch (err) {
    $('error').hidden = false;
    $('error').textContent = `cannot reach the console API: ${err.message}`;
    return;
  }
  $('streams').textContent = `${state.meta.stream} · ${state.meta.dlqStream}`;
  $('read-only').hidden = !state.meta.readOnly;
  $('token-form').hidden = state.meta.readOnly;
  for (const button of document.querySelectorAll('button.admin')) {
    button.disabled = state.meta.readOnly;
    if (state.meta.readOnly) button.title = 'read-only console';
  }
  await refresh();
  schedule();
}

document.addEventListener('DOMContentLoaded', () => void start());
