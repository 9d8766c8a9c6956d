// api.js - the REST API client (/api/v1, CONTRACT.md "HTTP").
//
// Same-origin fetch with the session cookie. Every state-changing request
// carries the session's CSRF token in X-CSRF-Token. The token comes in the
// body of POST /api/v1/session; it is kept in sessionStorage (this tab,
// this origin) so a reload can go on changing things; the cookie itself is
// HttpOnly and never seen here. A user in several tenants names the one in
// view with X-Tenant (and ?tenant= on plain links, which cannot carry a
// header). Errors arrive as {"error": {"code", "message"}} and are thrown
// as ApiError; a 401 anywhere but the sign-in itself means the session has
// ended, and the app is told with a "dmarcd:unauthenticated" event.

const BASE = '/api/v1';
const CSRF_KEY = 'dmarcd.csrf';

let csrf = null;
let tenant = null;

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || `request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'http_' + status;
    this.body = body;
  }
}

export function setCsrf(token) {
  csrf = token || null;
  try {
    if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    // storage disabled: the token lives until the page is reloaded
  }
}

export function loadCsrf() {
  if (!csrf) {
    try {
      csrf = sessionStorage.getItem(CSRF_KEY);
    } catch {
      csrf = null;
    }
  }
  return csrf;
}

export function setTenant(name) {
  tenant = name || null;
}

function queryString(query) {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// An address for a plain link (downloads): the tenant goes in the query.
export function apiUrl(path, query = {}) {
  return BASE + path + queryString(tenant ? { ...query, tenant } : query);
}

async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const e = body && body.error;
  let message = e && typeof e.message === 'string' ? e.message : null;
  if (!message) {
    message = res.status >= 500 ? 'the server could not answer; try again in a moment'
      : `request failed (HTTP ${res.status})`;
  }
  if (res.status === 403 && e && e.code === 'csrf') {
    // A tab opened after sign-in has the cookie but not the token (GET
    // /session does not repeat it): reading works, changing needs a sign-in.
    message = 'this tab cannot make changes until you sign in again in it (sign out, then in)';
  }
  return new ApiError(res.status, e && e.code, message, body);
}

// request('GET', '/overview', { query, body, signal, raw }) -> parsed JSON
// (or the Response when raw, or null for 204).
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (tenant) headers['X-Tenant'] = tenant;
  if (method !== 'GET' && method !== 'HEAD') {
    const token = loadCsrf();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let body;
  if (opts.file !== undefined) {
    headers['Content-Type'] = 'application/octet-stream';
    body = opts.file;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(BASE + path + queryString(opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'cannot reach the dmarcd server: check your connection');
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && !(path === '/session' && method === 'POST')) {
      window.dispatchEvent(new CustomEvent('dmarcd:unauthenticated', { detail: err }));
    }
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, query, opts = {}) => request('GET', path, { ...opts, query });
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const put = (path, body, opts = {}) => request('PUT', path, { ...opts, body });
export const del = (path, opts = {}) => request('DELETE', path, opts);
// POSTs a File (or Blob) as the raw body.
export const upload = (path, file, opts = {}) => request('POST', path, { ...opts, file });
