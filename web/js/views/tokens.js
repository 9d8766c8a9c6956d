// tokens.js - personal API tokens: created here (shown once, then only
// their prefix), listed, revoked. Members below admin see their own;
// admins see everyone's in the tenant.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { can, state } from '../session.js';
import { dateTime } from '../format.js';
import { pageHead, table, field, select, busy, card, badge, empty } from '../ui.js';

export async function render(ctx, created) {
  const list = await api.get('/tokens', null, { signal: ctx.signal });
  const items = list.items || [];
  const errs = h('div');

  const columns = [
    { key: 'name', label: 'Name', cell: (t) => t.name || h('span', { class: 'muted' }, '(no name)') },
    { key: 'prefix', label: 'Starts with', cell: (t) => h('code', null, `${t.prefix}…`) },
    can('admin') ? { key: 'user', label: 'Owner' } : null,
    { key: 'scope', label: 'Scope' },
    { key: 'created_at', label: 'Created', cell: (t) => dateTime(t.created_at) },
    { key: 'expires_at', label: 'Expires', cell: (t) => (t.expires_at ? dateTime(t.expires_at) : 'never') },
    { key: 'last_used_at', label: 'Last used', cell: (t) => (t.last_used_at ? dateTime(t.last_used_at) : 'never') },
    { key: 'state', label: 'State', cell: (t) => badge(t.state, t.state === 'active' ? 'good' : 'muted') },
    { key: 'actions', label: 'Actions', cell: (t) => (t.state === 'active' ? h('button', {
      type: 'button', class: 'btn btn-danger btn-small', data: { testid: 'revoke', token: t.id },
      aria: { label: `Revoke token ${t.name || t.prefix}` },
      on: { click: (e) => revoke(e.currentTarget, t) },
    }, 'Revoke') : '–') },
  ].filter(Boolean);

  async function revoke(btn, t) {
    if (!window.confirm(`Revoke the token ${t.name || t.prefix}? Scripts using it stop working at once.`)) return;
    await busy(btn, errs, async () => {
      await api.del(`/tokens/${encodeURIComponent(t.id)}`);
      ctx.announce(`Token ${t.name || t.prefix} revoked`);
      render(ctx);
    });
  }

  const name = h('input', { type: 'text', id: 'token-name', maxLength: 100, autocomplete: 'off', placeholder: 'e.g. nightly export' });
  const scope = select([['read', 'read — GET only'], ['write', 'write — may also change things']], 'read', { id: 'token-scope' });
  const days = h('input', { type: 'number', id: 'token-days', min: 1, max: 365, value: '90', inputMode: 'numeric', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const formErrs = h('div');
  const form = h('form', { class: 'stack-form', on: { submit: async (e) => {
    e.preventDefault();
    const n = Number(days.value);
    if (!Number.isInteger(n) || n < 1 || n > 365) {
      formErrs.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert' }, 'Expiry is 1 to 365 days.'));
      days.focus();
      return;
    }
    await busy(submit, formErrs, async () => {
      const body = { scope: scope.value, expires_days: n };
      if (name.value.trim()) body.name = name.value.trim();
      const t = await api.post('/tokens', body);
      await render(ctx, t);
    });
  } } },
  field('Name', name, 'What the token is for, so you recognise it later.'),
  field('Scope', scope),
  field('Expires after (days)', days),
  formErrs, submit);

  let shown = null;
  if (created) {
    const value = h('input', { type: 'text', id: 'new-token', readOnly: true, value: created.token, data: { testid: 'new-token' }, class: 'mono wide' });
    const copy = h('button', { type: 'button', class: 'btn', on: { click: async () => {
      try {
        await navigator.clipboard.writeText(created.token);
        ctx.announce('Token copied');
        copy.textContent = 'Copied';
      } catch {
        value.select();
        ctx.announce('Press Ctrl+C to copy the selected token');
      }
    } } }, 'Copy');
    shown = h('section', { class: 'card secret', aria: { labelledby: 'new-token-h' } },
      h('h2', { id: 'new-token-h' }, 'Your new token'),
      h('p', null, h('strong', null, 'Copy it now: it is shown only once.'), ' dmarcd keeps only a hash of it.'),
      h('div', { class: 'copy-row' }, h('label', { for: 'new-token', class: 'sr-only' }, 'New token'), value, copy),
      h('p', { class: 'hint' }, 'Use it as: ', h('code', null, 'Authorization: Bearer <token>'), '. ',
        `Scope ${created.scope}, expires in ${created.expires_days} days.`));
  }

  mount(ctx.main, pageHead('API tokens', `Tokens for scripts that use the dmarcd API in ${state.tenant}`),
    shown, errs,
    items.length ? table({ caption: 'API tokens', columns, rows: items, testid: 'tokens-table' })
      : empty('No API tokens yet', 'Create one for a script or an integration below.'),
    card('Create a token', form));
  if (shown) shown.querySelector('input').focus();
}
