// domains.js - the tenant's policy domains; admins add and remove them.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { can, state } from '../session.js';
import { day } from '../format.js';
import { empty, pageHead, table, field, busy, badge, card } from '../ui.js';
import { dmarcRecord, reportAddress } from '../hints.js';

export async function render(ctx) {
  const list = await api.get('/domains', null, { signal: ctx.signal });
  const items = list.items || [];
  const address = await reportAddress();
  const admin = can('admin');
  const errs = h('div');

  const columns = [
    { key: 'domain', label: 'Domain', cell: (d) => [h('a', { href: ctx.link('overview', { domain: d.domain }) }, d.domain),
      d.registered === false ? [' ', badge('not registered', 'warn')] : null] },
    { key: 'messages_30d', label: 'Messages, last 30 days', num: true },
    { key: 'last_report_day', label: 'Last report', cell: (d) => (d.last_report_day ? day(d.last_report_day) : badge('none yet', 'warn')) },
    { key: 'ownership_verified', label: 'Ownership', cell: (d) => (d.ownership_verified ? badge('verified', 'good') : 'not verified') },
  ];
  if (admin) {
    columns.push({ key: 'actions', label: 'Actions', cell: (d) => (d.registered === false ? '–' : h('button', {
      type: 'button', class: 'btn btn-danger btn-small', aria: { label: `Remove ${d.domain}` },
      on: { click: (e) => remove(e.currentTarget, d.domain) },
    }, 'Remove')) });
  }

  let addForm = null;
  if (admin) {
    const input = h('input', { type: 'text', id: 'new-domain', placeholder: 'example.com', autocomplete: 'off', required: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add domain');
    addForm = card('Add a domain', h('form', { class: 'inline-form', on: { submit: async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return input.focus();
      await busy(submit, errs, async () => {
        const added = await api.post('/domains', { domain: name });
        await ctx.refreshDomains();
        ctx.announce(`Added ${added.domain}`);
        render(ctx);
      });
      return undefined;
    } } }, field('Domain', input, 'The domain in the From: address of your mail (the policy domain).'), submit),
    h('p', { class: 'hint' }, 'Reports for a domain are routed to the tenant that registered it.'));
  }

  async function remove(btn, domain) {
    if (!window.confirm(`Remove ${domain}? Its reports stay until they expire; new reports are no longer stored for it.`)) return;
    await busy(btn, errs, async () => {
      await api.del(`/domains/${encodeURIComponent(domain)}`);
      await ctx.refreshDomains();
      ctx.announce(`Removed ${domain}`);
      render(ctx);
    });
  }

  const body = items.length
    ? [table({ caption: `Domains of ${state.tenant}`, columns, rows: items, testid: 'domains-table' }),
      items.some((d) => d.registered === false)
        ? h('p', { class: 'hint' }, 'Not registered: reports for it arrived in the last 30 days, but it is not registered to this tenant, so new reports are not routed here; an admin can add it.')
        : null,
      card('Receiving reports', dmarcRecord(items[0].domain, address))]
    : [empty('No domains yet', admin ? 'Add the domains you send mail from:' : 'An admin of your organisation adds domains.',
      dmarcRecord(null, address))];
  mount(ctx.main, pageHead('Domains', `Policy domains of ${state.tenant}`), errs, addForm, body);
  return undefined;
}
