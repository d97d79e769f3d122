// gridcircle web map: entry point bundled by esbuild into dist/app.js and dist/app.css.
import { Map as MapLibreMap, Popup, NavigationControl, ScaleControl, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import './app.css';

import { t, getLang, setLang, onLangChange, applyStatic } from './i18n.js';
import { h, clear } from './dom.js';
import { gridColor, kindColor } from './colors.js';
import { COLLECTIONS, EMPTY, mapStyle, selectFilter } from './style.js';
import { getItems, getCollections, getKinds, locate, nearest, isAbort } from './api.js';
import { num, text, metres, audienceLabel, buildingLabel, openState } from './format.js';

// MapLibre's tile worker is shipped beside app.js (see build.mjs).
setWorkerUrl(new URL('./maplibre-gl-worker.js', import.meta.url).href);

const DEFAULT_CENTER = [118.7843, 32.0415]; // Nanjing Xinjiekou, the demo city
const DEFAULT_ZOOM = 13;
const NARROW = window.matchMedia('(max-width: 700px)');
const DEBOUNCE_MS = 300;
const CACHE_MS = 60000;
const NEAREST_K = 5;

const $ = (id) => document.getElementById(id);

// ---------- state ----------
const state = {
  kinds: [],
  kindsById: new Map(),
  visible: Object.fromEntries(COLLECTIONS.map((c) => [c.id, true])),
  loaded: {}, // collection id -> { bbox, at, demo }
  controllers: {}, // collection id -> { ctl: AbortController, bbox } of the request in flight
  pending: 0,
  facilities: new Map(), // facility id -> Feature (the original, with nested `open`)
  popup: null,
  popupFacilityId: null,
  locate: null, // { lngLat, result } | { lngLat, loading } | { lngLat, error }
  locateSeq: 0,
  nearest: null, // { lngLat, kind, openNow, results } | { ..., loading } | { ..., error }
  nearestSeq: 0,
  origin: null, // last clicked / located point [lon, lat]
  started: false, // initial view and first loads requested
};

// ---------- messages ----------
const messages = new Map();

function showMessage(key, message, level = 'error') {
  messages.set(key, { message, level });
  renderMessages();
}

function clearMessage(key) {
  if (messages.delete(key)) renderMessages();
}

function renderMessages() {
  const box = clear($('messages'));
  for (const [key, { message, level }] of messages) {
    box.append(h('div', { class: `message message-${level}`, role: level === 'error' ? 'alert' : 'status' },
      h('span', { class: 'message-text' }, message),
      h('button', {
        type: 'button', class: 'message-close', 'aria-label': t('action.close'), title: t('action.close'),
        onclick: () => {
          if (key.startsWith('load:')) for (const [cid, msg] of [...loadErrors]) if (`load:${msg}` === key) loadErrors.delete(cid);
          clearMessage(key);
        },
      }, '×')));
  }
}

// Layer load failures are grouped by message, so an API that is down gives one line, not six.
const loadErrors = new Map(); // collection id -> message

function setLoadError(id, message) {
  if (message === null) loadErrors.delete(id);
  else loadErrors.set(id, message);
  for (const key of [...messages.keys()]) if (key.startsWith('load:')) messages.delete(key);
  const byMessage = new Map();
  for (const [cid, msg] of loadErrors) {
    if (!byMessage.has(msg)) byMessage.set(msg, []);
    byMessage.get(msg).push(cid);
  }
  for (const [msg, ids] of byMessage) {
    const layers = ids.map((cid) => t(`layer.${cid}`)).join(t('list.separator'));
    messages.set(`load:${msg}`, { message: t('msg.load_failed', { layer: layers, message: msg }), level: 'error' });
  }
  renderMessages();
}

function errorText(err) {
  return (err && err.message) || String(err);
}

function setPending(delta) {
  state.pending += delta;
  $('loading').hidden = state.pending <= 0;
  // For browser tests: html[data-ready] is set while nothing is loading and the map is idle.
  if (state.pending > 0) delete document.documentElement.dataset.ready;
}

// ---------- labels ----------
function kindLabel(id) {
  const k = state.kindsById.get(id);
  if (k) return (getLang() === 'zh' ? k.name_zh : k.name_en) || k.name_zh || k.name_en || id;
  return id ? String(id) : '—';
}

function badge(label, cls) {
  return h('span', { class: `badge ${cls || ''}` }, label);
}

function demoBadge(props) {
  return props && props.demo === true ? badge(t('badge.demo'), 'badge-demo') : null;
}

function dl(rows) {
  return h('dl', { class: 'props' }, rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// ---------- map ----------
const map = new MapLibreMap({
  container: 'map',
  style: mapStyle(),
  center: DEFAULT_CENTER,
  zoom: DEFAULT_ZOOM,
  maxPitch: 0,
  dragRotate: false,
  pitchWithRotate: false,
  touchPitch: false,
  renderWorldCopies: false,
  attributionControl: { compact: false, customAttribution: t('map.attribution') },
});
map.touchZoomRotate.disableRotation();
map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');

map.on('error', (e) => {
  showMessage('map', t('msg.map_error', { message: errorText(e && e.error) }));
});

function sheetCover() {
  if (!NARROW.matches) return 0;
  return document.body.classList.contains('sheet-open') ? $('panel').offsetHeight : 64;
}

function fitPadding() {
  if (NARROW.matches) return { top: 40, left: 24, right: 24, bottom: sheetCover() + 24 };
  return 40;
}

function validBbox(b) {
  return Array.isArray(b) && b.length >= 4 && b.slice(0, 4).every(Number.isFinite) &&
    b[0] <= b[2] && b[1] <= b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90;
}

function unionBbox(a, b) {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

function featuresBbox(features) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      if (Number.isFinite(c[0]) && Number.isFinite(c[1])) box = unionBbox(box, [c[0], c[1], c[0], c[1]]);
    } else for (const x of c) visit(x);
  };
  const visitGeom = (g) => {
    if (!g) return;
    if (g.type === 'GeometryCollection') g.geometries.forEach(visitGeom);
    else if (g.coordinates) visit(g.coordinates);
  };
  for (const f of features) visitGeom(f.geometry);
  return validBbox(box) ? box : null;
}

function fitTo(b, opts = {}) {
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: fitPadding(), maxZoom: 17, animate: false, ...opts });
}

function viewBbox(margin = 0) {
  const b = map.getBounds();
  const w = b.getWest(), s = b.getSouth(), e = b.getEast(), n = b.getNorth();
  const dx = (e - w) * margin, dy = (n - s) * margin;
  return [
    Math.max(-180, w - dx), Math.max(-90, s - dy),
    Math.min(180, e + dx), Math.min(90, n + dy),
  ];
}

/** The part of the map not covered by the bottom sheet, as [w, s, e, n]. */
function visibleBbox() {
  const c = map.getContainer();
  const h = Math.max(1, c.clientHeight - sheetCover());
  const nw = map.unproject([0, 0]);
  const se = map.unproject([c.clientWidth, h]);
  return [nw.lng, se.lat, se.lng, nw.lat];
}

function contains(outer, inner) {
  return outer && inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];
}

// ---------- layer data ----------
function decorate(id, fc) {
  for (const f of fc.features) {
    f.properties = f.properties || {};
    if (id === 'grids') f.properties._color = gridColor(f.properties.code);
    if (id === 'facilities') {
      f.properties._color = kindColor(f.properties.kind);
      if (f.properties.id !== undefined && f.properties.id !== null) state.facilities.set(String(f.properties.id), f);
    }
  }
  return fc;
}

function setData(id, fc) {
  const src = map.getSource(id);
  if (src) src.setData(fc);
}

async function loadCollection(id, { force = false } = {}) {
  const coll = COLLECTIONS.find((c) => c.id === id);
  if (!coll || !state.visible[id]) return;
  if (map.getZoom() < coll.minZoom) {
    if (state.controllers[id]) state.controllers[id].ctl.abort();
    if (state.loaded[id]) { setData(id, EMPTY); delete state.loaded[id]; }
    return;
  }
  const view = viewBbox(0);
  const prev = state.loaded[id];
  if (!force && prev && contains(prev.bbox, view) && Date.now() - prev.at < CACHE_MS) return;
  const inflight = state.controllers[id];
  if (!force && inflight && !inflight.ctl.signal.aborted && contains(inflight.bbox, view)) return;

  if (inflight) inflight.ctl.abort();
  const ctl = new AbortController();
  const bbox = viewBbox(0.25); // a margin, so small pans need no new request
  state.controllers[id] = { ctl, bbox };
  setPending(1);
  try {
    const fc = decorate(id, await getItems(id, bbox, { signal: ctl.signal }));
    if (ctl.signal.aborted) return;
    setData(id, fc);
    state.loaded[id] = { bbox, at: Date.now(), demo: fc.features.some((f) => f.properties.demo === true) };
    if (loadErrors.has(id)) setLoadError(id, null);
    renderDemoNote();
  } catch (err) {
    if (isAbort(err)) return;
    setLoadError(id, errorText(err));
  } finally {
    setPending(-1);
    if (state.controllers[id] && state.controllers[id].ctl === ctl) delete state.controllers[id];
  }
}

function loadAll() {
  for (const c of COLLECTIONS) loadCollection(c.id);
  renderZoomHint();
}

let loadTimer = null;
function scheduleLoad() {
  clearTimeout(loadTimer);
  loadTimer = setTimeout(loadAll, DEBOUNCE_MS);
}

async function initialView() {
  try {
    const offices = await getItems('street_offices', null);
    const b = featuresBbox(offices.features);
    if (b) {
      fitTo(b);
      return;
    }
    const resp = await getCollections();
    let box = null;
    for (const c of (resp && resp.collections) || []) {
      const bb = c && c.extent && c.extent.spatial && c.extent.spatial.bbox && c.extent.spatial.bbox[0];
      if (validBbox(bb) && (c.itemCount === undefined || c.itemCount > 0)) box = unionBbox(box, bb.slice(0, 4));
    }
    if (box) fitTo(box);
    else showMessage('nodata', t('msg.no_data'), 'info');
  } catch (err) {
    showMessage('init', t('msg.init_failed', { message: errorText(err) }));
  }
}

async function loadKinds() {
  try {
    const kinds = await getKinds();
    state.kinds = Array.isArray(kinds) ? kinds.filter((k) => k && k.id) : [];
    state.kindsById = new Map(state.kinds.map((k) => [k.id, k]));
    clearMessage('kinds');
  } catch (err) {
    showMessage('kinds', t('msg.kinds_failed', { message: errorText(err) }));
  }
  renderKindSelect();
  renderKindLegend();
  renderPopup();
  renderNearest();
}

// ---------- layer panel ----------
const SWATCH = {
  street_offices: 'swatch-street_offices',
  communities: 'swatch-communities',
  grids: 'swatch-grids',
  buildings: 'swatch-buildings',
  roads: 'swatch-roads',
  facilities: 'swatch-facilities',
};

function renderLayerList() {
  const list = clear($('layer-list'));
  // Top of the drawing order first, as map legends usually read.
  for (const c of [...COLLECTIONS].reverse()) {
    const input = h('input', { type: 'checkbox', id: `toggle-${c.id}`, checked: state.visible[c.id] });
    input.addEventListener('change', () => toggleLayer(c.id, input.checked));
    list.append(h('li', null, h('label', { for: `toggle-${c.id}` },
      input,
      h('span', { class: `swatch ${SWATCH[c.id]}`, 'aria-hidden': 'true' }),
      h('span', null, t(`layer.${c.id}`)),
      c.minZoom > 0 ? h('span', { class: 'layer-note' }, t('layers.min_zoom', { z: c.minZoom })) : null)));
  }
}

function toggleLayer(id, on) {
  state.visible[id] = on;
  const coll = COLLECTIONS.find((c) => c.id === id);
  for (const layer of coll.layers) map.setLayoutProperty(layer, 'visibility', on ? 'visible' : 'none');
  if (id === 'grids') map.setLayoutProperty('grids-selected', 'visibility', on ? 'visible' : 'none');
  if (id === 'buildings') map.setLayoutProperty('buildings-selected', 'visibility', on ? 'visible' : 'none');
  if (on) loadCollection(id);
  else if (state.controllers[id]) state.controllers[id].ctl.abort();
  renderZoomHint();
}

function renderZoomHint() {
  const el = $('zoom-hint');
  const needs = COLLECTIONS.filter((c) => c.minZoom > 0 && state.visible[c.id] && map.getZoom() < c.minZoom);
  el.hidden = needs.length === 0;
  el.textContent = needs.length ? t('layers.zoom_hint', { z: needs[0].minZoom }) : '';
}

function renderKindLegend() {
  const box = clear($('kind-legend'));
  if (!state.kinds.length) return;
  box.append(h('ul', { class: 'legend' },
    state.kinds.map((k) => h('li', null,
      h('span', { class: 'dot', style: { background: kindColor(k.id) }, 'aria-hidden': 'true' }),
      kindLabel(k.id))),
    h('li', null, h('span', { class: 'dot dot-shared', 'aria-hidden': 'true' }), t('legend.shared'))));
}

function renderDemoNote() {
  $('demo-note').hidden = !Object.values(state.loaded).some((x) => x && x.demo);
}

// ---------- facility popup ----------
function capacityText(p) {
  const cap = p.capacity;
  const free = p.free;
  let freeText = null;
  if (typeof free === 'number') freeText = t('facility.free_spaces', { n: num(free) });
  else if (typeof free === 'boolean') freeText = t(free ? 'facility.free_of_charge' : 'facility.fee');
  if ((cap === null || cap === undefined) && freeText === null) return '—';
  return [cap === null || cap === undefined ? null : t('facility.capacity_n', { n: num(cap) }), freeText]
    .filter(Boolean).join(' · ');
}

function facilityCard(f, open) {
  const p = f.properties || {};
  const st = openState(open || p.open);
  return h('div', { class: 'facility' },
    h('h3', null, p.name || t('facility.unnamed')),
    h('div', { class: 'badges' },
      h('span', { class: 'badge badge-kind' },
        h('span', { class: 'dot', style: { background: kindColor(p.kind) }, 'aria-hidden': 'true' }), kindLabel(p.kind)),
      p.shared === true ? badge(t('badge.shared'), 'badge-shared') : null,
      demoBadge(p)),
    dl([
      [t('facility.open_state'), h('span', { class: `open ${st.cls}` }, st.label)],
      [t('facility.opening_hours'), p.opening_hours ? h('code', null, p.opening_hours) : t('facility.no_hours')],
      [t('facility.owner'), text(p.owner)],
      [t('facility.audience'), audienceLabel(p.audience)],
      [t('facility.capacity'), capacityText(p)],
    ]));
}

function openPopup(facilityId, lngLat, open) {
  const f = state.facilities.get(String(facilityId));
  if (!f) return;
  const at = f.geometry && f.geometry.type === 'Point' ? f.geometry.coordinates : lngLat;
  if (state.popup) state.popup.remove();
  const popup = new Popup({ maxWidth: '320px', focusAfterOpen: false, className: 'gc-popup' })
    .setLngLat(at)
    .setDOMContent(facilityCard(f, open))
    .addTo(map);
  state.popup = popup;
  state.popupFacilityId = { id: String(facilityId), open };
  popup.on('close', () => {
    if (state.popup === popup) { state.popup = null; state.popupFacilityId = null; }
  });
}

function renderPopup() {
  if (!state.popup || !state.popupFacilityId) return;
  const f = state.facilities.get(state.popupFacilityId.id);
  if (f) state.popup.setDOMContent(facilityCard(f, state.popupFacilityId.open));
}

// ---------- locate ----------
function setPick(lngLat) {
  state.origin = lngLat;
  setData('pick', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: lngLat } }] });
}

async function runLocate(lngLat) {
  const seq = ++state.locateSeq;
  state.locate = { lngLat, loading: true };
  renderLocate();
  try {
    const result = await locate(lngLat[0], lngLat[1]);
    if (seq !== state.locateSeq) return;
    state.locate = { lngLat, result: result || {} };
  } catch (err) {
    if (seq !== state.locateSeq) return;
    state.locate = { lngLat, error: errorText(err) };
  }
  const r = state.locate.result || {};
  map.setFilter('grids-selected', selectFilter(r.grid ? r.grid.id : null));
  map.setFilter('buildings-selected', selectFilter(r.building ? r.building.id : null));
  renderLocate();
  openSheet(lngLat);
}

function section(title, props, rows, emptyText) {
  return h('div', { class: 'card' },
    h('h3', null, title, props ? demoBadge(props) : null),
    props ? dl(rows(props)) : h('p', { class: 'hint' }, emptyText));
}

function renderLocate() {
  const box = clear($('locate-result'));
  const s = state.locate;
  if (!s) {
    box.append(h('p', { class: 'hint' }, t('locate.hint')));
    return;
  }
  box.append(h('p', { class: 'coords' }, t('locate.at', { lon: s.lngLat[0].toFixed(6), lat: s.lngLat[1].toFixed(6) })));
  if (s.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
  if (s.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, t('msg.locate_failed', { message: s.error }))); return; }
  const r = s.result;
  if (!r.grid && !r.community && !r.street_office && !r.building) {
    box.append(h('p', { class: 'hint' }, t('locate.nothing')));
    return;
  }
  box.append(
    section(t('locate.grid'), r.grid, (g) => [
      [t('field.name'), text(g.name)],
      [t('field.grid_code'), h('code', null, text(g.code))],
      [t('field.chief'), text(g.chief_name)],
      [t('field.households'), num(g.households)],
      [t('field.residents'), num(g.residents)],
      [t('field.building_count'), num(g.building_count)],
    ], t('locate.no_grid')),
    section(t('locate.community'), r.community, (c) => [
      [t('field.name'), text(c.name)],
      [t('field.code'), h('code', null, text(c.code))],
    ], t('locate.no_community')),
    section(t('locate.street_office'), r.street_office, (o) => [
      [t('field.name'), text(o.name)],
      [t('field.code'), h('code', null, text(o.code))],
    ], t('locate.no_street_office')),
    section(t('locate.building'), r.building, (b) => [
      [t('field.name'), b.name ? b.name : t('building.unnamed')],
      [t('field.building_type'), buildingLabel(b.building)],
      [t('field.residential'), b.residential === true ? t('common.yes') : b.residential === false ? t('common.no') : '—'],
      [t('field.levels'), num(b.levels)],
      [t('field.area'), b.area_m2 === null || b.area_m2 === undefined ? '—' : t('unit.square_metres', { n: num(b.area_m2) })],
      [t('field.households'), num(b.households)],
      [t('field.residents'), num(b.residents)],
    ], t('locate.no_building')),
  );
}

// ---------- nearest ----------
function renderKindSelect() {
  const sel = $('nearest-kind');
  const value = sel.value;
  clear(sel);
  sel.append(h('option', { value: '' }, t('nearest.choose_kind')));
  for (const k of state.kinds) sel.append(h('option', { value: k.id }, kindLabel(k.id)));
  if ([...sel.options].some((o) => o.value === value)) sel.value = value;
}

function currentKind() {
  return $('nearest-kind').value;
}

async function runNearest(lngLat, { pan = true } = {}) {
  const kind = currentKind();
  if (!kind) return;
  const openNow = $('nearest-open-now').checked;
  const seq = ++state.nearestSeq;
  state.nearest = { lngLat, kind, openNow, loading: true };
  renderNearest();
  try {
    const res = await nearest({ lon: lngLat[0], lat: lngLat[1], kind, k: NEAREST_K, openNow });
    if (seq !== state.nearestSeq) return;
    const results = (res && Array.isArray(res.results) ? res.results : []).filter((r) => r && r.facility);
    state.nearest = { lngLat, kind, openNow, results };
  } catch (err) {
    if (seq !== state.nearestSeq) return;
    state.nearest = { lngLat, kind, openNow, error: errorText(err) };
  }
  const results = state.nearest.results || [];
  const features = results.map((r, i) => {
    const f = r.facility;
    f.properties = f.properties || {};
    f.properties._color = kindColor(f.properties.kind);
    if (f.properties.id !== undefined && f.properties.id !== null) state.facilities.set(String(f.properties.id), f);
    return { type: 'Feature', geometry: f.geometry, properties: { id: f.properties.id, role: 'result', rank: i + 1 } };
  });
  setData('nearest', { type: 'FeatureCollection', features });
  renderNearest();
  if (NARROW.matches) setSheet(true);
  else $('nearest-results').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  // Zoom out if needed so that the origin and all results are in sight.
  const b = features.length ? featuresBbox([...features, { geometry: { type: 'Point', coordinates: lngLat } }]) : null;
  if (b && !contains(visibleBbox(), b)) fitTo(b, { animate: true, duration: 500, maxZoom: map.getZoom() });
  else if (pan) openSheet(lngLat);
}

function clearNearest() {
  state.nearestSeq++;
  state.nearest = null;
  setData('nearest', EMPTY);
  renderNearest();
}

function renderNearest() {
  const box = clear($('nearest-results'));
  const s = state.nearest;
  if (!s) return;
  const head = t('nearest.for', { kind: kindLabel(s.kind), lon: s.lngLat[0].toFixed(5), lat: s.lngLat[1].toFixed(5) }) +
    (s.openNow ? ' · ' + t('nearest.open_now') : '');
  box.append(h('p', { class: 'coords' }, head));
  if (s.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
  if (s.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, t('msg.nearest_failed', { message: s.error }))); return; }
  if (!s.results.length) { box.append(h('p', { class: 'hint' }, t('nearest.none'))); return; }
  box.append(h('ol', { class: 'results' }, s.results.map((r) => {
    const p = r.facility.properties;
    const st = openState(r.open || p.open);
    const coords = r.facility.geometry && r.facility.geometry.type === 'Point' ? r.facility.geometry.coordinates : null;
    return h('li', null, h('button', {
      type: 'button', class: 'result',
      onclick: () => {
        if (coords) map.easeTo({ center: coords, zoom: Math.max(map.getZoom(), 16), duration: 500 });
        openPopup(p.id, coords || s.lngLat, r.open);
        if (NARROW.matches) closeSheet();
      },
    },
    h('span', { class: 'result-name' },
      h('span', { class: 'dot', style: { background: kindColor(p.kind) }, 'aria-hidden': 'true' }),
      p.name || t('facility.unnamed'),
      p.shared === true ? badge(t('badge.shared'), 'badge-shared') : null),
    h('span', { class: 'result-meta' },
      h('span', { class: 'distance' }, metres(r.distance_m)),
      h('span', { class: `open ${st.cls}` }, st.label))));
  })));
}

function useMyLocation() {
  if (!navigator.geolocation) {
    showMessage('geo', t('msg.geo_unavailable'));
    return;
  }
  const btn = $('nearest-geolocate');
  btn.disabled = true;
  navigator.geolocation.getCurrentPosition((pos) => {
    btn.disabled = false;
    clearMessage('geo');
    const lngLat = [pos.coords.longitude, pos.coords.latitude];
    setPick(lngLat);
    map.easeTo({ center: lngLat, zoom: Math.max(map.getZoom(), 15), duration: 500 });
    runLocate(lngLat);
    if (currentKind()) runNearest(lngLat, { pan: false });
    else showMessage('geo', t('nearest.choose_first'), 'info');
  }, (err) => {
    btn.disabled = false;
    showMessage('geo', t('msg.geo_failed', { message: err.message || err.code }));
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
}

// ---------- bottom sheet (narrow screens) ----------
function setSheet(open) {
  document.body.classList.toggle('sheet-open', open);
  $('sheet-toggle').setAttribute('aria-expanded', String(open));
  $('sheet-toggle').setAttribute('aria-label', t(open ? 'panel.collapse' : 'panel.expand'));
  $('sheet-toggle').title = t(open ? 'panel.collapse' : 'panel.expand');
}
// On a narrow screen, open the sheet and pan the map so that `lngLat` stays visible above it.
function openSheet(lngLat) {
  if (!NARROW.matches) return;
  setSheet(true);
  if (!lngLat) return;
  const visible = map.getContainer().clientHeight - $('panel').offsetHeight;
  const y = map.project(lngLat).y;
  if (visible > 80 && (y > visible - 24 || y < 24)) map.panBy([0, y - visible / 2], { duration: 300 });
}
function closeSheet() { setSheet(false); }

// ---------- wiring ----------
const FACILITY_LAYERS = ['facilities-circle', 'facilities-shared-ring', 'nearest-halo'];

map.on('click', (e) => {
  const pad = NARROW.matches ? 10 : 5;
  const hits = map.queryRenderedFeatures(
    [[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]],
    { layers: FACILITY_LAYERS },
  );
  const hit = hits.find((f) => f.properties && f.properties.id !== undefined && state.facilities.has(String(f.properties.id)));
  if (hit) {
    const id = String(hit.properties.id);
    const result = state.nearest && state.nearest.results &&
      state.nearest.results.find((r) => String(r.facility.properties.id) === id);
    openPopup(id, [e.lngLat.lng, e.lngLat.lat], result ? result.open : undefined);
    return;
  }
  const lngLat = [e.lngLat.lng, e.lngLat.lat];
  setPick(lngLat);
  runLocate(lngLat);
  if (currentKind()) runNearest(lngLat, { pan: false }); // runLocate pans
});

for (const layer of FACILITY_LAYERS) {
  map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}

map.on('moveend', scheduleLoad);

map.on('load', async () => {
  const kinds = loadKinds();
  await initialView();
  loadAll();
  await kinds;
  state.started = true;
  map.triggerRepaint();
});
map.on('idle', () => {
  if (state.started && state.pending === 0) document.documentElement.dataset.ready = '1';
});

// A handle for browser tests and the console (e.g. map.project() to click a facility).
window.gridcircle = { map, state };

$('nearest-kind').addEventListener('change', () => {
  if (!currentKind()) clearNearest();
  else if (state.origin) runNearest(state.origin);
});
$('nearest-open-now').addEventListener('change', () => {
  if (currentKind() && state.origin) runNearest(state.origin);
});
$('nearest-geolocate').addEventListener('click', useMyLocation);
$('lang-switch').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
$('sheet-toggle').addEventListener('click', () => setSheet(!document.body.classList.contains('sheet-open')));

onLangChange(() => {
  renderLayerList();
  renderZoomHint();
  renderKindLegend();
  renderKindSelect();
  renderLocate();
  renderNearest();
  renderPopup();
  renderMessages();
  setSheet(document.body.classList.contains('sheet-open'));
});

applyStatic();
renderLayerList();
renderLocate();
setSheet(false);
