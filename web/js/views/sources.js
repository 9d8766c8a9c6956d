// sources.js - every sending IP of the domain and period: volume,
// pass/fail, alignment, header-from domains. Sorting and filtering happen
// in the page on the loaded rows (the API's first 500, by volume; more on
// request); sorting by failures with rows still unloaded asks the API for
// its own failure order instead, so the worst sources are never missing.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, pct, ratio, day } from '../format.js';
import { empty, pageHead, table, sortRows, button, errorBox, loading } from '../ui.js';
import { noReports } from '../hints.js';

const PAGE = 500;       // rows per API request
const SHOW = 100;       // rows drawn at a time

export async function render(ctx) {
  const { scope, signal } = ctx;
  const q = { domain: scope.domain || undefined, from: scope.from, to: scope.to };
  const where = scope.domain || 'all domains';
  const sortState = { key: 'messages', dir: 'desc' };
  let serverSort = 'messages';
  let rows = [];
  let cursor = null;
  let showing = SHOW;

  const filter = h('input', { type: 'search', id: 'src-filter', placeholder: 'IP, host or From: domain', autocomplete: 'off' });
  const failingOnly = h('input', { type: 'checkbox', id: 'src-failing' });
  const count = h('p', { class: 'muted', role: 'status', data: { testid: 'source-count' } });
  const holder = h('div', null, loading());
  const more = h('div', { class: 'more' });
  const csv = h('a', { class: 'btn btn-quiet', href: api.apiUrl('/sources', { ...q, format: 'csv' }), download: 'sources.csv' }, 'Download CSV');
  const controls = h('div', { class: 'toolbar', role: 'search' },
    h('div', { class: 'field-inline' }, h('label', { for: 'src-filter' }, 'Filter'), filter),
    h('div', { class: 'field-inline check' }, failingOnly, h('label', { for: 'src-failing' }, 'Only sources failing DMARC')));

  mount(ctx.main, pageHead('Sources', `Every IP address that sent mail as ${where} · ${scope.label}`, csv),
    controls, count, holder, more);

  const columns = [
    { key: 'ip', label: 'IP address', sort: (r) => ipKey(r.ip),
      cell: (r) => [h('a', { href: ctx.scopeLink(`sources/${encodeURIComponent(r.ip)}`) }, r.ip),
        r.reverse_dns ? h('div', { class: 'muted small' }, r.reverse_dns) : null] },
    { key: 'messages', label: 'Messages', num: true },
    { key: 'dmarc_fail', label: 'DMARC fail', num: true },
    { key: 'rate', label: 'DMARC pass', num: true, sort: (r) => ratio(r.dmarc_pass, r.messages) ?? -1,
      cell: (r) => pct(ratio(r.dmarc_pass, r.messages)) },
    { key: 'spf', label: 'SPF aligned', num: true, sort: (r) => ratio(r.spf_aligned_pass, r.messages) ?? -1,
      cell: (r) => pct(ratio(r.spf_aligned_pass, r.messages)) },
    { key: 'dkim', label: 'DKIM aligned', num: true, sort: (r) => ratio(r.dkim_aligned_pass, r.messages) ?? -1,
      cell: (r) => pct(ratio(r.dkim_aligned_pass, r.messages)) },
    { key: 'header_from', label: 'From: domains', sort: (r) => (r.header_from || []).join(' '),
      cell: (r) => fromCell(r) },
    { key: 'last_day', label: 'Last seen', cell: (r) => day(r.last_day) },
  ];

  async function fetchPage(reset) {
    const page = await api.get('/sources', { ...q, sort: serverSort === 'fail' ? 'fail' : undefined, limit: PAGE, cursor: reset ? undefined : cursor }, { signal });
    rows = reset ? page.items || [] : rows.concat(page.items || []);
    cursor = page.next_cursor || null;
  }

  function draw() {
    const text = filter.value.trim().toLowerCase();
    let shown = rows.filter((r) => !failingOnly.checked || r.dmarc_fail > 0);
    if (text) {
      shown = shown.filter((r) => r.ip.toLowerCase().includes(text) ||
        (r.reverse_dns || '').toLowerCase().includes(text) ||
        (r.header_from || []).some((f) => f.toLowerCase().includes(text)));
    }
    sortRows(shown, columns, sortState);
    const drawn = shown.slice(0, showing);
    count.textContent = (!text && !failingOnly.checked
      ? `${num(rows.length)}${cursor ? '+' : ''} sources`
      : `${num(shown.length)} of ${num(rows.length)}${cursor ? '+' : ''} sources match`) +
      (drawn.length < shown.length ? `; showing the first ${num(drawn.length)}` : '') +
      (cursor && sortState.key !== 'messages' && sortState.key !== 'dmarc_fail' ? ' (sorted among those loaded)' : '');
    if (!shown.length) {
      mount(holder, h('p', null, 'No source matches.'));
    } else {
      mount(holder, table({
        caption: `Sources of ${where}, ${scope.label}`, columns, rows: drawn, sortState, onSort,
        testid: 'sources-table', rowAttrs: (r) => ({ class: r.dmarc_fail > 0 && r.dmarc_pass === 0 ? 'row-bad' : null }),
      }));
    }
    mount(more,
      drawn.length < shown.length ? button(`Show ${num(Math.min(SHOW, shown.length - drawn.length))} more`, () => {
        showing += SHOW;
        draw();
      }) : null,
      drawn.length >= shown.length && cursor ? button('Load more sources', loadMore) : null);
  }

  async function onSort(key) {
    if (sortState.key === key) sortState.dir = sortState.dir === 'asc' ? 'desc' : 'asc';
    else {
      sortState.key = key;
      sortState.dir = key === 'ip' || key === 'header_from' ? 'asc' : 'desc';
    }
    const wantServer = key === 'dmarc_fail' && sortState.dir === 'desc' ? 'fail' : 'messages';
    if (cursor && wantServer !== serverSort) {
      serverSort = wantServer;
      await reload();
    } else {
      draw();
    }
    const btn = holder.querySelector(`button.sort[data-key="${key}"]`);
    if (btn) btn.focus();
    ctx.announce(`Sorted by ${columns.find((c) => c.key === key).label}, ${sortState.dir === 'asc' ? 'ascending' : 'descending'}`);
  }

  async function reload() {
    try {
      await fetchPage(true);
      draw();
    } catch (err) {
      if (!ctx.aborted()) mount(holder, errorBox(err, 'Sources did not load'));
    }
  }

  async function loadMore(e) {
    e.target.disabled = true;
    try {
      await fetchPage(false);
      draw();
    } catch (err) {
      if (!ctx.aborted()) more.appendChild(errorBox(err, 'No more sources'));
    }
  }

  let timer = null;
  const redraw = () => {
    showing = SHOW;
    draw();
  };
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, 120);
  });
  failingOnly.addEventListener('change', redraw);
  ctx.onCleanup(() => clearTimeout(timer));

  await fetchPage(true);
  if (!rows.length) {
    mount(ctx.main, pageHead('Sources', `${where} · ${scope.label}`), empty('No sources in this period', ...(await noReports(scope.domain))));
    return;
  }
  if (ctx.query.get('q')) filter.value = ctx.query.get('q');
  draw();
}

// Sort key keeping IPv4 numerically ordered and IPv6 after it.
function ipKey(ip) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m) return m.slice(1).map((x) => x.padStart(3, '0')).join('.');
  return `~${ip}`;
}

function fromCell(r) {
  const list = r.header_from || [];
  if (!list.length) return '–';
  const extra = (r.header_from_total || list.length) - list.length;
  const rest = list.length - Math.min(3, list.length) + Math.max(0, extra);
  return h('span', { class: 'from-list' }, list.slice(0, 3).join(', '),
    rest > 0 ? h('span', { class: 'muted' }, ` +${num(rest)} more`) : null);
}
