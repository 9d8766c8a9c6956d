// tls.js - SMTP TLS reports (RFC 8460): sessions that negotiated TLS, and
// those that failed, per reporter and day.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, pct, ratio, range } from '../format.js';
import { empty, pageHead, table, button, errorBox, loading, badge } from '../ui.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  let rows = [];
  let cursor = null;
  const holder = h('div', null, loading());
  const more = h('div', { class: 'more' });
  mount(ctx.main, pageHead('TLS reports', `SMTP TLS reporting (TLS-RPT) · ${scope.label}`), holder, more);
  const columns = [
    { key: 'report_day', label: 'Day', nowrap: true },
    { key: 'organization_name', label: 'Reporter', cell: (r) => r.organization_name || '–' },
    { key: 'policy_domains', label: 'Domains', cell: (r) => (Array.isArray(r.policy_domains) && r.policy_domains.length ? r.policy_domains.join(', ') : '–') },
    { key: 'range', label: 'Period covered (UTC)', nowrap: true, cell: (r) => range(r.begin, r.end) },
    { key: 'successful_sessions', label: 'TLS sessions', num: true },
    { key: 'failed_sessions', label: 'Failed', num: true, cell: (r) => (r.failed_sessions ? badge(num(r.failed_sessions), 'bad') : '0') },
    { key: 'rate', label: 'Success', num: true, cell: (r) => pct(ratio(r.successful_sessions, r.successful_sessions + r.failed_sessions)) },
    { key: 'report_id', label: 'Report ID', cell: (r) => h('span', { class: 'mono' }, r.report_id || '–') },
  ];
  async function fetchPage(reset) {
    const page = await api.get('/tls-reports', { from: scope.from, to: scope.to, limit: 100, cursor: reset ? undefined : cursor }, { signal });
    rows = reset ? page.items || [] : rows.concat(page.items || []);
    cursor = page.next_cursor || null;
  }
  function draw() {
    const ok = rows.reduce((a, r) => a + (r.successful_sessions || 0), 0);
    const bad = rows.reduce((a, r) => a + (r.failed_sessions || 0), 0);
    mount(holder, h('p', { class: 'muted', role: 'status' },
      `${num(rows.length)}${cursor ? '+' : ''} reports: ${num(ok)} TLS sessions, ${num(bad)} failed (${pct(ratio(ok, ok + bad))} success).`),
    table({ caption: `TLS reports, ${scope.label}`, columns, rows, testid: 'tls-table' }));
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
  await fetchPage(true);
  if (!rows.length) {
    mount(holder, empty('No TLS reports in this period',
      'Receivers that support SMTP TLS Reporting (RFC 8460) send a daily summary of the TLS ' +
      'sessions they made to your mail servers. Publish:',
      h('pre', { class: 'code', tabIndex: 0 }, '_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:ADDRESS"'),
      h('p', { class: 'hint' }, 'with your domain and the report address of your dmarcd service.')));
    return;
  }
  draw();
}
