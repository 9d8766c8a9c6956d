// hints.js - what to tell someone whose page is empty: the DNS record that
// makes receivers send reports here.

import { h } from './dom.js';
import * as api from './api.js';

let settingsCache = null;

// The address to publish in rua=, when the API tells it (GET /settings:
// rua_address or report_address); null otherwise.
export async function reportAddress() {
  if (!settingsCache) {
    settingsCache = api.get('/settings').catch(() => ({}));
  }
  const s = await settingsCache;
  return (s && (s.rua_address || s.report_address)) || null;
}

export function forgetSettings() {
  settingsCache = null;
}

// The TXT record to publish for domain, as a copyable code block.
export function dmarcRecord(domain, address, kind = 'rua') {
  const name = `_dmarc.${domain || 'example.com'}`;
  const mailto = address ? `mailto:${address}` : 'mailto:ADDRESS';
  const value = kind === 'both'
    ? `"v=DMARC1; p=none; rua=${mailto}; ruf=${mailto}; fo=1"`
    : `"v=DMARC1; p=none; rua=${mailto}"`;
  return h('div', { class: 'dns' },
    h('p', null, kind === 'both'
      ? 'Publish this DNS record (or add the rua=, ruf= and fo= tags to the one you have):'
      : 'Publish this DNS record (or add the rua= tag to the one you have):'),
    h('pre', { class: 'code', tabIndex: 0 }, `${name}. IN TXT ${value}`),
    address ? null : h('p', { class: 'hint' },
      'ADDRESS is the report address of your dmarcd service (ask your administrator; ' +
      'it is the mailbox or SMTP address dmarcd receives reports on).'),
    kind === 'both' ? null : h('p', { class: 'hint' }, 'Receivers send their first aggregate reports within a day or two.'));
}

export async function noReports(domain, what = 'reports') {
  const address = await reportAddress();
  return [h('p', null, domain
    ? `No ${what} for ${domain} in this period.`
    : `No ${what} in this period.`), dmarcRecord(domain, address)];
}
