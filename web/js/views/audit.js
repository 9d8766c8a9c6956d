// audit.js - the tenant's audit log (admins and owners): every change,
// sign-in and failed sign-in, newest first.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, dateTime } from '../format.js';
import { pageHead, table, button, errorBox, loading, empty } from '../ui.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  const action = ctx.query.get('action') || '';
  let rows = [];
  let cursor = null;
  const holder = h('div', null, loading());
  const more = h('div', { class: 'more' });
  const input = h('input', { type: 'search', id: 'audit-action', value: action, placeholder: 'e.g. login.failed', autocomplete: 'off' });
  const form = h('form', { class: 'toolbar', role: 'search', on: { submit: (e) => {
    e.preventDefault();
    ctx.setQuery({ action: input.value.trim() || null });
  } } },
  h('div', { class: 'field-inline' }, h('label', { for: 'audit-action' }, 'Action'), input),
  h('button', { type: 'submit', class: 'btn' }, 'Show'),
  action ? h('a', { class: 'btn btn-quiet', href: ctx.scopeLink('audit') }, 'All actions') : null);
  mount(ctx.main, pageHead('Audit log', `Changes and sign-ins · ${scope.label}`), form, holder, more);

  const columns = [
    { key: 'at', label: 'When (UTC)', cell: (e) => dateTime(e.at) },
    { key: 'actor', label: 'Who', cell: (e) => e.actor || '–' },
    { key: 'action', label: 'Action', cell: (e) => h('a', { href: ctx.scopeLink('audit', { action: e.action }) }, e.action) },
    { key: 'target', label: 'Target', cell: (e) => e.target || '–' },
    { key: 'detail', label: 'Details', cell: (e) => detail(e.detail) },
  ];
  async function fetchPage(reset) {
    const page = await api.get('/audit', { from: scope.from, to: scope.to, action: action || undefined, limit: 100, cursor: reset ? undefined : cursor }, { signal });
    rows = reset ? page.items || [] : rows.concat(page.items || []);
    cursor = page.next_cursor || null;
  }
  function draw() {
    mount(holder, h('p', { class: 'muted', role: 'status' }, `${num(rows.length)}${cursor ? '+' : ''} entries`),
      table({ caption: `Audit log, ${scope.label}`, columns, rows, testid: 'audit-table' }));
    mount(more, cursor ? button('Load more', async (e) => {
      e.target.disabled = true;
      try {
        await fetchPage(false);
        draw();
      } catch (err) {
        if (!ctx.aborted()) more.appendChild(errorBox(err, 'No more entries'));
      }
    }) : null);
  }
  await fetchPage(true);
  if (!rows.length) {
    mount(holder, empty('Nothing recorded in this period', action ? `No "${action}" entries: try a longer period or another action.` : 'Try a longer period.'));
    return;
  }
  draw();
}

function detail(d) {
  if (d === null || d === undefined) return '–';
  if (typeof d !== 'object') return String(d);
  const pairs = Object.entries(d);
  if (!pairs.length) return '–';
  return h('ul', { class: 'plain compact' }, pairs.map(([k, v]) => h('li', null, h('span', { class: 'muted' }, `${k}: `),
    typeof v === 'object' ? JSON.stringify(v) : String(v))));
}
