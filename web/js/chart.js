// chart.js - time-series charts with uPlot (vendor/, see web/README.md).
//
// uPlot is loaded on first use, by a script element pointing at the
// vendored minified build (allowed by the CSP's script-src 'self'), so the
// sign-in page does not pay for it. Axes are in UTC like every date on the
// page. Each chart gets an accessible name; the views put the same numbers
// in a table next to it for keyboard and screen-reader users.

import { h } from './dom.js';

let pending = null;

export function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!pending) {
    pending = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = 'vendor/uPlot.iife.min.js';
      s.async = true;
      s.addEventListener('load', () => resolve(window.uPlot));
      s.addEventListener('error', () => {
        pending = null;
        s.remove();
        reject(new Error('the chart library did not load'));
      });
      document.head.appendChild(s);
    });
  }
  return pending;
}

// The points of a series without today's trailing empty buckets: reports
// for a day arrive the day after, so today is almost always empty so far
// and would draw as a cliff at the end of every chart.
export function withoutEmptyToday(points) {
  const today = new Date().toISOString().slice(0, 10);
  let end = points.length;
  while (end > 0 && points[end - 1].messages === 0 && String(points[end - 1].start).slice(0, 10) >= today) end -= 1;
  return points.slice(0, end);
}

export const COLORS = {
  messages: '#2563eb',
  pass: '#15803d',
  fail: '#b91c1c',
  spf: '#7c3aed',
  dkim: '#0e7490',
  quarantine: '#c2410c',
  reject: '#7f1d1d',
};

/*
 * timeChart(container, { x: [epoch s], series: [{ label, values, color,
 *   dash }], percent, label, height, hourly }) -> Promise<destroy()>
 */
export async function timeChart(container, spec) {
  const uPlot = await loadUPlot();
  const frame = h('div', { class: 'chart', role: 'img', aria: { label: spec.label } });
  container.appendChild(frame);
  const fmtY = spec.percent ? (v) => `${(v * 100).toFixed(0)}%` : (v) => (Math.abs(v) >= 1000
    ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k` : String(v));
  const width = () => Math.max(280, Math.floor(frame.clientWidth || container.clientWidth || 600));
  const opts = {
    width: width(),
    height: spec.height || 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: spec.percent ? { y: { range: [0, 1] } } : { y: { range: (u, min, max) => [0, Math.max(1, max * 1.05)] } },
    axes: [
      { stroke: '#475569', grid: { stroke: '#e2e8f0' } },
      { stroke: '#475569', grid: { stroke: '#e2e8f0' }, values: (u, vals) => vals.map(fmtY), size: 56 },
    ],
    series: [
      { label: spec.hourly ? 'Hour (UTC)' : 'Day (UTC)',
        value: (u, v) => (v == null ? '–' : new Date(v * 1000).toISOString().slice(0, spec.hourly ? 16 : 10).replace('T', ' ')) },
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        dash: s.dash,
        points: { show: spec.x.length <= 45 },
        value: (u, v) => (v == null ? '–' : spec.percent ? `${(v * 100).toFixed(1)}%` : v.toLocaleString('en')),
      })),
    ],
  };
  const plot = new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)], frame);
  const ro = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: opts.height });
  });
  ro.observe(container);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}
