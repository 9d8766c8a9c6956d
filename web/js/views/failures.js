// failures.js - failure (forensic) reports: one line of non-personal
// metadata each. Analysts and up only (the API answers 403 to viewers).

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, dateTime } from '../format.js';
import { empty, pageHead, table, button, errorBox, result, loading, notice } from '../ui.js';
import { dmarcRecord, reportAddress } from '../hints.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  const ip = ctx.query.get('ip') || '';
  const q = { domain: scope.domain || undefined, from: scope.from, to: scope.to, ip: ip || undefined };
  const where = scope.domain || 'all domains';
  let rows = [];
  let cursor = null;
  const holder = h('div', null, loading());
  const more = h('div', { class: 'more' });
  const ipInput = h('input', { type: 'search', id: 'fail-ip', value: ip, placeholder: '192.0.2.1', autocomplete: 'off' });
  const form = h('form', { class: 'toolbar', role: 'search', on: { submit: (e) => {
    e.preventDefault();
    ctx.setQuery({ ip: ipInput.value.trim() || null });
  } } },
  h('div', { class: 'field-inline' }, h('label', { for: 'fail-ip' }, 'Source IP'), ipInput),
  h('button', { type: 'submit', class: 'btn' }, 'Show'),
  ip ? h('a', { class: 'btn btn-quiet', href: ctx.scopeLink('failures') }, 'All sources') : null);
  mount(ctx.main, pageHead('Failure reports', `${ip ? `From ${ip} · ` : ''}${where} · ${scope.label}`), form, holder, more);

  const columns = [
    { key: 'arrival_date', label: 'Arrived (UTC)', cell: (r) => h('a', { href: `#/failures/${encodeURIComponent(r.id)}`, data: { testid: 'failure-link' } }, dateTime(r.arrival_date || r.created_at)) },
    { key: 'reported_domain', label: 'Domain' },
    { key: 'source_ip', label: 'Source IP', cell: (r) => (r.source_ip ? h('a', { href: ctx.scopeLink(`sources/${encodeURIComponent(r.source_ip)}`) }, r.source_ip) : '–') },
    { key: 'auth_failure', label: 'Failed', cell: (r) => r.auth_failure || '–' },
    { key: 'delivery_result', label: 'Delivery', cell: (r) => result(r.delivery_result) },
    { key: 'reporting_mta', label: 'Reported by', cell: (r) => r.reporting_mta || r.user_agent || '–' },
    { key: 'incidents', label: 'Incidents', num: true, cell: (r) => (r.incidents === null || r.incidents === undefined ? '1' : num(r.incidents)) },
    { key: 'sample_kind', label: 'Sample', cell: (r) => sampleWord(r.sample_kind) },
  ];

  async function fetchPage(reset) {
    const page = await api.get('/failures', { ...q, limit: 100, cursor: reset ? undefined : cursor }, { signal });
    rows = reset ? page.items || [] : rows.concat(page.items || []);
    cursor = page.next_cursor || null;
  }
  function draw() {
    mount(holder, h('p', { class: 'muted', role: 'status' }, `${num(rows.length)}${cursor ? '+' : ''} failure reports`),
      table({ caption: `Failure reports, ${where}, ${scope.label}`, columns, rows, testid: 'failures-table' }));
    mount(more, cursor ? button('Load more', async (e) => {
      e.target.disabled = true;
      try {
        await fetchPage(false);
        draw();
      } catch (err) {
        if (!ctx.aborted()) more.appendChild(errorBox(err, 'No more reports'));
      }
    }) : null);
  }
  try {
    await fetchPage(true);
  } catch (err) {
    if (err.status === 403) {
      mount(holder, notice(err.message, 'warn'));
      return;
    }
    throw err;
  }
  if (!rows.length) {
    const addr = await reportAddress();
    mount(holder, empty('No failure reports in this period',
      'Few receivers send failure reports, and only for mail that fails DMARC. To receive them, ' +
      'add ruf= (and fo=1 for every failure) to your DMARC record:',
      dmarcRecord(scope.domain, addr, 'both'),
      h('p', { class: 'hint' }, 'Failure reports can hold personal data; your tenant\'s policy on ' +
        'keeping them is under ', h('a', { href: '#/settings' }, 'Settings'), '.')));
    return;
  }
  draw();
}

export function sampleWord(kind) {
  if (kind === 'message') return 'whole message';
  if (kind === 'headers') return 'headers';
  return 'none';
}
