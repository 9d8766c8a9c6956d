// settings.js - the tenant's settings: its tier and what that means for
// retention, and the failure-report (forensic) policy: how samples are
// kept, the OpenPGP public key the pgp policy encrypts to (uploaded here),
// the format of those files, and how personal text in the clear metadata
// is masked. Admins and owners change them; others read them.

import { h, mount, uid } from '../dom.js';
import * as api from '../api.js';
import { can, state } from '../session.js';
import { dateTime, bytes } from '../format.js';
import { pageHead, card, facts, busy, notice, badge, select, field } from '../ui.js';
import { forgetSettings } from '../hints.js';

// DESIGN.md "Retention": tier horizons (the operator may configure others).
const RETENTION = {
  basic: '3 months',
  'basic-plus': '3 months',
  advanced: '12 months',
  enterprise: '2 years',
};

const POLICIES = [
  ['encrypted', 'Encrypted (recommended)', 'Failure reports are stored encrypted with a key of your tenant\'s; dmarcd decrypts them only for analysts, admins and owners.'],
  ['pgp', 'Encrypted to your OpenPGP key', 'Each report is encrypted to the public key you upload. dmarcd can no longer read it: analysts download the encrypted file and decrypt it themselves.'],
  ['none', 'Metadata only', 'Only non-personal details (source IP, domain, result) are kept; the message sample and addresses are discarded.'],
  ['none-drop', 'Keep nothing', 'Failure reports are discarded on arrival.'],
];

const REDACTIONS = [
  ['mask', 'Masked (***)'],
  ['hash', 'Hashed (same value, same code)'],
  ['off', 'Shown as received'],
];

const KEY_MAX = 1024 * 1024;

export async function render(ctx) {
  const s = await api.get('/settings', null, { signal: ctx.signal });
  const admin = can('admin');
  const tier = s.tier || 'basic';
  const key = s.pgp_key && typeof s.pgp_key === 'object' ? s.pgp_key : null;
  const about = card('Tenant',
    facts([
      ['Name', s.tenant || state.tenant],
      ['Tier', h('span', { data: { testid: 'tier' } }, tier)],
      ['Reports are kept for', h('span', { data: { testid: 'retention' } }, s.retention || RETENTION[tier] || 'as your contract says')],
      ['Status', s.status === 'active' ? 'active' : badge(s.status || 'unknown', 'warn')],
      ['Created', dateTime(s.created_at)],
      ['Your role', state.role],
    ]),
    h('p', { class: 'hint' }, 'The tier is set by the platform operator. Older reports are deleted automatically once past the retention period.'));

  const errs = h('div');
  const current = s.forensic_policy || 'encrypted';
  const name = uid('policy');
  const radios = POLICIES.map(([value, label, text]) => {
    const id = `${name}-${value}`;
    const input = h('input', { type: 'radio', name, id, value, checked: value === current, disabled: !admin });
    return h('div', { class: 'radio' }, input,
      h('label', { for: id }, h('strong', null, label), h('span', { class: 'radio-text' }, text)));
  });
  const chosen = () => radios.map((r) => r.querySelector('input')).find((i) => i.checked);

  const keyText = h('textarea', { id: 'pgp-key', rows: 6, class: 'mono', placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----', disabled: !admin });
  const keyFile = h('input', { type: 'file', id: 'pgp-file', accept: '.asc,.gpg,.pgp,.txt,application/pgp-keys,text/plain', disabled: !admin });
  keyFile.addEventListener('change', () => {
    const f = keyFile.files && keyFile.files[0];
    if (!f) return;
    if (f.size > KEY_MAX) {
      errs.replaceChildren(notice(`That file is ${bytes(f.size)}; a public key is far smaller (at most 1 MB).`, 'error'));
      return;
    }
    f.text().then((t) => { keyText.value = t; });
  });
  const format = select([['armor', 'ASCII armor (.asc, readable text)'], ['binary', 'Binary (.gpg, smaller)']],
    key && key.format === 'binary' ? 'binary' : 'armor', { id: 'pgp-format', disabled: !admin });
  const keyBox = h('fieldset', { class: 'pgp' },
    h('legend', null, 'OpenPGP public key'),
    key
      ? facts([
        ['Key in use', h('code', { data: { testid: 'pgp-fingerprint' } }, key.fingerprint)],
        ['Expires', key.expires_at ? dateTime(key.expires_at) : 'never'],
      ])
      : h('p', { class: 'muted' }, 'No key uploaded yet.'),
    h('div', { class: 'field' }, h('label', { for: 'pgp-file' }, key ? 'Replace it: upload an ASCII-armored key file' : 'Upload an ASCII-armored key file'), keyFile),
    h('div', { class: 'field' }, h('label', { for: 'pgp-key' }, 'or paste it'), keyText),
    field('Encrypted files as', format),
    h('p', { class: 'hint' }, 'Only the public key: one key that can encrypt, not expired or revoked. dmarcd never needs your private key.'));
  const showKey = () => {
    const sel = chosen();
    keyBox.hidden = !(sel && sel.value === 'pgp');
  };
  for (const r of radios) r.querySelector('input').addEventListener('change', showKey);
  showKey();

  const redaction = select(REDACTIONS, s.forensic_redaction || 'mask', { id: 'redaction', disabled: !admin });

  const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: !admin }, 'Save policy');
  const form = h('form', { class: 'stack-form', on: { submit: async (e) => {
    e.preventDefault();
    const sel = chosen();
    if (!sel) return;
    const body = { forensic_policy: sel.value, forensic_redaction: redaction.value };
    if (sel.value === 'pgp') {
      if (keyText.value.trim()) body.pgp_key = keyText.value;
      else if (!key) {
        errs.replaceChildren(notice('Upload or paste your OpenPGP public key first.', 'error'));
        keyFile.focus();
        return;
      }
      body.pgp_format = format.value;
    }
    if (sel.value === 'none-drop' && current !== 'none-drop' &&
        !window.confirm('Keep nothing: failure reports will be discarded on arrival. Go on?')) return;
    await busy(save, errs, async () => {
      const updated = await api.put('/settings', body);
      forgetSettings();
      ctx.announce(`Failure-report policy is now ${updated.forensic_policy}`);
      await render(ctx);
      ctx.main.querySelector('[data-testid="saved"]')?.focus();
    });
  } } },
  h('fieldset', null, h('legend', null, 'Failure reports (ruf=) may hold personal data. Keep them:'), radios),
  keyBox,
  field('Personal text in notes and part names', redaction,
    'Quoted values and addresses in the clear metadata every policy keeps (warnings, part names): hidden, replaced by a code unique to your tenant, or left as they are.'),
  errs,
  admin ? save : h('p', { class: 'muted' }, 'Admins and owners change these settings.'),
  h('p', { class: 'hint' }, 'Changes apply to reports stored from now on.'));
  const saved = h('p', { class: 'saved', tabIndex: -1, data: { testid: 'saved' } }, `Current policy: ${current}`);
  mount(ctx.main, pageHead('Settings', `Settings of ${s.tenant || state.tenant}`),
    h('div', { class: 'grid-2' }, about, card('Failure-report policy', saved, form)));
}
