// source.js - one sending IP: its numbers for the domain and period, the
// domains it sent as, and (for analysts and up) the failure reports about
// mail from it.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { can } from '../session.js';
import { num, pct, ratio, day, dateTime } from '../format.js';
import { card, facts, pageHead, stat, table, empty, errorBox, result } from '../ui.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  const ip = ctx.params.ip;
  const q = { domain: scope.domain || undefined, from: scope.from, to: scope.to };
  const where = scope.domain || 'all domains';
  const back = h('a', { class: 'btn btn-quiet', href: ctx.scopeLink('sources') }, '← All sources');
  let page;
  try {
    page = await api.get('/sources', { ...q, ip }, { signal });
  } catch (err) {
    if (err.status === 400) {
      mount(ctx.main, pageHead(`Source ${ip}`, null, back), errorBox(err, 'Not an IP address'));
      return;
    }
    throw err;
  }
  const s = (page.items || [])[0];
  if (!s) {
    mount(ctx.main, pageHead(`Source ${ip}`, `${where} · ${scope.label}`, back),
      empty('No mail from this address in this period', 'Choose a longer period or another domain above.'));
    return;
  }
  const rate = ratio(s.dmarc_pass, s.messages);
  const head = pageHead(`Source ${s.ip}`, `${s.reverse_dns || 'host name unknown'} · ${where} · ${scope.label}`, back);
  const stats = h('div', { class: 'stats' },
    stat('Messages', num(s.messages), { metric: 'messages', raw: s.messages }),
    stat('DMARC pass', pct(rate), { metric: 'dmarc_pass_rate', raw: rate, hint: `${num(s.dmarc_pass)} passed, ${num(s.dmarc_fail)} failed`,
      level: rate >= 0.98 ? 'good' : rate >= 0.9 ? 'warn' : 'bad' }),
    stat('SPF aligned', pct(ratio(s.spf_aligned_pass, s.messages)), { hint: `${num(s.spf_aligned_pass)} messages` }),
    stat('DKIM aligned', pct(ratio(s.dkim_aligned_pass, s.messages)), { hint: `${num(s.dkim_aligned_pass)} messages` }));
  const advice = adviceFor(s);
  const about = card('About this source',
    facts([
      ['IP address', s.ip],
      ['Host name', s.reverse_dns || 'unknown'],
      ['First seen', day(s.first_day)],
      ['Last seen', day(s.last_day)],
      ['Sent as (From: domains)', (s.header_from || []).length
        ? h('ul', { class: 'plain' }, s.header_from.map((d) => h('li', null, d)),
          s.header_from_total > s.header_from.length ? h('li', { class: 'muted' }, `and ${num(s.header_from_total - s.header_from.length)} more`) : null)
        : '–'],
    ]),
    advice ? h('p', { class: 'advice' }, advice) : null);

  const failHolder = h('div');
  const failCard = card('Failure reports about this source', failHolder);
  mount(ctx.main, head, stats, about, failCard);

  if (!can('analyst')) {
    mount(failHolder, h('p', { class: 'muted' }, 'Failure reports are shown to analysts, admins and owners.'));
    return;
  }
  try {
    const f = await api.get('/failures', { ...q, ip, limit: 50 }, { signal });
    const items = f.items || [];
    mount(failHolder, items.length
      ? table({
        caption: `Failure reports about mail from ${s.ip}`,
        columns: [
          { key: 'arrival_date', label: 'Arrived', cell: (r) => h('a', { href: `#/failures/${encodeURIComponent(r.id)}` }, dateTime(r.arrival_date || r.created_at)) },
          { key: 'reported_domain', label: 'Domain' },
          { key: 'auth_failure', label: 'Failure', cell: (r) => result(r.auth_failure) },
          { key: 'delivery_result', label: 'Delivery', cell: (r) => r.delivery_result || '–' },
        ],
        rows: items,
      })
      : h('p', null, 'No failure reports about this address in this period.'));
  } catch (err) {
    if (!ctx.aborted()) mount(failHolder, errorBox(err, 'Failure reports did not load'));
  }
}

function adviceFor(s) {
  const rate = ratio(s.dmarc_pass, s.messages) ?? 1;
  const spf = ratio(s.spf_aligned_pass, s.messages) ?? 1;
  const dkim = ratio(s.dkim_aligned_pass, s.messages) ?? 1;
  if (rate >= 0.98) return 'This source passes DMARC: it is set up correctly.';
  if (s.dmarc_pass === 0) {
    return 'Nothing from this source passes DMARC. If you do not know it, it may be spoofing ' +
      'your domain: a quarantine or reject policy stops it. If it is a service you use, set up ' +
      'DKIM signing with your domain and add it to your SPF record.';
  }
  if (dkim < spf) return 'Some mail from this source lacks a DKIM signature aligned with your domain: check DKIM signing for this service (or forwarding that breaks signatures).';
  return 'Some mail from this source fails SPF alignment: add the service to your SPF record, or sign with DKIM.';
}
