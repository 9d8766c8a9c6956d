// overview.js - one domain (or all) over one period: the verdict, headline
// rates, dispositions, the daily trend and the sources that fail most.
//
// Four requests leave at once; the figures show as soon as GET /overview
// answers, and each other part fills its own card when its answer comes
// (or says why it could not), so one slow or failing query never blanks
// the page.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { state } from '../session.js';
import { num, pct, ratio, epoch, compact, plural } from '../format.js';
import { card, empty, pageHead, stat, errorBox, loading } from '../ui.js';
import { verdict, ruleText } from '../verdict.js';
import { timeChart, COLORS, loadUPlot, withoutEmptyToday } from '../chart.js';
import { noReports, dmarcRecord, reportAddress } from '../hints.js';

// Sources read for the verdict: the busiest first. A main source has at
// least 1% of the mail, so there are at most 100 and all are in this page;
// only the count of small sources can be short (it then says "at least").
const SOURCES = 200;

export async function render(ctx) {
  const { scope, signal } = ctx;
  const domains = state.domains || [];
  if (!domains.length && !scope.domain) {
    const addr = await reportAddress();
    mount(ctx.main, pageHead('Overview'), empty('No domains yet',
      'dmarcd shows reports for the domains your organisation registers.',
      h('p', null, h('a', { href: '#/domains' }, 'Add your first domain'), ', then:'),
      dmarcRecord(null, addr)));
    return;
  }
  const q = { domain: scope.domain || undefined, from: scope.from, to: scope.to };
  loadUPlot().catch(() => {});
  const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));
  const overviewP = api.get('/overview', q, { signal });
  const seriesP = settle(api.get('/timeseries', { ...q, bucket: 'day' }, { signal }));
  const sourcesP = settle(api.get('/sources', { ...q, limit: SOURCES }, { signal }));
  const latestP = scope.domain
    ? settle(api.get('/reports', { domain: scope.domain, limit: 1 }, { signal })) : Promise.resolve({ value: null });
  const overview = await overviewP;
  const where = scope.domain || 'all domains';
  const head = pageHead('Overview', `${where} · ${scope.label} (${scope.from} to ${scope.to}, UTC)`);
  if (!overview.messages) {
    mount(ctx.main, head, empty('No reports in this period', ...(await noReports(scope.domain))));
    return;
  }

  const verdictCard = h('section', { class: ['card', 'verdict'], aria: { labelledby: 'verdict-h', busy: 'true' }, data: { testid: 'verdict' } },
    h('h2', { id: 'verdict-h' }, 'Verdict'), loading('Weighing the sources…'));
  const failBody = h('div', null, loading());
  const failCard = card('Sources failing DMARC most', failBody,
    h('p', null, h('a', { href: ctx.scopeLink('sources') }, 'All sources')));
  const chartHolder = h('div', { class: 'chart-holder' }, loading());
  const trendCard = card('Daily trend', chartHolder,
    h('p', null, h('a', { href: ctx.scopeLink('trends') }, 'Trends: rates, hourly view and the numbers as a table')));
  mount(ctx.main, head, verdictCard, figures(overview),
    h('div', { class: 'grid-2' }, dispositions(overview), failCard), trendCard);
  performance.mark('dmarcd:overview:figures');

  const [series, sources, latest] = await Promise.all([seriesP, sourcesP, latestP]);
  if (ctx.aborted()) return;
  const points = series.value ? series.value.items || [] : null;
  fillFailing(ctx, failBody, sources);
  fillVerdict(verdictCard, overview, points, sources, latest, scope);
  if (!points) {
    mount(chartHolder, errorBox(series.error, 'The trend did not load'));
    return;
  }
  const plotted = withoutEmptyToday(points);
  try {
    chartHolder.replaceChildren();
    const destroy = await timeChart(chartHolder, {
      label: `Messages per day for ${where}: total, DMARC pass and DMARC fail`,
      x: plotted.map((p) => epoch(p.start)),
      series: [
        { label: 'Messages', values: plotted.map((p) => p.messages), color: COLORS.messages },
        { label: 'DMARC pass', values: plotted.map((p) => p.dmarc_pass), color: COLORS.pass },
        { label: 'DMARC fail', values: plotted.map((p) => p.messages - p.dmarc_pass), color: COLORS.fail },
      ],
    });
    if (ctx.aborted()) destroy();
    else ctx.onCleanup(destroy);
  } catch (err) {
    if (!ctx.aborted()) chartHolder.appendChild(errorBox(err, 'No chart'));
  }
}

function figures(o) {
  return h('div', { class: 'stats' },
    stat('Messages', compact(o.messages), { metric: 'messages', raw: o.messages, hint: `${num(o.messages)} in ${plural(o.reports, 'report', 'reports')}` }),
    stat('DMARC pass', pct(o.dmarc_pass_rate), {
      metric: 'dmarc_pass_rate', raw: o.dmarc_pass_rate,
      hint: `${num(o.dmarc_pass)} passed, ${num(o.dmarc_fail)} failed`,
      level: o.dmarc_pass_rate >= 0.98 ? 'good' : o.dmarc_pass_rate >= 0.9 ? 'warn' : 'bad',
    }),
    stat('SPF aligned', pct(o.spf_aligned_rate), { metric: 'spf_aligned_rate', raw: o.spf_aligned_rate, hint: `${num(o.spf_aligned_pass)} messages` }),
    stat('DKIM aligned', pct(o.dkim_aligned_rate), { metric: 'dkim_aligned_rate', raw: o.dkim_aligned_rate, hint: `${num(o.dkim_aligned_pass)} messages` }),
    stat('Sources', num(o.sources), { metric: 'sources', raw: o.sources, hint: 'sending IP addresses' }),
    stat('Reporters', num(o.reporters), { metric: 'reporters', raw: o.reporters, hint: plural(o.reports, 'report', 'reports') }));
}

function dispositions(o) {
  const d = o.dispositions || {};
  const rows = [['none', 'Delivered (none)'], ['quarantine', 'Quarantined'], ['reject', 'Rejected'], ['pass', 'Pass'], ['unknown', 'Unknown']]
    .filter(([k]) => k === 'none' || k === 'quarantine' || k === 'reject' || d[k]);
  const bar = h('div', { class: 'dispbar', aria: { hidden: 'true' } });
  const list = h('ul', { class: 'displist' });
  for (const [k, label] of rows) {
    const n = Number(d[k]) || 0;
    const share = ratio(n, o.messages) || 0;
    const seg = h('span', { class: `seg seg-${k}` });
    seg.style.width = `${(share * 100).toFixed(2)}%`;
    bar.appendChild(seg);
    list.appendChild(h('li', { data: { metric: `disp-${k}`, value: n } },
      h('span', { class: `swatch seg-${k}`, aria: { hidden: 'true' } }), `${label}: `, h('strong', null, num(n)), ` (${pct(share)})`));
  }
  return card('What receivers did', bar, list,
    h('p', { class: 'hint' }, 'The disposition receivers applied, after your policy and their local rules.'));
}

function fillFailing(ctx, body, sources) {
  if (sources.error) {
    mount(body, errorBox(sources.error, 'Sources did not load'));
    return;
  }
  const failing = (sources.value.items || []).filter((s) => s.dmarc_fail > 0)
    .sort((a, b) => b.dmarc_fail - a.dmarc_fail).slice(0, 5);
  mount(body, failing.length
    ? h('ol', { class: 'toplist' }, failing.map((s) => h('li', null,
      h('a', { href: ctx.scopeLink(`sources/${encodeURIComponent(s.ip)}`) }, s.ip),
      ` — ${num(s.dmarc_fail)} of ${num(s.messages)} failed`,
      s.header_from && s.header_from.length ? h('span', { class: 'muted' }, ` (From: ${s.header_from.slice(0, 3).join(', ')})`) : null)))
    : h('p', null, 'No source failed DMARC in this period.'),
  sources.value.next_cursor ? h('p', { class: 'hint' }, `Among the ${SOURCES} busiest sources.`) : null);
}

function fillVerdict(el, overview, points, sources, latest, scope) {
  el.removeAttribute('aria-busy');
  const title = el.querySelector('h2');
  if (!points || sources.error) {
    mount(el, title, errorBox(sources.error || new Error('the daily numbers did not load'), 'No verdict'));
    return;
  }
  const items = latest.value && latest.value.items;
  const policy = items && items[0] ? items[0].policy_p : null;
  const v = verdict({
    overview, sources: sources.value.items, sourcesComplete: !sources.value.next_cursor,
    daysWithData: points.filter((p) => p.messages > 0).length, policy, allDomains: !scope.domain,
  });
  el.classList.add(`verdict-${v.level}`);
  mount(el, title,
    h('p', { class: 'verdict-summary', data: { testid: 'verdict-summary' } }, v.summary),
    scope.domain
      ? h('p', { class: 'hint' }, policy ? `Published policy in the latest report: p=${policy}.` : 'No published policy seen yet.')
      : h('p', { class: 'hint' }, 'All domains together: choose one domain for its own policy advice.'),
    h('ul', { class: 'verdict-facts' }, v.facts.map((f) => h('li', null, f))),
    v.blockers.length
      ? [h('h3', null, `Before moving to ${v.next}`), h('ul', { class: 'verdict-blockers' }, v.blockers.map((b) => h('li', null, b)))]
      : null,
    h('details', { class: 'rule' }, h('summary', null, 'How this verdict is reached'),
      h('ul', null, ruleText().map((t) => h('li', null, t)))),
    sources.value.next_cursor
      ? h('p', { class: 'hint' }, `Small sources are counted among the ${SOURCES} busiest.`) : null);
}

