// static.mjs SOURCE_ROOT - checks of web/ that need no browser (ctest
// web.static): what the CSP and the escaping rule forbid, module imports
// that resolve, the vendored uPlot against package-lock.json, the size
// budget, and unit tests of the pure modules (verdict, format, safeHref).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(process.argv[2] || join(dirname(new URL(import.meta.url).pathname), '../..'));
const web = join(root, 'web');
const BUDGET_GZIP = 300 * 1024;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const files = walk(web);
const ownJs = files.filter((f) => f.startsWith(join(web, 'js')) && f.endsWith('.js'));
const shipped = files.filter((f) => /\.(js|css)$/.test(f) && !f.endsWith('vendor.sh'));

test('no HTML is built from strings, no eval, no inline styles in web/js', () => {
  const banned = [
    [/\.innerHTML\b/, 'innerHTML'],
    [/\.outerHTML\b/, 'outerHTML'],
    [/insertAdjacentHTML/, 'insertAdjacentHTML'],
    [/document\.write/, 'document.write'],
    [/\beval\s*\(/, 'eval'],
    [/new\s+Function\s*\(/, 'new Function'],
    [/createContextualFragment/, 'createContextualFragment'],
    [/DOMParser/, 'DOMParser'],
    [/setAttribute\(\s*['"](on\w+|style|srcdoc)['"]/, 'setAttribute of an event handler, style or srcdoc'],
    [/\.cssText\b/, 'cssText'],
  ];
  const problems = [];
  for (const f of ownJs) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments may name what is banned
      for (const [re, what] of banned) {
        if (re.test(line)) problems.push(`${relative(root, f)}:${i + 1}: ${what}`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

test('index.html has no inline script, style or event handler, and its files exist', () => {
  const html = readFileSync(join(web, 'index.html'), 'utf8');
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'a <script> without src');
  assert.ok(!/<style\b/i.test(html), 'a <style> element');
  assert.ok(!/\sstyle\s*=/i.test(html), 'a style= attribute');
  assert.ok(!/\son[a-z]+\s*=/i.test(html), 'an on...= handler attribute');
  assert.match(html, /http-equiv="Content-Security-Policy"[^>]*script-src 'self'/);
  for (const m of html.matchAll(/\s(?:src|href)="([^"#][^"]*)"/g)) {
    assert.ok(existsSync(join(web, m[1])), `index.html names ${m[1]}, which does not exist`);
  }
});

test('every module parses and every import resolves', () => {
  for (const f of ownJs) {
    execFileSync(process.execPath, ['--check', f], { stdio: 'pipe' });
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      assert.ok(spec.startsWith('./') || spec.startsWith('../'), `${relative(root, f)}: bare import ${spec}`);
      assert.ok(existsSync(resolve(dirname(f), spec)), `${relative(root, f)}: ${spec} does not exist`);
    }
  }
  // The chart library is loaded by path from chart.js, relative to index.html.
  const chart = readFileSync(join(web, 'js/chart.js'), 'utf8');
  const m = /s\.src = '([^']+)'/.exec(chart);
  assert.ok(m && existsSync(join(web, m[1])), 'chart.js loads a file that is not in web/');
});

test('vendor/ holds the uPlot of package-lock.json, with its licence', () => {
  const lock = JSON.parse(readFileSync(join(web, 'package-lock.json'), 'utf8'));
  const version = lock.packages['node_modules/uplot'].version;
  assert.match(readFileSync(join(web, 'vendor/VERSION'), 'utf8'), new RegExp(`^uPlot ${version.replace(/\./g, '\\.')} `));
  assert.ok(readFileSync(join(web, 'vendor/uPlot.iife.min.js'), 'utf8').startsWith(`/*! https://github.com/leeoniya/uPlot (v${version}) */`));
  assert.match(readFileSync(join(web, 'vendor/uPlot.LICENSE'), 'utf8'), /MIT License|Permission is hereby granted/);
});

test(`shipped JS+CSS stays under ${BUDGET_GZIP / 1024} KB gzip`, () => {
  let raw = 0;
  let gz = 0;
  for (const f of shipped) {
    const b = readFileSync(f);
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  console.log(`web: ${shipped.length} JS/CSS files, ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzip`);
  assert.ok(gz < BUDGET_GZIP, `${gz} bytes gzip`);
});

const mod = (p) => import(pathToFileURL(join(web, p)).href);

test('verdict: the rule on hand-made numbers', async () => {
  const { verdict, RULE } = await mod('js/verdict.js');
  const src = (ip, messages, pass, spf, dkim) => ({ ip, messages, dmarc_pass: pass, spf_aligned_pass: spf, dkim_aligned_pass: dkim });
  // A clean domain at p=none: safe to quarantine.
  let v = verdict({
    overview: { messages: 10000, dmarc_pass: 9950 },
    sources: [src('a', 8000, 8000, 8000, 8000), src('b', 1950, 1950, 1950, 1900), src('c', 50, 0, 0, 0)],
    sourcesComplete: true, daysWithData: 30, policy: 'none',
  });
  assert.equal(v.safe, true);
  assert.equal(v.next, 'quarantine');
  assert.equal(v.summary, '1 main source fails DKIM alignment; safe to move to quarantine: yes');
  assert.equal(v.main.count, 2);
  assert.deepEqual(v.blockers, []);
  // The same at quarantine: 99.5% is needed for reject.
  v = verdict({ overview: { messages: 10000, dmarc_pass: 9950 }, sources: [src('a', 10000, 9950, 9950, 9950)], daysWithData: 30, policy: 'quarantine' });
  assert.equal(v.next, 'reject');
  assert.equal(v.safe, true);
  v = verdict({ overview: { messages: 10000, dmarc_pass: 9940 }, sources: [src('a', 10000, 9940, 9940, 9940)], daysWithData: 30, policy: 'quarantine' });
  assert.equal(v.safe, false);
  assert.match(v.blockers.join(), /99\.4% is below 99\.5%/);
  // A main source failing DMARC blocks, and is named.
  v = verdict({
    overview: { messages: 1000, dmarc_pass: 985 },
    sources: [src('192.0.2.1', 900, 900, 900, 900), src('192.0.2.9', 100, 85, 85, 0)],
    daysWithData: 10, policy: 'none',
  });
  assert.equal(v.safe, false);
  assert.equal(v.level, 'bad');
  assert.deepEqual(v.main.dmarcFail, ['192.0.2.9']);
  assert.match(v.summary, /^1 main source fails DKIM alignment; safe to move to quarantine: no$/);
  // Too few days, too few messages.
  v = verdict({ overview: { messages: 50, dmarc_pass: 50 }, sources: [src('a', 50, 50, 50, 50)], daysWithData: 3, policy: null });
  assert.equal(v.safe, false);
  assert.equal(v.blockers.length, 2);
  // Already at reject; and nothing at all.
  assert.equal(verdict({ overview: { messages: 10, dmarc_pass: 10 }, sources: [], daysWithData: 9, policy: 'reject' }).next, null);
  assert.equal(verdict({ overview: { messages: 0 }, sources: [] }).level, 'none');
  // All domains together: facts, but no policy step.
  v = verdict({ overview: { messages: 100, dmarc_pass: 100 }, sources: [src('a', 100, 100, 100, 100)], daysWithData: 9, policy: 'none', allDomains: true });
  assert.equal(v.next, null);
  assert.equal(v.safe, null);
  assert.equal(v.summary, '0 main sources fail DKIM alignment.');
  // Small spoofing sources never block a step.
  const spoofers = Array.from({ length: 200 }, (_, i) => src(`198.51.100.${i}`, 1, 0, 0, 0));
  v = verdict({ overview: { messages: 100200, dmarc_pass: 100000 }, sources: [src('a', 100000, 100000, 100000, 100000), ...spoofers], daysWithData: 30, policy: 'none' });
  assert.equal(v.safe, true);
  assert.match(v.facts.join(' '), /200 other sources .* 200 of them fail DMARC/);
  assert.ok(RULE.share > 0 && RULE.share < 1);
});

test('verdict: the rule as printed names the thresholds the code uses', async () => {
  const { ruleText, RULE } = await mod('js/verdict.js');
  const text = ruleText().join(' ');
  for (const v of [RULE.share, RULE.aligned, RULE.quarantineRate, RULE.rejectRate, RULE.sourceRate]) {
    const p = v * 100;
    assert.ok(text.includes(`${Number.isInteger(p) ? p : p.toFixed(1)}%`), `${v} not in the printed rule`);
  }
  assert.ok(text.includes(`${RULE.minDays} days`) && text.includes(`${RULE.minMessages} messages`));
});

test('format: numbers, rates, days and ranges', async () => {
  const f = await mod('js/format.js');
  assert.equal(f.num(1234567), '1,234,567');
  assert.equal(f.pct(0.98765), '98.8%');
  assert.equal(f.pct(null), '–');
  assert.equal(f.dateTime('2026-11-22T13:05:00Z'), '2026-11-22 13:05 UTC');
  assert.equal(f.range('2026-11-22T00:00:00Z', '2026-11-22T23:59:59Z'), '2026-11-22 00:00–23:59');
  assert.equal(f.range('2026-11-22T00:00:00Z', '2026-11-23T00:00:00Z'), '2026-11-22 00:00 – 11-23 00:00');
  assert.equal(f.range('2026-12-31T00:00:00Z', '2027-01-01T00:00:00Z'), '2026-12-31 00:00 – 2027-01-01 00:00');
  assert.equal(f.addDays('2026-03-01', -1), '2026-02-28');
  assert.ok(f.isDay('2024-02-29') && !f.isDay('2026-02-29') && !f.isDay('2026-1-1'));
  assert.equal(f.epoch('2026-11-22'), Date.UTC(2026, 10, 22) / 1000);
});

test('safeHref lets only in-app and same-origin addresses through', async () => {
  const { safeHref } = await mod('js/dom.js');
  assert.equal(safeHref('#/reports/1'), '#/reports/1');
  assert.equal(safeHref('/api/v1/reports/1/raw'), '/api/v1/reports/1/raw');
  for (const bad of ['javascript:alert(1)', '//evil.example/', '/\\evil.example', 'https://evil.example/', 'data:text/html,x', ' javascript:x']) {
    assert.equal(safeHref(bad), '#/', bad);
  }
});
