// Street-office sign-in. The token the clerk enters is kept in sessionStorage (gone when the
// tab closes) and sent as `Authorization: Bearer …` with the street-office requests; `X-Actor`
// (optional work id) names the clerk in the grid history. A server with tokens (issue 8)
// checks them (GET /whoami at sign-in, 401/403 on writes); an older one ignores the header.
const TOKEN_KEY = 'gridcircle.token';
const ACTOR_KEY = 'gridcircle.actor';
const WHO_KEY = 'gridcircle.who';
const listeners = [];

function read(key) {
  try { return sessionStorage.getItem(key) || ''; } catch { return ''; }
}

export function session() {
  const token = read(TOKEN_KEY);
  if (!token) return null;
  let who = null;
  try { who = JSON.parse(read(WHO_KEY) || 'null'); } catch { /* ignore */ }
  return { token, actor: read(ACTOR_KEY), who };
}

/** The actor is an ASCII work id (an HTTP header value), 1–64 visible characters. */
export function validActor(actor) {
  return /^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(actor);
}

export function signIn(token, actor, who = null) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ACTOR_KEY, actor || '');
    sessionStorage.setItem(WHO_KEY, JSON.stringify(who));
  } catch { /* storage disabled: the session lasts for this page only */ }
  memory = { token, actor, who };
  for (const fn of listeners) fn(session() || memory);
}

export function signOut() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACTOR_KEY);
    sessionStorage.removeItem(WHO_KEY);
  } catch { /* ignore */ }
  memory = null;
  for (const fn of listeners) fn(null);
}

let memory = null;

export function current() {
  return session() || memory;
}

export function onAuthChange(fn) {
  listeners.push(fn);
}

export function authHeaders() {
  const s = current();
  if (!s) return {};
  const h = { Authorization: `Bearer ${s.token}` };
  if (s.actor) h['X-Actor'] = s.actor;
  return h;
}
