// signin.js - the sign-in form: e-mail and password, then the one-time
// code when the API says the account has a second factor.

import { h, mount } from '../dom.js';
import * as session from '../session.js';
import { errorBox, field, notice } from '../ui.js';

// Error codes with which POST /session asks for the TOTP code.
const NEEDS_CODE = new Set(['totp_required', 'second_factor_required', 'mfa_required']);

function wantsCode(err) {
  return NEEDS_CODE.has(err.code) || Boolean(err.body && err.body.error && err.body.error.totp_required);
}

export async function render(ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const totp = h('input', {
    type: 'text', name: 'totp', autocomplete: 'one-time-code', inputMode: 'numeric',
    pattern: '[0-9]{6,8}', maxLength: 8,
  });
  const totpField = field('One-time code', totp, 'The 6-digit code from your authenticator app.');
  totpField.hidden = true;
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'signin-form', aria: { labelledby: 'page-title' }, on: { submit: onSubmit } },
    field('E-mail address', email),
    field('Password', password),
    totpField,
    errors,
    submit);

  const q = ctx.query;
  let banner = null;
  if (q.get('expired')) banner = notice('Your session has ended. Sign in again to go on.', 'warn');
  else if (q.get('bye')) banner = notice('You are signed out.', 'info');

  mount(ctx.main, h('div', { class: 'signin' },
    h('div', { class: 'signin-brand' }, h('span', { class: 'brand-mark', aria: { hidden: 'true' } }, 'd'), 'dmarcd'),
    h('h1', { tabIndex: -1, id: 'page-title' }, 'Sign in'),
    h('p', { class: 'intro' }, 'DMARC, SPF, DKIM and TLS reports for your domains.'),
    banner, form));
  email.focus();

  async function onSubmit(e) {
    e.preventDefault();
    errors.replaceChildren();
    if (!email.value || !password.value) {
      errors.appendChild(notice('Enter your e-mail address and password.', 'error'));
      (email.value ? password : email).focus();
      return;
    }
    if (!totpField.hidden && !/^[0-9]{6,8}$/.test(totp.value.trim())) {
      errors.appendChild(notice('Enter the code your authenticator app shows (6 digits).', 'error'));
      totp.focus();
      return;
    }
    submit.disabled = true;
    try {
      await session.signIn(email.value.trim(), password.value, totpField.hidden ? null : totp.value.trim());
      password.value = '';
      const next = q.get('next');
      location.hash = next && !next.startsWith('signin') ? `#/${next}` : '#/overview';
    } catch (err) {
      if (wantsCode(err)) {
        const first = totpField.hidden;
        totpField.hidden = false;
        if (!first) errors.appendChild(errorBox(err, 'Not signed in'));
        else errors.appendChild(notice('This account has a second factor: enter the one-time code.', 'info'));
        totp.focus();
      } else {
        errors.appendChild(errorBox(err, 'Not signed in'));
        password.select();
        password.focus();
      }
    } finally {
      submit.disabled = false;
    }
  }
}
