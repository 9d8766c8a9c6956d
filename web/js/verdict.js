// verdict.js - the plain-language verdict on the overview: what fails, and
// whether the domain's DMARC policy can safely move one step stricter
// (none -> quarantine -> reject).
//
// Pure (no DOM, no fetch) so node can test it (tests/web/static.test.js),
// and the rule the page prints under the verdict is built from the same
// RULE constants the decision uses, so the two cannot drift apart.
//
// The rule. Over the chosen period, for one domain:
//   - a "main source" is a sending IP with at least RULE.share of the
//     domain's messages: the senders a stricter policy must not hurt;
//   - a source "fails DKIM alignment" when fewer than RULE.aligned of its
//     messages carry a DKIM pass aligned with the header-from domain;
//     likewise for SPF, and for DMARC as a whole;
//   - the next step is safe when there are reports on at least
//     RULE.minDays days and RULE.minMessages messages, the domain's DMARC
//     pass rate is at least RULE.quarantineRate (to quarantine) or
//     RULE.rejectRate (to reject), and every main source passes DMARC for
//     at least RULE.sourceRate of its messages.
// The other, small sources are typically forwarders and spoofers: the
// policy exists to act on them, so they do not block a step; they are
// counted. The headline counts main sources, so it stays meaningful for a
// domain spoofed from thousands of addresses.

export const RULE = Object.freeze({
  aligned: 0.98,
  share: 0.01,
  minDays: 7,
  minMessages: 100,
  quarantineRate: 0.98,
  rejectRate: 0.995,
  sourceRate: 0.98,
});

const NEXT = { none: 'quarantine', quarantine: 'reject' };

function pctText(rate) {
  return `${(rate * 100).toFixed(1)}%`;
}

function pctRule(rate) {
  const p = rate * 100;
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

function countText(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// The rule as sentences, for the page.
export function ruleText() {
  return [
    `A main source is a sending IP address with at least ${pctRule(RULE.share)} of the ` +
      "domain's messages.",
    `A source fails DKIM (or SPF) alignment when fewer than ${pctRule(RULE.aligned)} of its ` +
      'messages pass DKIM (or SPF) aligned with the From: domain.',
    `Moving to quarantine is safe when the period has reports on at least ${RULE.minDays} days ` +
      `and ${RULE.minMessages} messages, at least ${pctRule(RULE.quarantineRate)} of messages ` +
      `pass DMARC, and every main source passes DMARC for at least ` +
      `${pctRule(RULE.sourceRate)} of its messages.`,
    `Moving from quarantine to reject needs the same with ${pctRule(RULE.rejectRate)} of ` +
      'messages passing DMARC.',
    'Small failing sources (forwarders, spoofers) do not block a step: stopping them is what ' +
      'the policy is for.',
  ];
}

function rateOf(part, whole) {
  return whole > 0 ? part / whole : 1;
}

/*
 * verdict({ overview, sources, sourcesComplete, daysWithData, policy, allDomains })
 *   overview: GET /overview's JSON; sources: GET /sources items (sorted by
 *   volume; sourcesComplete false when more pages exist: main sources are
 *   always on the first page, so only the small-source counts are then
 *   lower bounds); daysWithData: days of the period with at least one
 *   message; policy: the published p= of the newest report ("none" |
 *   "quarantine" | "reject" | null); allDomains: the numbers are of every
 *   domain together, so no policy step is judged.
 * -> { summary, level: "good"|"warn"|"bad"|"none", safe: true|false|null,
 *      next: "quarantine"|"reject"|null, facts: [..], blockers: [..],
 *      main: { count, dkimFail, spfFail, dmarcFail: [ip..] } }
 */
export function verdict(input) {
  const o = input.overview || {};
  const sources = input.sources || [];
  const total = Number(o.messages) || 0;
  const at = input.sourcesComplete === false ? 'at least ' : '';
  const policy = input.policy || null;
  if (!total) {
    return {
      summary: 'No reports for this period yet.',
      level: 'none', safe: null, next: null, facts: [], blockers: [],
      main: { count: 0, dkimFail: 0, spfFail: 0, dmarcFail: [] },
    };
  }
  const main = { count: 0, messages: 0, dkimFail: 0, spfFail: 0, dmarcFail: [] };
  const small = { count: 0, messages: 0, failing: 0, failingMessages: 0 };
  for (const s of sources) {
    const m = Number(s.messages) || 0;
    if (!m) continue;
    const pass = Number(s.dmarc_pass) || 0;
    const dmarcOk = rateOf(pass, m);
    if (m / total >= RULE.share) {
      main.count += 1;
      main.messages += m;
      if (rateOf(Number(s.dkim_aligned_pass) || 0, m) < RULE.aligned) main.dkimFail += 1;
      if (rateOf(Number(s.spf_aligned_pass) || 0, m) < RULE.aligned) main.spfFail += 1;
      if (dmarcOk < RULE.sourceRate) main.dmarcFail.push({ ip: s.ip, rate: dmarcOk });
    } else {
      small.count += 1;
      small.messages += m;
      if (dmarcOk < RULE.sourceRate) {
        small.failing += 1;
        small.failingMessages += m - pass;
      }
    }
  }
  const passRate = rateOf(Number(o.dmarc_pass) || 0, total);
  const facts = [
    `${pctText(passRate)} of ${total.toLocaleString('en')} messages passed DMARC.`,
    `${countText(main.count, 'main source', 'main sources')} (each at least ${pctRule(RULE.share)} ` +
      `of the mail) sent ${pctText(main.messages / total)} of it: ` +
      `${main.dkimFail} ${main.dkimFail === 1 ? 'fails' : 'fail'} DKIM alignment, ` +
      `${main.spfFail} ${main.spfFail === 1 ? 'fails' : 'fail'} SPF alignment.`,
  ];
  if (main.dmarcFail.length) {
    facts.push(`Main sources failing DMARC: ${main.dmarcFail.map((s) => `${s.ip} (${pctText(s.rate)} pass)`).join(', ')}.`);
  }
  if (small.count) {
    facts.push(`${at}${countText(small.count, 'other source', 'other sources')} sent ` +
      `${pctText(small.messages / total)} of the mail; ${at}${small.failing} of them fail DMARC ` +
      `(${small.failingMessages.toLocaleString('en')} messages): usually forwarding or spoofing.`);
  }

  // Policy advice is per domain: over all domains there is no next step.
  const allDomains = input.allDomains === true;
  const next = allDomains || policy === 'reject' ? null : NEXT[policy] || 'quarantine';
  const blockers = [];
  if (next) {
    const need = next === 'reject' ? RULE.rejectRate : RULE.quarantineRate;
    const days = Number(input.daysWithData) || 0;
    if (days < RULE.minDays) {
      blockers.push(`reports on only ${countText(days, 'day', 'days')}: wait for ${RULE.minDays}`);
    }
    if (total < RULE.minMessages) {
      blockers.push(`only ${countText(total, 'message', 'messages')} reported: ` +
        `wait for ${RULE.minMessages}`);
    }
    if (passRate < need) {
      blockers.push(`DMARC pass rate ${pctText(passRate)} is below ${pctRule(need)}`);
    }
    if (main.dmarcFail.length) {
      blockers.push(`${countText(main.dmarcFail.length, 'main source', 'main sources')} would ` +
        'lose mail: fix SPF or DKIM for ' +
        main.dmarcFail.slice(0, 3).map((s) => s.ip).join(', ') +
        (main.dmarcFail.length > 3 ? ' and others' : ''));
    }
  }
  const safe = next ? blockers.length === 0 : null;
  const head = `${countText(main.dkimFail, 'main source fails', 'main sources fail')} DKIM alignment`;
  let summary;
  let level;
  if (allDomains) {
    summary = `${head}.`;
    level = main.dmarcFail.length || passRate < RULE.quarantineRate ? 'warn' : 'good';
  } else if (!next) {
    summary = `${head}; the policy is already p=reject.`;
    level = main.dmarcFail.length ? 'warn' : 'good';
  } else {
    summary = `${head}; safe to move to ${next}: ${safe ? 'yes' : 'no'}`;
    level = safe ? 'good' : main.dmarcFail.length || passRate < RULE.quarantineRate ? 'bad' : 'warn';
  }
  return {
    summary, level, safe, next, facts, blockers,
    main: { count: main.count, dkimFail: main.dkimFail, spfFail: main.spfFail, dmarcFail: main.dmarcFail.map((s) => s.ip) },
  };
}
