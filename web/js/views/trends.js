// trends.js - the time series: volume, pass and alignment rates and what
// receivers did, per day or per hour, with the numbers as a table too.

import { h, mount } from '../dom.js';
import * as api from '../api.js';
import { num, pct, ratio, epoch } from '../format.js';
import { card, pageHead, table, empty, errorBox, notice } from '../ui.js';
import { timeChart, COLORS, loadUPlot, withoutEmptyToday } from '../chart.js';
import { noReports } from '../hints.js';

export async function render(ctx) {
  const { scope, signal } = ctx;
  const bucket = ctx.query.get('bucket') === 'hour' ? 'hour' : 'day';
  const where = scope.domain || 'all domains';
  loadUPlot().catch(() => {});
  const hourly = bucket === 'hour';
  const bucketSel = h('div', { class: 'segmented', role: 'group', aria: { label: 'Bucket size' } },
    ['day', 'hour'].map((b) => h('a', {
      class: ['btn', b === bucket ? 'btn-on' : 'btn-quiet'],
      href: ctx.scopeLink('trends', { bucket: b === 'day' ? undefined : b }),
      aria: { current: b === bucket ? 'true' : null },
    }, b === 'day' ? 'Per day' : 'Per hour')));
  const head = pageHead('Trends', `${where} · ${scope.label}`, bucketSel);
  let ts;
  try {
    ts = await api.get('/timeseries', {
      domain: scope.domain || undefined, from: scope.from, to: scope.to, bucket,
    }, { signal });
  } catch (err) {
    if (err.status !== 400) throw err;
    // e.g. hour buckets over a long range: say so, offer what works
    mount(ctx.main, head, notice(err.message, 'warn'), h('p', null,
      h('a', { href: ctx.link('trends', { domain: scope.domain, days: 7, bucket: hourly ? 'hour' : undefined }) }, 'The last 7 days'),
      hourly ? [' or ', h('a', { href: ctx.scopeLink('trends') }, 'per day')] : null));
    return;
  }
  const points = ts.items || [];

  const total = points.reduce((a, p) => a + p.messages, 0);
  if (!total) {
    mount(ctx.main, head, empty('No reports in this period', ...(await noReports(scope.domain))));
    return;
  }
  const plotted = withoutEmptyToday(points);
  const x = plotted.map((p) => epoch(p.start));
  const volume = h('div', { class: 'chart-holder' });
  const rates = h('div', { class: 'chart-holder' });
  const disp = h('div', { class: 'chart-holder' });
  const rows = points.map((p) => ({ ...p }));
  const dataTable = table({
    caption: `Per ${bucket}, ${where}`,
    columns: [
      { key: 'start', label: hourly ? 'Hour (UTC)' : 'Day (UTC)', cell: (r) => (hourly ? r.start.replace('T', ' ').slice(0, 16) : r.start) },
      { key: 'messages', label: 'Messages', num: true },
      { key: 'dmarc_pass', label: 'DMARC pass', num: true },
      { key: 'rate', label: 'Pass rate', num: true, cell: (r) => pct(ratio(r.dmarc_pass, r.messages)) },
      { key: 'spf', label: 'SPF aligned', num: true, cell: (r) => pct(ratio(r.spf_aligned_pass, r.messages)) },
      { key: 'dkim', label: 'DKIM aligned', num: true, cell: (r) => pct(ratio(r.dkim_aligned_pass, r.messages)) },
      { key: 'quarantine', label: 'Quarantined', num: true },
      { key: 'reject', label: 'Rejected', num: true },
    ],
    rows: rows.filter((r) => !hourly || r.messages > 0),
    testid: 'trend-table',
  });
  mount(ctx.main, head,
    card('Messages', volume),
    card('Pass and alignment rates', rates, h('p', { class: 'hint' }, `Gaps are ${bucket}s without reports.`)),
    card('Quarantined and rejected', disp),
    h('details', { class: 'card data-details' }, h('summary', null, `The numbers per ${bucket}`),
      h('p', { class: 'muted' }, `${num(total)} messages.`), dataTable));

  const specs = [
    [volume, {
      label: `Messages per ${bucket} for ${where}`, hourly, x,
      series: [
        { label: 'Messages', values: plotted.map((p) => p.messages), color: COLORS.messages },
        { label: 'DMARC pass', values: plotted.map((p) => p.dmarc_pass), color: COLORS.pass },
        { label: 'DMARC fail', values: plotted.map((p) => p.messages - p.dmarc_pass), color: COLORS.fail },
      ],
    }],
    [rates, {
      label: `DMARC pass, SPF and DKIM aligned rates per ${bucket} for ${where}`, hourly, x, percent: true,
      series: [
        { label: 'DMARC pass', values: plotted.map((p) => ratio(p.dmarc_pass, p.messages)), color: COLORS.pass },
        { label: 'SPF aligned', values: plotted.map((p) => ratio(p.spf_aligned_pass, p.messages)), color: COLORS.spf, dash: [6, 4] },
        { label: 'DKIM aligned', values: plotted.map((p) => ratio(p.dkim_aligned_pass, p.messages)), color: COLORS.dkim, dash: [2, 3] },
      ],
    }],
    [disp, {
      label: `Quarantined and rejected messages per ${bucket} for ${where}`, hourly, x, height: 200,
      series: [
        { label: 'Quarantined', values: plotted.map((p) => p.quarantine), color: COLORS.quarantine },
        { label: 'Rejected', values: plotted.map((p) => p.reject), color: COLORS.reject },
      ],
    }],
  ];
  for (const [el, spec] of specs) {
    try {
      const destroy = await timeChart(el, spec);
      if (ctx.aborted()) destroy();
      else ctx.onCleanup(destroy);
    } catch (err) {
      if (!ctx.aborted()) el.appendChild(errorBox(err, 'No chart'));
    }
  }
}
