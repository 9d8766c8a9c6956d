// app.js - the dashboard's shell and router.
//
// Hash routing: #/PATH?QUERY, e.g. #/reports/42 or #/sources?domain=x&days=7.
// No server-side routes are needed, so the files work from any static
// server behind the CSP. Each route names a view module, loaded on first
// use (dynamic import), and the least role that may open it; the API
// checks roles again, the check here only keeps people away from pages
// that would answer 403. A render is abandoned (its fetches aborted, its
// charts destroyed) as soon as the address changes again.

import { h, mount } from './dom.js';
import * as session from './session.js';
import { state, can, scopeOf, scopeQuery, PERIODS } from './session.js';
import { errorBox, loading as loadingNote, notice, pageHead } from './ui.js';

const ROUTES = [
  { path: 'signin', title: 'Sign in', load: () => import('./views/signin.js'), public: true },
  { path: 'overview', title: 'Overview', nav: 'Overview', scope: true, load: () => import('./views/overview.js') },
  { path: 'sources', title: 'Sources', nav: 'Sources', scope: true, load: () => import('./views/sources.js') },
  { path: 'sources/:ip', title: 'Source', scope: true, parent: 'sources', load: () => import('./views/source.js') },
  { path: 'trends', title: 'Trends', nav: 'Trends', scope: true, load: () => import('./views/trends.js') },
  { path: 'reports', title: 'Aggregate reports', nav: 'Aggregate reports', scope: true, load: () => import('./views/reports.js') },
  { path: 'reports/:id', title: 'Aggregate report', parent: 'reports', load: () => import('./views/report.js') },
  { path: 'failures', title: 'Failure reports', nav: 'Failure reports', role: 'analyst', scope: true, load: () => import('./views/failures.js') },
  { path: 'failures/:id', title: 'Failure report', role: 'analyst', parent: 'failures', load: () => import('./views/failure.js') },
  { path: 'tls', title: 'TLS reports', nav: 'TLS reports', scope: 'period', load: () => import('./views/tls.js') },
  { path: 'domains', title: 'Domains', nav: 'Domains', load: () => import('./views/domains.js') },
  { path: 'members', title: 'Members', nav: 'Members', role: 'admin', load: () => import('./views/members.js') },
  { path: 'tokens', title: 'API tokens', nav: 'API tokens', load: () => import('./views/tokens.js') },
  { path: 'settings', title: 'Settings', nav: 'Settings', load: () => import('./views/settings.js') },
  { path: 'audit', title: 'Audit log', nav: 'Audit log', role: 'admin', scope: 'period', load: () => import('./views/audit.js') },
];
const HOME = 'overview';

// ---- addresses ----

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/\/+$/, '');
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { raw, path: path || HOME, query };
}

function match(path) {
  const parts = path.split('/');
  for (const r of ROUTES) {
    const pat = r.path.split('/');
    if (pat.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      if (pat[i].startsWith(':')) {
        try {
          params[pat[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (pat[i] !== parts[i]) {
        ok = false;
      }
    }
    if (ok) return { route: r, params };
  }
  return null;
}

// '#/path?k=v' from a path and query object (null/undefined values dropped).
export function link(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null) q.set(k, String(v));
  }
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ''}`;
}

function go(path, query, replace = false) {
  const target = link(path, query);
  if (location.hash === target) {
    // the same address fires no hashchange: show it again ourselves
    current.path = null;
    render();
  } else if (replace) {
    location.replace(target);
  } else {
    location.hash = target;
  }
}

// ---- the shell ----

const shell = {};

function buildShell() {
  const app = document.getElementById('app');
  shell.announce = h('div', { class: 'sr-only', role: 'status', aria: { live: 'polite' } });
  shell.main = h('main', { id: 'main', tabIndex: -1 });
  shell.navList = h('ul');
  shell.nav = h('nav', { id: 'nav', class: 'nav', aria: { label: 'Main' } }, shell.navList);
  shell.menu = h('button', {
    type: 'button', class: 'menu-toggle', aria: { expanded: 'false', controls: 'nav' },
    on: { click: () => toggleMenu() },
  }, 'Menu');
  shell.tenant = h('div', { class: 'tenant' });
  shell.user = h('div', { class: 'user' });
  shell.scope = h('form', { class: 'scope', aria: { label: 'Domain and period' }, on: { submit: (e) => e.preventDefault() } });
  const skip = h('a', {
    class: 'skip', href: '#/',
    on: { click: (e) => { e.preventDefault(); focusMain(); } },
  }, 'Skip to content');
  shell.header = h('header', { class: 'topbar' },
    shell.menu,
    h('a', { class: 'brand', href: '#/overview' }, h('span', { class: 'brand-mark', aria: { hidden: 'true' } }, 'd'), 'dmarcd'),
    shell.tenant, shell.user);
  shell.layout = h('div', { class: 'layout' }, shell.nav,
    h('div', { class: 'content' }, shell.scope, shell.main));
  mount(app, skip, shell.header, shell.layout, shell.announce);
}

function toggleMenu(force) {
  const open = force !== undefined ? force : shell.menu.getAttribute('aria-expanded') !== 'true';
  shell.menu.setAttribute('aria-expanded', String(open));
  shell.nav.classList.toggle('open', open);
}

function focusMain() {
  const title = shell.main.querySelector('h1');
  (title || shell.main).focus();
}

export function announce(text) {
  shell.announce.textContent = '';
  // a change the live region notices even when the text repeats
  setTimeout(() => { shell.announce.textContent = text; }, 30);
}

function renderNav(active) {
  const items = ROUTES.filter((r) => r.nav && (!r.role || can(r.role)));
  const scopeKeys = currentScopeQuery();
  mount(shell.navList, items.map((r) => {
    const here = active && (active.path === r.path || active.parent === r.path);
    return h('li', null, h('a', {
      href: link(r.path, r.scope ? scopeKeys : null),
      aria: { current: here ? 'page' : null },
      on: { click: () => toggleMenu(false) },
    }, r.nav));
  }));
}

let lastScope = null;
function currentScopeQuery() {
  return lastScope ? scopeQuery(lastScope) : {};
}

function renderUser() {
  const role = state.role ? ` (${state.role})` : '';
  mount(shell.user,
    h('span', { class: 'who', data: { testid: 'user' } }, state.user.email, h('span', { class: 'role' }, role)),
    h('button', { type: 'button', class: 'btn btn-quiet', data: { testid: 'signout' }, on: { click: onSignOut } }, 'Sign out'));
  if (state.tenants.length > 1) {
    const sel = h('select', { id: 'tenant-select', on: { change: () => {
      session.setTenant(sel.value);
      announce(`Tenant ${sel.value}`);
      go(HOME, {});
    } } }, state.tenants.map((t) => h('option', { value: t.name, selected: t.name === state.tenant }, t.name)));
    mount(shell.tenant, h('label', { for: 'tenant-select' }, 'Tenant'), sel);
  } else {
    mount(shell.tenant, state.tenant ? h('span', { class: 'tenant-name' }, state.tenant) : null);
  }
}

function renderScope(route, loc, scope) {
  if (!route.scope) {
    shell.scope.hidden = true;
    mount(shell.scope);
    return;
  }
  shell.scope.hidden = false;
  const setQuery = (changes) => {
    const q = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    location.hash = `#/${loc.path}${q.toString() ? `?${q}` : ''}`;
  };
  const parts = [];
  if (route.scope === true) {
    const domSel = h('select', { id: 'scope-domain', on: { change: () => setQuery({ domain: domSel.value }) } },
      h('option', { value: '', selected: scope.domain === '' }, 'All domains'),
      (state.domains || []).map((d) => h('option', { value: d.domain, selected: d.domain === scope.domain }, d.domain)));
    if (scope.domain && !(state.domains || []).some((d) => d.domain === scope.domain)) {
      domSel.appendChild(h('option', { value: scope.domain, selected: true }, scope.domain));
    }
    parts.push(h('div', { class: 'field-inline' }, h('label', { for: 'scope-domain' }, 'Domain'), domSel));
  }
  const from = h('input', { type: 'date', id: 'scope-from', value: scope.from, max: scope.to, required: true });
  const to = h('input', { type: 'date', id: 'scope-to', value: scope.to, required: true });
  const custom = h('div', { class: 'custom-range', hidden: Boolean(scope.days) },
    h('label', { for: 'scope-from' }, 'From'), from,
    h('label', { for: 'scope-to' }, 'To'), to,
    h('button', { type: 'submit', class: 'btn', on: { click: (e) => {
      e.preventDefault();
      if (from.value && to.value && from.value <= to.value) {
        setQuery({ from: from.value, to: to.value, days: null });
      } else {
        announce('Choose a start date on or before the end date');
        from.focus();
      }
    } } }, 'Apply'));
  const perSel = h('select', { id: 'scope-period', on: { change: () => {
    if (perSel.value === 'custom') {
      custom.hidden = false;
      from.focus();
    } else {
      setQuery({ days: perSel.value, from: null, to: null });
    }
  } } },
  PERIODS.map((d) => h('option', { value: String(d), selected: scope.days === d }, `Last ${d} days`)),
  h('option', { value: 'custom', selected: !scope.days }, 'Custom range…'));
  parts.push(h('div', { class: 'field-inline' }, h('label', { for: 'scope-period' }, 'Period'), perSel), custom);
  mount(shell.scope, parts);
}

async function onSignOut() {
  try {
    await session.signOut();
  } catch {
    // the session may already be gone; the page forgets it either way
  }
  go('signin', { bye: 1 });
}

// ---- rendering a route ----

let current = { ctrl: null, cleanups: [], path: null };
let rendersStarted = false;

function teardown() {
  if (current.ctrl) current.ctrl.abort();
  for (const f of current.cleanups) {
    try {
      f();
    } catch {
      // a cleanup that fails must not stop the next page
    }
  }
}

async function render() {
  const loc = parseHash();
  teardown();
  const ctrl = new AbortController();
  const cleanups = [];
  const samePath = current.path === loc.path;
  const first = !rendersStarted;
  rendersStarted = true;
  current = { ctrl, cleanups, path: loc.path };
  const found = match(loc.path);
  const route = found ? found.route : null;
  if (route && route.public && state.user) return go(HOME, {}, true);
  if (!(route && route.public) && !state.user) return go('signin', { next: loc.raw || null }, true);
  document.body.classList.toggle('signed-out', !state.user);
  shell.header.hidden = !state.user;
  shell.nav.hidden = !state.user;
  document.title = `${route ? route.title : 'Not found'} · dmarcd`;
  await show(loc, found, ctrl, cleanups, samePath);
  if (ctrl.signal.aborted) return undefined;
  // For the load-time measurement of tests (and of anyone's devtools).
  performance.mark(`dmarcd:rendered:${route ? route.path : 'not-found'}`);
  // A new page moves focus to its heading (screen readers announce it),
  // unless the page itself put focus somewhere (the sign-in form) or this
  // is the first page of a load (focus then starts at the top, as usual).
  if (!samePath && !first && !shell.main.contains(document.activeElement)) focusMain();
  return undefined;
}

// Fills the shell and main for one address; errors become page content.
async function show(loc, found, ctrl, cleanups, samePath) {
  const route = found ? found.route : null;
  if (!route) {
    renderChrome(null, loc, null);
    mount(shell.main, pageHead('Page not found'),
      h('p', null, 'There is no such page. ', h('a', { href: '#/overview' }, 'Go to the overview.')));
    return;
  }
  if (state.user && !state.tenant) {
    renderChrome(null, loc, null);
    mount(shell.main, pageHead('No tenant'),
      notice('Your account is not a member of any tenant yet. Ask an owner or admin of your ' +
        'organisation to add you, then sign in again.', 'warn'));
    return;
  }
  // The view's module loads while the domains do.
  const loading = route.load();
  loading.catch(() => {});
  let scope = null;
  if (state.user) {
    try {
      await session.domains();
      scope = scopeOf(loc.query);
      lastScope = scope;
    } catch (err) {
      if (!ctrl.signal.aborted && err.status !== 401) {
        renderChrome(null, loc, null);
        mount(shell.main, pageHead(route.title), errorBox(err, 'Could not load your domains'));
      }
      return;
    }
    if (ctrl.signal.aborted) return;
  }
  renderChrome(route, loc, scope);
  if (route.role && !can(route.role)) {
    mount(shell.main, pageHead(route.title),
      notice(`This page needs the ${route.role} role or higher; you are ${state.role} in ` +
        `${state.tenant}. An owner or admin can change your role.`, 'warn'));
    return;
  }
  if (!samePath) mount(shell.main, loadingNote());
  let mod;
  try {
    mod = await loading;
  } catch (err) {
    if (!ctrl.signal.aborted) mount(shell.main, errorBox(err, 'This page did not load'));
    return;
  }
  if (ctrl.signal.aborted) return;
  const setQuery = (changes, replace) => {
    const q = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === undefined) q.delete(k);
      else q.set(k, String(v));
    }
    const target = `#/${loc.path}${q.toString() ? `?${q}` : ''}`;
    if (replace) location.replace(target);
    else location.hash = target;
  };
  const ctx = {
    main: shell.main,
    params: found.params,
    query: loc.query,
    scope,
    signal: ctrl.signal,
    onCleanup: (f) => cleanups.push(f),
    link,
    go,
    scopeLink: (path, extra) => link(path, { ...(scope ? scopeQuery(scope) : {}), ...extra }),
    setQuery,
    announce,
    aborted: () => ctrl.signal.aborted,
    refreshDomains: async () => {
      await session.domains(true);
      renderScope(route, loc, scopeOf(loc.query));
    },
  };
  try {
    await mod.render(ctx);
  } catch (err) {
    if (ctrl.signal.aborted || (err && err.name === 'AbortError') || (err && err.status === 401)) return;
    mount(shell.main, pageHead(route.title), errorBox(err, 'This page could not be shown'));
  }
}

function renderChrome(route, loc, scope) {
  if (!state.user) {
    shell.scope.hidden = true;
    return;
  }
  renderUser();
  renderNav(route);
  if (route) renderScope(route, loc, scope);
  else shell.scope.hidden = true;
}

// ---- start ----

async function start() {
  buildShell();
  window.addEventListener('dmarcd:unauthenticated', () => {
    if (!state.user) return;
    session.clear();
    const loc = parseHash();
    go('signin', { expired: 1, next: loc.raw || null }, true);
  });
  window.addEventListener('hashchange', () => { render(); });
  // The first page's module loads while the session is asked for.
  const first = match(parseHash().path);
  if (first) first.route.load().catch(() => {});
  try {
    await session.load();
  } catch (err) {
    mount(shell.main, h('h1', { tabIndex: -1 }, 'dmarcd'), errorBox(err, 'The server did not answer'));
    return;
  }
  render();
}

start();
