// reports.js - the aggregate reports received for the domain and period,
// newest first, a page at a time; one reporter at a time on request.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, range } from '../format.js';
import { empty, pageHead, table, button, errorBox, badge, loading, card, busy, notice } from '../ui.js';
import { can } from '../session.js';
import { noReports } from '../hints.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  const org = ctx.query.get('org') || '';
  const q = { domain: scope.domain || undefined, from: scope.from, to: scope.to, org: org || undefined };
  const where = scope.domain || 'all domains';
  let rows = [];
  let cursor = null;

  const orgInput = h('input', { type: 'search', id: 'rep-org', value: org, placeholder: 'e.g. google.com', autocomplete: 'off' });
  const orgForm = h('form', { class: 'toolbar', role: 'search', on: { submit: (e) => {
    e.preventDefault();
    ctx.setQuery({ org: orgInput.value.trim() || null });
  } } },
  h('div', { class: 'field-inline' }, h('label', { for: 'rep-org' }, 'Reporter'), orgInput),
  h('button', { type: 'submit', class: 'btn' }, 'Show'),
  org ? h('a', { class: 'btn btn-quiet', href: ctx.scopeLink('reports') }, 'All reporters') : null);
  const csv = h('a', { class: 'btn btn-quiet', href: api.apiUrl('/reports', { ...q, format: 'csv' }), download: 'reports.csv' }, 'Download CSV');
  const holder = h('div', null, loading());
  const more = h('div', { class: 'more' });
  const head = pageHead('Aggregate reports', `${org ? `From ${org} · ` : ''}${where} · ${scope.label}`, csv);
  mount(ctx.main, head, orgForm, holder, more, can('admin') ? uploadCard(ctx) : null);

  const columns = [
    { key: 'report_day', label: 'Day', nowrap: true },
    { key: 'org_name', label: 'Reporter', cell: (r) => h('a', {
      href: ctx.link(`reports/${encodeURIComponent(r.id)}`, { day: r.report_day }),
      data: { testid: 'report-link' },
    }, r.org_name || '(no name)') },
    { key: 'policy_domain', label: 'Domain' },
    { key: 'range', label: 'Period covered (UTC)', nowrap: true, cell: (r) => range(r.begin, r.end) },
    { key: 'messages', label: 'Messages', num: true },
    { key: 'records', label: 'Records', num: true },
    { key: 'policy_p', label: 'Policy', cell: (r) => (r.policy_p ? `p=${r.policy_p}` : '–') },
    { key: 'warnings', label: 'Warnings', num: true, cell: (r) => (r.warnings ? badge(num(r.warnings), 'warn') : '0') },
  ];

  async function fetchPage(reset) {
    const page = await api.get('/reports', { ...q, limit: 100, cursor: reset ? undefined : cursor }, { signal });
    rows = reset ? page.items || [] : rows.concat(page.items || []);
    cursor = page.next_cursor || null;
  }

  function draw() {
    mount(holder, h('p', { class: 'muted', role: 'status' }, `${num(rows.length)}${cursor ? '+' : ''} reports`),
      table({ caption: `Aggregate reports, ${where}, ${scope.label}`, columns, rows, testid: 'reports-table' }));
    mount(more, cursor ? button('Load more reports', async (e) => {
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
    mount(holder, org
      ? empty(`No reports from ${org}`, 'The reporter name must match exactly as the receiver wrote it.')
      : empty('No aggregate reports in this period', ...(await noReports(scope.domain, 'aggregate reports'))));
    return;
  }
  draw();
}

// Admins hand in a report file or a whole mail message; it goes through
// the same inbox and workers as mail (POST /uploads answers 202 at once).
function uploadCard(ctx) {
  const file = h('input', { type: 'file', id: 'upload-file', accept: '.xml,.gz,.zip,.eml,.json,.txt,message/rfc822,application/xml,application/gzip,application/zip' });
  const out = h('div', { role: 'status' });
  const go = h('button', { type: 'submit', class: 'btn' }, 'Upload');
  const form = h('form', { class: 'inline-form', on: { submit: async (e) => {
    e.preventDefault();
    const f = file.files && file.files[0];
    if (!f) {
      file.focus();
      return;
    }
    await busy(go, out, async () => {
      const r = await api.upload('/uploads', f);
      out.replaceChildren(notice(r.duplicate
        ? `${f.name} was uploaded before (inbox ${r.inbox_id}): nothing new to do.`
        : `${f.name} is stored (inbox ${r.inbox_id}) and ${r.queued ? 'queued' : 'will be queued'}; its reports appear here once a worker has read it.`, 'info'));
      ctx.announce('Upload stored');
      file.value = '';
    });
  } } },
  h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'Report file or mail message'), file), go);
  return card('Upload a report', form, out,
    h('p', { class: 'hint' }, 'Aggregate (XML, gzip, zip), failure (ARF mail) or TLS reports, as a receiver sent them.'));
}
