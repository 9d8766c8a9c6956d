// ui.js - the dashboard's building blocks: page headings, cards, figures,
// sortable tables, empty states, errors, forms. Built with dom.js only.

import { h, uid } from './dom.js';
import { num } from './format.js';

export function pageHead(title, intro, actions) {
  return h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { tabIndex: -1, id: 'page-title' }, title),
      intro ? h('p', { class: 'intro' }, intro) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null);
}

export function card(title, ...children) {
  const id = title ? uid('card') : null;
  return h('section', { class: 'card', aria: { labelledby: id } },
    title ? h('h2', { id }, title) : null, children);
}

// A headline figure. raw goes into data-value, so tests compare the exact
// number the API sent with what the page shows.
export function stat(label, value, opts = {}) {
  return h('div', { class: ['stat', opts.level && `stat-${opts.level}`], data: { metric: opts.metric, value: opts.raw } },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    opts.hint ? h('div', { class: 'stat-hint' }, opts.hint) : null);
}

export function badge(text, level) {
  return h('span', { class: ['badge', level && `badge-${level}`] }, text);
}

// A result word (pass/fail/...) with its colour; the word itself carries
// the meaning, the colour only helps.
export function result(word) {
  const w = word ? String(word) : '–';
  const level = w === 'pass' ? 'good'
    : w === 'fail' || w === 'reject' || w === 'permerror' ? 'bad'
    : w === 'quarantine' || w === 'softfail' || w === 'temperror' ? 'warn' : null;
  return badge(w, level);
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

export function errorBox(err, what) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', null, what ? `${what}: ` : 'Something went wrong: '), msg);
}

export function notice(text, level = 'info') {
  return h('div', { class: `alert alert-${level}`, role: level === 'error' ? 'alert' : 'status' }, text);
}

export function empty(title, ...lines) {
  return h('div', { class: 'empty' },
    h('h2', null, title),
    lines.map((l) => (typeof l === 'string' ? h('p', null, l) : l)));
}

// A definition list from [label, value] pairs (values: text or nodes).
export function facts(pairs) {
  return h('dl', { class: 'facts' },
    pairs.filter((p) => p).map(([k, v]) => [h('dt', null, k),
      h('dd', null, v === null || v === undefined || v === '' ? '–' : v)]));
}

/*
 * A table whose headers sort it. columns: [{ key, label, num, sort (value
 * fn or false), cell (row -> text|node) }]. state: { key, dir } kept by
 * the caller; onSort(key) is called when a header is activated.
 */
export function table({ caption, columns, rows, sortState, onSort, rowAttrs, testid }) {
  const head = h('tr', null, columns.map((c) => {
    const sortable = onSort && c.sort !== false;
    const active = sortState && sortState.key === c.key;
    const ariaSort = active ? (sortState.dir === 'asc' ? 'ascending' : 'descending') : null;
    const label = sortable
      ? h('button', { type: 'button', class: 'sort', data: { key: c.key }, on: { click: () => onSort(c.key) } },
        c.label, h('span', { class: 'sort-mark', aria: { hidden: 'true' } },
          active ? (sortState.dir === 'asc' ? ' ▲' : ' ▼') : ''))
      : c.label;
    return h('th', { scope: 'col', class: c.num ? 'num' : null, aria: { sort: ariaSort } }, label);
  }));
  const body = h('tbody', null, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : null,
    columns.map((c) => h('td', { class: [c.num && 'num', c.nowrap && 'nowrap'], data: { col: c.key, label: c.label } },
      h('span', { class: 'cell' }, c.cell ? c.cell(r) : c.num ? num(r[c.key]) : r[c.key] ?? '–'))))));
  // On a phone each row becomes a small card of "label value" lines (CSS,
  // from data-label); the sort buttons stay, as a row of their own.
  return h('div', { class: ['table-wrap', onSort && 'sortable'], tabIndex: 0, role: 'region', aria: { label: caption } },
    h('table', { data: { testid } },
      caption ? h('caption', null, caption) : null,
      h('thead', null, head), body));
}

// Sorts rows in place by column key (numbers numerically, text by locale).
export function sortRows(rows, columns, state) {
  const col = columns.find((c) => c.key === state.key);
  if (!col) return rows;
  const val = typeof col.sort === 'function' ? col.sort : (r) => r[col.key];
  const dir = state.dir === 'asc' ? 1 : -1;
  return rows.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
    return String(x ?? '').localeCompare(String(y ?? ''), 'en', { numeric: true }) * dir;
  });
}

// A labelled form field. input: an <input>/<select>/<textarea> element.
export function field(label, input, hint) {
  const id = input.id || uid('in');
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

export function select(options, value, props = {}) {
  return h('select', props, options.map(([v, text]) =>
    h('option', { value: v, selected: v === value }, text)));
}

export function button(text, onClick, props = {}) {
  return h('button', { type: 'button', class: props.class || 'btn', ...props, on: { click: onClick } }, text);
}

// Runs fn with btn disabled; shows an error in errEl (cleared first).
export async function busy(btn, errEl, fn) {
  btn.disabled = true;
  if (errEl) errEl.replaceChildren();
  try {
    return await fn();
  } catch (err) {
    if (errEl) errEl.replaceChildren(errorBox(err, 'Not done'));
    else throw err;
    return undefined;
  } finally {
    btn.disabled = false;
  }
}
