// The session (tokens in sessionStorage, refreshed before they expire) and every call to the API.
"use strict";

const KEY = "aiq_session";
const listeners = { expired: [], renewed: [] };
let session = load();
let refreshTimer = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `request failed (${status})`);
    this.status = status;
    this.code = body && body.code;
    this.detail = body && body.detail;
  }
  // [{field, reason}] when the API named fields (422), else [].
  get fields() {
    return Array.isArray(this.detail) ? this.detail.filter((d) => d && d.field) : [];
  }
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

function store(tokens) {
  session = {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    // Refresh a minute early (or at 80 % of a short lifetime), so a request never races expiry.
    expiresAt: Date.now() + tokens.expires_in * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  schedule();
  listeners.renewed.forEach((fn) => fn(session.access));
}

function schedule() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const left = session.expiresAt - Date.now();
  const lead = Math.min(60_000, left * 0.2);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(left - lead, 1000));
}

export function on(event, fn) {
  listeners[event].push(fn);
}

export function signedIn() {
  return session !== null;
}

export function accessToken() {
  return session ? session.access : null;
}

export function signOut() {
  clearTimeout(refreshTimer);
  session = null;
  sessionStorage.removeItem(KEY);
}

function expire(message) {
  signOut();
  listeners.expired.forEach((fn) => fn(message));
}

export async function signIn(email, password) {
  const body = new URLSearchParams({ username: email, password });
  const res = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  store(data);
}

// Rotate the refresh token; one refresh at a time however many callers ask. A refused refresh
// ends the session: the page returns to sign-in with a message.
export function refresh() {
  if (!session) return Promise.reject(new ApiError(401, { error: "not signed in" }));
  if (!refreshing) {
    refreshing = (async () => {
      const res = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) {
        expire("Your session has expired. Please sign in again.");
        throw new ApiError(res.status, data);
      }
      store(data);
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function send(path, options) {
  const headers = Object.assign({}, options.headers || {});
  if (session) headers.Authorization = "Bearer " + session.access;
  return fetch(path, Object.assign({}, options, { headers }));
}

// fetch with the bearer token; one refresh and retry on 401. Returns the Response.
export async function raw(path, options = {}) {
  let res = await send(path, options);
  if (res.status === 401 && session) {
    await refresh();
    res = await send(path, options);
    if (res.status === 401) {
      expire("Your session has expired. Please sign in again.");
    }
  }
  return res;
}

// JSON in, JSON out; throws ApiError with the API's message, code and fields.
export async function api(path, options = {}) {
  const opts = Object.assign({}, options);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
    delete opts.json;
  }
  const res = await raw(path, opts);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, status: res.status, headers: res.headers };
}

export async function get(path) {
  return (await api(path)).data;
}

if (session) schedule();
