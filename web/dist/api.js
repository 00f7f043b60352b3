// Talking to the Viewfinder server. Every request carries the access token when one is
// set (Authorization header); <img> requests cannot, so the same token also lives in a
// SameSite=Strict cookie, which the server accepts for reads only.

const TOKEN_KEY = 'viewfinder.token';

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function token() { return localStorage.getItem(TOKEN_KEY) || ''; }

export function setToken(t) {
  if (t) {
    localStorage.setItem(TOKEN_KEY, t);
    document.cookie = `vf_token=${encodeURIComponent(t)}; path=/; SameSite=Strict`;
  } else {
    localStorage.removeItem(TOKEN_KEY);
    document.cookie = 'vf_token=; path=/; max-age=0; SameSite=Strict';
  }
}

export async function api(path, { method = 'GET', json, form, signal } = {}) {
  const headers = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const res = await fetch(path, { method, headers, body, signal, credentials: 'same-origin' });
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) data = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = (data && data.error) || `${res.status} ${res.statusText}`;
    const auth = res.headers.get('WWW-Authenticate') || '';
    if (res.status === 401 && auth.startsWith('Bearer') && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, msg, res.headers.get('Retry-After'));
  }
  return data;
}

// Query string from an object, skipping empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
