// dom.js - the only way the dashboard builds DOM.
//
// Every piece of data reaches the page as a text node or an attribute value
// set through the DOM, never as markup: there is no innerHTML anywhere in
// web/js (tests/web/static.test.js fails the build if one appears). h()
// refuses event-handler attributes and "style" (the CSP forbids inline
// styles anyway), and links built from data go through safeHref(), which
// only lets in-app (#/...) and same-origin (/...) addresses through.

const BOOL_PROPS = new Set(['disabled', 'checked', 'selected', 'required', 'hidden', 'readOnly',
  'multiple', 'open']);
const VALUE_PROPS = new Set(['value', 'type', 'name', 'id', 'htmlFor', 'placeholder', 'min',
  'max', 'step', 'autocomplete', 'tabIndex', 'title', 'accept', 'rows', 'download', 'inputMode',
  'maxLength', 'minLength', 'pattern', 'lang', 'colSpan', 'scope']);

// An address safe to put in href/src: "#/..." (the app), "/..." (this
// origin; not "//host"), nothing else. Anything else becomes "#/".
export function safeHref(url) {
  const s = String(url);
  if (s.startsWith('#/') || (s.startsWith('/') && !s.startsWith('//') && !s.startsWith('/\\'))) {
    return s;
  }
  return '#/';
}

function append(el, child) {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
  } else if (child instanceof Node) {
    el.appendChild(child);
  } else {
    el.appendChild(document.createTextNode(String(child)));
  }
}

// h('a', { href: '#/x', class: 'btn', on: { click: f }, aria: { current: 'page' },
//          data: { testid: 'x' } }, 'text', child, [more]) -> element
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      } else if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'aria') {
        for (const [a, av] of Object.entries(v)) {
          if (av !== undefined && av !== null && av !== false) el.setAttribute(`aria-${a}`, String(av));
        }
      } else if (k === 'data') {
        for (const [d, dv] of Object.entries(v)) {
          if (dv !== undefined && dv !== null) el.dataset[d] = String(dv);
        }
      } else if (k === 'href' || k === 'src') {
        el.setAttribute(k, safeHref(v));
      } else if (k === 'for') {
        el.htmlFor = v;
      } else if (BOOL_PROPS.has(k)) {
        el[k] = Boolean(v);
      } else if (VALUE_PROPS.has(k)) {
        el[k] = v;
      } else if (k === 'role' || k === 'rel' || k === 'target' || k === 'datetime') {
        el.setAttribute(k, String(v));
      } else {
        throw new Error(`h(): property ${k} is not allowed`);
      }
    }
  }
  append(el, children);
  return el;
}

// Replaces el's children with the given ones.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A unique id for label/input pairs.
let seq = 0;
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}
