// report.js - one aggregate report: who sent it, the policy it saw, its
// records (a page at a time), warnings, and the original file.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { can } from '../session.js';
import { num, dateTime } from '../format.js';
import { card, facts, pageHead, table, button, errorBox, result, notice } from '../ui.js';

export async function render(ctx) {
  const { signal } = ctx;
  const id = ctx.params.id;
  const dayParam = ctx.query.get('day') || undefined;
  let r;
  try {
    r = await api.get(`/reports/${encodeURIComponent(id)}`, { day: dayParam, limit: 200 }, { signal });
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      mount(ctx.main, pageHead('Aggregate report'), notice('There is no such report (it may have expired under your retention tier).', 'warn'),
        h('p', null, h('a', { href: '#/reports' }, 'All reports')));
      return;
    }
    throw err;
  }
  const p = r.policy_published || {};
  const actions = [h('a', { class: 'btn btn-quiet', href: ctx.link('reports', { domain: p.domain || undefined }) }, '← Reports')];
  if (r.raw_available && can('analyst')) {
    actions.push(h('a', {
      class: 'btn', href: api.apiUrl(`/reports/${encodeURIComponent(r.id)}/raw`),
      download: `report-${r.id}.raw`, data: { testid: 'raw-link' },
    }, 'Download the original file'));
  }
  const head = pageHead(`Report from ${r.org_name || '(no name)'}`, `${p.domain || ''} · ${dateTime(r.begin)} – ${dateTime(r.end)}`, actions);
  const meta = card('Report',
    facts([
      ['Reporter', r.org_name],
      ['Contact', r.email],
      ['More contact information', r.extra_contact_info],
      ['Report ID', r.report_id],
      ['Period covered', `${dateTime(r.begin)} – ${dateTime(r.end)}`],
      ['Format', [r.format, r.version ? ` (version ${r.version})` : ''].join('')],
      ['Generator', r.generator],
      ['Messages', num(r.messages)],
      ['Records', r.skipped_records ? `${num(r.records_total)} (${num(r.skipped_records)} skipped)` : num(r.records_total)],
      ['Received', dateTime(r.created_at)],
      ['Source file', r.source_file],
    ]),
    !r.raw_available ? h('p', { class: 'hint' }, 'The original file is not kept for this report.')
      : can('analyst') ? null : h('p', { class: 'hint' }, 'The original file is available to analysts, admins and owners.'));
  const policy = card('Policy the receiver saw',
    facts([
      ['Domain', p.domain],
      ['Policy (p=)', p.p],
      ['Subdomain policy (sp=)', p.sp],
      ['Non-existent subdomains (np=)', p.np],
      ['Percentage (pct=)', p.pct === null || p.pct === undefined ? null : String(p.pct)],
      ['DKIM alignment (adkim=)', p.adkim === 's' ? 'strict' : p.adkim === 'r' ? 'relaxed' : p.adkim],
      ['SPF alignment (aspf=)', p.aspf === 's' ? 'strict' : p.aspf === 'r' ? 'relaxed' : p.aspf],
      ['Failure reporting (fo=)', p.fo],
      ['Testing (t=)', p.testing],
      ['Discovery', p.discovery_method],
    ]));
  const notes = [];
  for (const e of asList(r.errors)) notes.push(h('li', null, h('strong', null, 'Reporter error: '), textOf(e)));
  for (const w of asList(r.warnings)) notes.push(h('li', null, textOf(w)));
  const warnCard = notes.length ? card('Warnings', h('ul', null, notes)) : null;

  let records = r.records || [];
  let cursor = r.records_next_cursor || null;
  const recHolder = h('div');
  const more = h('div', { class: 'more' });
  const columns = [
    { key: 'source_ip', label: 'Source IP', cell: (x) => h('a', { href: ctx.link(`sources/${encodeURIComponent(x.source_ip)}`, { domain: p.domain || '', from: r.report_day, to: r.report_day }) }, x.source_ip) },
    { key: 'messages', label: 'Messages', num: true },
    { key: 'disposition', label: 'Disposition', cell: (x) => result(x.disposition) },
    { key: 'dkim', label: 'DKIM (aligned)', cell: (x) => result(x.dkim) },
    { key: 'spf', label: 'SPF (aligned)', cell: (x) => result(x.spf) },
    { key: 'header_from', label: 'From: (envelope)', cell: (x) => [x.header_from || '–',
      x.envelope_from && x.envelope_from !== x.header_from ? h('div', { class: 'muted small' }, x.envelope_from) : null] },
    { key: 'auth', label: 'Authentication results', cell: authCell },
    { key: 'reasons', label: 'Override', cell: (x) => (asList(x.reasons).length ? asList(x.reasons).map((o) => `${o.type || ''}${o.comment ? `: ${o.comment}` : ''}`).join('; ') : '–') },
  ];
  function draw() {
    mount(recHolder, table({ caption: `Records of report ${r.report_id || r.id}`, columns, rows: records, testid: 'records-table' }));
    mount(more, cursor ? button('Load more records', async (e) => {
      e.target.disabled = true;
      try {
        const next = await api.get(`/reports/${encodeURIComponent(id)}`, { day: dayParam, limit: 200, cursor }, { signal });
        records = records.concat(next.records || []);
        cursor = next.records_next_cursor || null;
        draw();
      } catch (err) {
        if (!ctx.aborted()) more.appendChild(errorBox(err, 'No more records'));
      }
    }) : null);
  }
  draw();
  mount(ctx.main, head, h('div', { class: 'grid-2' }, meta, policy), warnCard,
    card(`Records (${num(r.records_total)})`, recHolder, more));
}

function asList(v) {
  return Array.isArray(v) ? v : [];
}

function textOf(v) {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') return v.message || v.text || JSON.stringify(v);
  return String(v);
}

function authCell(x) {
  const a = x.auth_results || {};
  const parts = [];
  for (const d of asList(a.dkim)) {
    parts.push(h('li', null, 'DKIM ', d.domain || '?', d.selector ? ` (s=${d.selector})` : '', ': ', result(d.result)));
  }
  for (const s of asList(a.spf)) {
    parts.push(h('li', null, 'SPF ', s.domain || '?', s.scope ? ` (${s.scope})` : '', ': ', result(s.result)));
  }
  return parts.length ? h('ul', { class: 'plain compact' }, parts) : '–';
}

