// format.js - numbers, rates and times as the dashboard shows them.
//
// One fixed locale (en), so what a test reads off the page is what it
// computes from the API's JSON; times are shown in UTC, the zone the API
// and the reports use, with "UTC" written out.

const INT = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

export function num(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  return INT.format(Number(n));
}

export function compact(n) {
  if (n === null || n === undefined) return '–';
  return Number(n) < 10000 ? INT.format(Number(n)) : COMPACT.format(Number(n));
}

// A rate 0..1 as "97.3%"; null/undefined (nothing to divide) as "–".
export function pct(rate, digits = 1) {
  if (rate === null || rate === undefined || Number.isNaN(Number(rate))) return '–';
  return `${(Number(rate) * 100).toFixed(digits)}%`;
}

export function ratio(part, whole) {
  return whole ? part / whole : null;
}

// "2026-11-22T13:05:00Z" -> "2026-11-22 13:05 UTC"; a day stays as it is.
export function dateTime(s) {
  if (!s) return '–';
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(String(s));
  return m ? `${m[1]} ${m[2]} UTC` : String(s);
}

// A report's period, short: "2026-11-22 00:00–23:59" within one day,
// "2026-11-22 00:00 – 11-23 00:00" across two; UTC.
export function range(begin, end) {
  const re = /^(\d{4})-(\d{2}-\d{2})T(\d{2}:\d{2})/;
  const b = re.exec(String(begin || ''));
  const e = re.exec(String(end || ''));
  if (!b || !e) return `${dateTime(begin)} – ${dateTime(end)}`;
  if (b[1] === e[1] && b[2] === e[2]) return `${b[1]}-${b[2]} ${b[3]}–${e[3]}`;
  return `${b[1]}-${b[2]} ${b[3]} – ${b[1] === e[1] ? '' : `${e[1]}-`}${e[2]} ${e[3]}`;
}

export function day(s) {
  if (!s) return '–';
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(String(s));
  return m ? m[1] : String(s);
}

// --- days (YYYY-MM-DD, UTC) ---

export function isDay(s) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(s))) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
}

export function dayOf(date) {
  return date.toISOString().slice(0, 10);
}

export function today() {
  return dayOf(new Date());
}

export function addDays(dayText, n) {
  const t = Date.parse(`${dayText}T00:00:00Z`);
  return dayOf(new Date(t + n * 86400000));
}

// Seconds since the epoch of a bucket start: "YYYY-MM-DD" or RFC 3339.
export function epoch(s) {
  const text = String(s);
  const t = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Math.floor(t / 1000);
}

export function plural(n, one, many) {
  return `${num(n)} ${n === 1 ? one : many}`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
