// failure.js - one failure report: its non-personal metadata, and, on
// request, its sample as the tenant's policy kept it.
//
// GET /failures/{id}/sample is personal data and every read is audited, so
// it is fetched only when the analyst asks ("Show the sample"). Under the
// encrypted policy it comes back as JSON (the report's addresses, headers,
// body), shown here as text; under pgp it is ciphertext only the tenant's
// key opens, offered as a file; under none there is nothing (404).

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { dateTime } from '../format.js';
import { card, facts, pageHead, notice, result, errorBox } from '../ui.js';

export async function render(ctx) {
  const id = ctx.params.id;
  let f;
  try {
    f = await api.get(`/failures/${encodeURIComponent(id)}`, null, { signal: ctx.signal });
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      mount(ctx.main, pageHead('Failure report'), notice('There is no such failure report (it may have expired or been deleted under your policy).', 'warn'),
        h('p', null, h('a', { href: '#/failures' }, 'All failure reports')));
      return;
    }
    throw err;
  }
  const back = h('a', { class: 'btn btn-quiet', href: ctx.link('failures', { domain: f.reported_domain || undefined }) }, '← Failure reports');
  const head = pageHead(`Failure report ${f.id}`, `${f.reported_domain || ''} · ${dateTime(f.arrival_date || f.created_at)}`, back);
  const meta = card('What failed',
    facts([
      ['Domain', f.reported_domain],
      ['Source IP', f.source_ip ? h('a', { href: ctx.link(`sources/${encodeURIComponent(f.source_ip)}`, { domain: f.reported_domain || '' }) }, f.source_ip) : null],
      ['Source port', f.source_port === null || f.source_port === undefined ? null : String(f.source_port)],
      ['Arrived', dateTime(f.arrival_date)],
      ['Feedback type', f.feedback_type],
      ['Failed check', f.auth_failure],
      ['Identity alignment', f.identity_alignment],
      ['Delivery', f.delivery_result ? result(f.delivery_result) : null],
      ['DKIM domain', f.dkim_domain],
      ['DKIM selector', f.dkim_selector],
      ['SPF DNS', f.spf_dns],
      ['Reported by', f.reporting_mta],
      ['User agent', f.user_agent],
      ['Incidents', f.incidents === null || f.incidents === undefined ? null : String(f.incidents)],
      ['Format', f.arf ? 'ARF (RFC 6591)' : 'not ARF'],
      ['Received', dateTime(f.created_at)],
    ]));
  const notes = Array.isArray(f.warnings) && f.warnings.length
    ? card('Notes', h('ul', null, f.warnings.map((w) => h('li', null, typeof w === 'string' ? w : JSON.stringify(w)))))
    : null;
  mount(ctx.main, head, h('div', { class: 'grid-2' }, meta, card('Message sample', sampleView(f))), notes);
}

function sampleView(f) {
  const kind = f.sample_kind || 'none';
  const out = h('div', { data: { testid: 'sample' } });
  const intro = kind === 'none' ? 'The receiver sent no part of the message; other details may be kept. '
    : kind === 'message' ? 'The receiver sent the whole message. ' : 'The receiver sent the message\'s headers. ';
  const btn = h('button', { type: 'button', class: 'btn', data: { testid: 'show-sample' } }, 'Show the sample');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const res = await api.request('GET', `/failures/${encodeURIComponent(f.id)}/sample`, { raw: true });
      const type = res.headers.get('Content-Type') || '';
      if (type.includes('json')) {
        mount(out, sampleJson(await res.json()));
      } else {
        const fpr = res.headers.get('X-PGP-Fingerprint');
        const armored = type.includes('pgp-encrypted');
        mount(out,
          h('p', null, 'This sample is encrypted to your organisation\'s OpenPGP key; dmarcd cannot read it.'),
          fpr ? h('p', null, 'Key: ', h('code', null, fpr)) : null,
          h('a', {
            class: 'btn', href: api.apiUrl(`/failures/${encodeURIComponent(f.id)}/sample`),
            download: `failure-${f.id}.${armored ? 'asc' : 'gpg'}`, data: { testid: 'pgp-download' },
          }, 'Download the encrypted sample'),
          h('p', { class: 'hint' }, `Decrypt it with your private key: gpg --decrypt failure-${f.id}.${armored ? 'asc' : 'gpg'}`));
      }
      btn.remove();
    } catch (err) {
      btn.disabled = false;
      mount(out, err.status === 404
        ? notice('No sample is kept for this report (the policy keeps metadata only, or nothing was sent).', 'info')
        : errorBox(err, 'The sample could not be read'));
    }
  });
  return [h('p', null, intro, 'Samples can hold personal data: each reading is recorded in the audit log.'), btn, out];
}

// The decrypted report: its fields as text, headers and body as blocks.
function sampleJson(j) {
  const skip = new Set(['schema', 'kind', 'sample', 'warnings']);
  const rows = [];
  for (const [k, v] of Object.entries(j || {})) {
    if (skip.has(k) || v === null || v === undefined) continue;
    rows.push([k.replace(/_/g, ' '), Array.isArray(v) ? v.map(textOf).join(', ') : textOf(v)]);
  }
  const s = j && j.sample ? j.sample : {};
  const block = (title, text, b64) => (text !== undefined || b64 !== undefined
    ? [h('h3', null, title), h('pre', { class: 'code sample', tabIndex: 0 }, text !== undefined ? String(text) : `(not text; base64)\n${b64}`)]
    : null);
  return [facts(rows),
    block('Headers', s.headers, s.headers_base64),
    block('Body', s.body, s.body_base64)];
}

function textOf(v) {
  if (v && typeof v === 'object') return v.value !== undefined ? String(v.value) : JSON.stringify(v);
  return String(v);
}
