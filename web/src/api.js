// The gridcircle HTTP API, same origin by default. A <meta name="gridcircle-api" content="...">
// in index.html can point at another base (a path prefix or an origin).

const meta = document.querySelector('meta[name="gridcircle-api"]');
const BASE = new URL((meta && meta.content) || '/', location.href);

/** An error the UI can show: `message` is the server's message when it sent one. */
export class ApiError extends Error {
  constructor(message, { status, code, field } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
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

export async function getJson(path, { signal } = {}) {
  const url = resolve(path);
  let res;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json, application/geo+json' } });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(`network: ${err.message}`, { status: 0, code: 'network' });
  }
  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(`bad JSON from ${url.pathname}`, { status: res.status, code: 'bad_json' });
    }
  }
  if (!res.ok) {
    const message = (body && body.message) || `HTTP ${res.status} ${res.statusText || ''}`.trim();
    throw new ApiError(message, { status: res.status, code: body && body.error, field: body && body.field });
  }
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
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

export function getCollections(opts) {
  return getJson('collections', opts);
}

export function getKinds(opts) {
  return getJson('kinds', opts);
}

export function locate(lon, lat, opts) {
  return getJson(`locate?${query({ lon: lon.toFixed(7), lat: lat.toFixed(7) })}`, opts);
}

export function nearest({ lon, lat, kind, k = 5, openNow = false }, opts) {
  return getJson(`nearest?${query({ lon: lon.toFixed(7), lat: lat.toFixed(7), kind, k, open_now: openNow })}`, opts);
}
