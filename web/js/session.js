// session.js - who is signed in, in which tenant, with which role; the
// tenant's domains; and the domain and period in view.
//
// The session is GET /api/v1/session (user, tenants with roles). The
// tenant in view is remembered per tab (sessionStorage); with one tenant
// there is nothing to choose. Domain and period live in the address
// (#/overview?domain=example.com&days=30 or &from=...&to=...), so a page
// can be bookmarked, shared and reloaded: an absent domain means the
// tenant's busiest domain, an empty one (domain=) all domains.

import * as api from './api.js';
import { addDays, isDay, today } from './format.js';

const TENANT_KEY = 'dmarcd.tenant';
export const ROLES = ['viewer', 'analyst', 'admin', 'owner'];
export const PERIODS = [7, 30, 90, 365];
const DEFAULT_DAYS = 30;

export const state = {
  user: null,          // { id, email, operator }
  tenants: [],         // [{ name, role }]
  tenant: null,        // name
  role: null,          // role in that tenant
  domains: null,       // GET /domains items, or null before loading
};

export function rank(role) {
  return ROLES.indexOf(role);
}

export function can(role) {
  return state.role !== null && rank(state.role) >= rank(role);
}

function chooseTenant(preferred) {
  const names = state.tenants.map((t) => t.name);
  let name = preferred && names.includes(preferred) ? preferred : null;
  if (!name) {
    try {
      const saved = sessionStorage.getItem(TENANT_KEY);
      if (saved && names.includes(saved)) name = saved;
    } catch {
      // no storage: the first tenant
    }
  }
  if (!name) name = names[0] || null;
  setTenant(name);
}

export function setTenant(name) {
  state.tenant = name;
  const t = state.tenants.find((x) => x.name === name);
  state.role = t ? t.role : null;
  state.domains = null;
  // With a single tenant the API picks it; naming it anyway is harmless.
  api.setTenant(state.tenants.length > 1 ? name : null);
  try {
    if (name) sessionStorage.setItem(TENANT_KEY, name);
  } catch {
    // ignore
  }
}

function adopt(s) {
  state.user = s.user;
  state.tenants = Array.isArray(s.tenants) ? s.tenants : [];
  if (s.csrf_token) api.setCsrf(s.csrf_token);
  chooseTenant(state.tenant);
}

// Loads the current session; false when nobody is signed in.
export async function load() {
  try {
    adopt(await api.get('/session'));
    return true;
  } catch (err) {
    if (err.status === 401) {
      clear();
      return false;
    }
    throw err;
  }
}

export async function signIn(email, password, totp) {
  const body = { email, password };
  if (totp) body.totp = totp;
  const s = await api.post('/session', body);
  adopt(s);
  return s;
}

export async function signOut() {
  try {
    await api.del('/session');
  } finally {
    clear();
  }
}

export function clear() {
  state.user = null;
  state.tenants = [];
  state.tenant = null;
  state.role = null;
  state.domains = null;
  api.setCsrf(null);
  api.setTenant(null);
}

export async function domains(force = false) {
  if (!state.domains || force) {
    const r = await api.get('/domains');
    state.domains = r.items || [];
  }
  return state.domains;
}

// The busiest domain of the last 30 days (the default in view).
export function defaultDomain() {
  const list = state.domains || [];
  let best = null;
  for (const d of list) {
    if (!best || (d.messages_30d || 0) > (best.messages_30d || 0)) best = d;
  }
  return best ? best.domain : '';
}

/*
 * The domain and period of a page address's query.
 *   -> { domain ('' = all), from, to, days (7|30|90, or null for custom), label }
 */
export function scopeOf(query) {
  const domain = query.has('domain') ? query.get('domain') : defaultDomain();
  const end = today();
  let from = query.get('from');
  let to = query.get('to');
  let days = Number(query.get('days'));
  if (isDay(from || '') && isDay(to || '') && from <= to) {
    days = null;
  } else {
    if (!PERIODS.includes(days)) days = DEFAULT_DAYS;
    to = end;
    from = addDays(end, 1 - days);
  }
  const label = days ? `the last ${days} days` : `${from} to ${to}`;
  return { domain, from, to, days, label };
}

// The query keys that carry the scope, for links that keep it.
export function scopeQuery(scope, explicitDomain = true) {
  const q = {};
  if (explicitDomain) q.domain = scope.domain;
  if (scope.days) q.days = scope.days;
  else {
    q.from = scope.from;
    q.to = scope.to;
  }
  return q;
}
