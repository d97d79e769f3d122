// The gridcircle HTTP API, same origin by default. A <meta name="gridcircle-api" content="...">
// in index.html can point at another base (a path prefix or an origin).
import { authHeaders } from './auth.js';

const meta = document.querySelector('meta[name="gridcircle-api"]');
export const BASE = new URL((meta && meta.content) || '/', location.href);

/** An error the UI can show: `message` is the server's message when it sent one. */
export class ApiError extends Error {
  constructor(message, { status, code, field, body } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.body = body;
  }
}

export function isAbort(err) {
  return err && err.name === 'AbortError';
}

function resolve(path) {
  // "collections/x" is relative to BASE; an absolute path ("/collections/x?offset=…", as in
  // `next` links) or a full URL is taken as it is, against BASE's origin.
  return path.startsWith('/') ? new URL(path, BASE.origin) : new URL(path, BASE);
}

/** A URL of the API as text, for links (CSV export) and tile templates. */
export function apiUrl(path) {
  // Not through URL(): tile templates keep their literal {z}/{x}/{y}.
  return BASE.href.replace(/\/?$/, '/') + path;
}

async function request(method, path, { signal, body, auth = false } = {}) {
  const url = resolve(path);
  const headers = { Accept: 'application/json, application/geo+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/geo+json';
  if (auth) Object.assign(headers, authHeaders());
  let res;
  try {
    res = await fetch(url, { method, signal, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(`network: ${err.message}`, { status: 0, code: 'network' });
  }
  let json = null;
  const text = await res.text();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(`bad JSON from ${url.pathname}`, { status: res.status, code: 'bad_json' });
    }
  }
  if (!res.ok) {
    const message = (json && json.message) || `HTTP ${res.status} ${res.statusText || ''}`.trim();
    throw new ApiError(message, { status: res.status, code: json && json.error, field: json && json.field, body: json });
  }
  return json;
}

export function getJson(path, opts) {
  return request('GET', path, opts);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  // Commas are legal in a query; keep "bbox=a,b,c,d" readable as in OGC API Features examples.
  return q.toString().replace(/%2C/gi, ',');
}

const MAX_PAGES = 50;

/**
 * All features of a collection inside bbox ([minLon, minLat, maxLon, maxLat] or null),
 * following `rel: next` links. Returns a FeatureCollection.
 */
export async function getItems(collection, bbox, { signal, limit = 10000 } = {}) {
  const params = { limit };
  if (bbox) params.bbox = bbox.map((x) => +x.toFixed(6)).join(',');
  let path = `collections/${encodeURIComponent(collection)}/items?${query(params)}`;
  const features = [];
  let numberMatched;
  for (let page = 0; path && page < MAX_PAGES; page++) {
    const fc = await getJson(path, { signal });
    const got = (fc && Array.isArray(fc.features)) ? fc.features : [];
    features.push(...got);
    if (numberMatched === undefined && typeof fc.numberMatched === 'number') numberMatched = fc.numberMatched;
    const next = Array.isArray(fc.links) ? fc.links.find((l) => l && l.rel === 'next' && l.href) : null;
    const more = next && got.length > 0 &&
      (typeof numberMatched !== 'number' || features.length < numberMatched);
    path = more ? next.href : null;
  }
  return { type: 'FeatureCollection', features };
}

export const getCollections = (opts) => getJson('collections', opts);
export const getKinds = (opts) => getJson('kinds', opts);
export const getCircles = (opts) => getJson('circles', opts);
export const getHealth = (opts) => getJson('health', opts);

/** Who a token belongs to (GET /whoami with that token); null from a server without tokens. */
export async function whoami(token) {
  const res = await fetch(resolve('whoami'), { headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => null);
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError((body && body.message) || `HTTP ${res.status}`, { status: res.status, code: body && body.error });
  return body;
}

export function locate(lon, lat, opts) {
  return getJson(`locate?${query({ lon: lon.toFixed(7), lat: lat.toFixed(7) })}`, opts);
}

/** The query string the resident journey sends to /nearest (tests repeat it verbatim). */
export function nearestQuery({ lon, lat, kind, k = 5, openNow = false, audience, mode = 'walk', at }) {
  return query({ lon: lon.toFixed(7), lat: lat.toFixed(7), kind, k, mode, open_now: openNow, audience, at });
}

export function nearest(params, opts) {
  return getJson(`nearest?${nearestQuery(params)}`, opts);
}

/** /coverage parameters as a query string (shared by the JSON call and the CSV link). */
export function coverageQuery({ circle, minutes, mode, at, compare, format }) {
  return query({ circle, minutes, mode, at, compare: compare ? 'radius' : undefined, format });
}

export function coverage(params, opts) {
  return getJson(`coverage?${coverageQuery(params)}`, opts);
}

export function facilityCircle(id, { circle, minutes, mode }, opts) {
  return getJson(`facilities/${encodeURIComponent(id)}/circle?${query({ circle, minutes, mode })}`, opts);
}

// ---- grids (street office) ----
export function validateGrid(feature, opts) {
  return request('POST', 'grids/validate', { ...opts, body: feature, auth: true });
}

export function createGrid(feature, opts) {
  return request('POST', 'collections/grids/items', { ...opts, body: feature, auth: true });
}

export function replaceGrid(id, feature, opts) {
  return request('PUT', `collections/grids/items/${encodeURIComponent(id)}`, { ...opts, body: feature, auth: true });
}

export function deleteGrid(id, reassignTo, opts) {
  return request('DELETE', `collections/grids/items/${encodeURIComponent(id)}?${query({ reassign_to: reassignTo })}`, { ...opts, auth: true });
}

export function gridHistory(id, opts) {
  return getJson(`grids/${encodeURIComponent(id)}/history`, opts);
}

export function communityGrids(communityId, opts) {
  return getJson(`grids?${query({ community_id: communityId })}`, { ...opts, auth: true });
}

/** Replaces a community's grids with a whole map in one operation (`PUT /communities/{id}/grids`). */
export function replaceCommunityGrids(communityId, featureCollection, opts) {
  return request('PUT', `communities/${encodeURIComponent(communityId)}/grids`, { ...opts, body: featureCollection, auth: true });
}

export function draftGrids(communityId, targetHouseholds, opts) {
  return request('POST', `communities/${encodeURIComponent(communityId)}/grids/draft?${query({ target_households: targetHouseholds })}`, { ...opts, auth: true });
}
