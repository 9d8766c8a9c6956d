// members.js - the tenant's members and their roles (admins and owners).
// Only an owner makes, changes or removes owners; the API enforces it and
// keeps at least one owner, the page only offers what can work.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { state, can, ROLES } from '../session.js';
import { dateTime } from '../format.js';
import { pageHead, table, field, select, busy, card, badge } from '../ui.js';

const ABOUT = {
  owner: 'everything, including owners and the tenant itself',
  admin: 'members, domains, settings, uploads and the audit log',
  analyst: 'all report data, including failure-report contents',
  viewer: 'aggregate data only: no failure reports',
};

export async function render(ctx) {
  const list = await api.get('/users', null, { signal: ctx.signal });
  const items = list.items || [];
  const owner = can('owner');
  const offered = ROLES.filter((r) => owner || r !== 'owner').slice().reverse();
  const errs = h('div');

  const columns = [
    { key: 'email', label: 'E-mail', cell: (m) => [m.email, m.email === state.user.email ? h('span', { class: 'muted' }, ' (you)') : null] },
    { key: 'role', label: 'Role', cell: (m) => roleCell(m) },
    { key: 'status', label: 'Status', cell: (m) => (m.status === 'active' ? 'active' : badge(m.status, 'warn')) },
    { key: 'joined_at', label: 'Member since', cell: (m) => dateTime(m.joined_at) },
    { key: 'last_login_at', label: 'Last sign-in', cell: (m) => dateTime(m.last_login_at) },
    { key: 'actions', label: 'Actions', cell: (m) => (m.role === 'owner' && !owner ? '–' : h('button', {
      type: 'button', class: 'btn btn-danger btn-small', aria: { label: `Remove ${m.email}` },
      on: { click: (e) => remove(e.currentTarget, m) },
    }, 'Remove')) },
  ];

  function roleCell(m) {
    if (m.role === 'owner' && !owner) return m.role;
    const id = `role-${m.id}`;
    const sel = select(offered.map((r) => [r, r]), m.role, { id, aria: { label: `Role of ${m.email}` } });
    sel.addEventListener('change', async () => {
      const before = m.role;
      sel.disabled = true;
      errs.replaceChildren();
      try {
        await api.put(`/users/${encodeURIComponent(m.id)}`, { role: sel.value });
        m.role = sel.value;
        ctx.announce(`${m.email} is now ${sel.value}`);
      } catch (err) {
        sel.value = before;
        errs.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert' }, `Role not changed: ${err.message}`));
      } finally {
        sel.disabled = false;
      }
    });
    return sel;
  }

  async function remove(btn, m) {
    if (!window.confirm(`Remove ${m.email} from ${state.tenant}? Their API tokens for this tenant stop working.`)) return;
    await busy(btn, errs, async () => {
      await api.del(`/users/${encodeURIComponent(m.id)}`);
      ctx.announce(`Removed ${m.email}`);
      render(ctx);
    });
  }

  const email = h('input', { type: 'email', id: 'member-email', autocomplete: 'off', required: true });
  const role = select(offered.map((r) => [r, `${r} — ${ABOUT[r]}`]), 'viewer', { id: 'member-role' });
  const password = h('input', { type: 'password', id: 'member-password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add member');
  const addErrs = h('div');
  const form = h('form', { class: 'stack-form', on: { submit: async (e) => {
    e.preventDefault();
    if (!email.value.trim()) return email.focus();
    await busy(submit, addErrs, async () => {
      const body = { email: email.value.trim(), role: role.value };
      if (password.value) body.password = password.value;
      const added = await api.post('/users', body);
      password.value = '';
      ctx.announce(`Added ${added.email} as ${added.role}`);
      render(ctx);
    });
    return undefined;
  } } },
  field('E-mail address', email),
  field('Role', role),
  field('Initial password (new accounts)', password, 'For someone without a dmarcd account yet; at least 12 characters. Leave empty for an existing account.'),
  addErrs, submit);

  mount(ctx.main, pageHead('Members', `People with access to ${state.tenant}`), errs,
    table({ caption: `Members of ${state.tenant}`, columns, rows: items, testid: 'members-table' }),
    h('div', { class: 'grid-2' },
      card('Add a member', form),
      card('Roles', h('dl', { class: 'facts' }, ROLES.slice().reverse().map((r) => [h('dt', null, r), h('dd', null, ABOUT[r])])))));
  return undefined;
}
