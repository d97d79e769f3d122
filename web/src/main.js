// gridcircle web map: entry point bundled by esbuild into dist/app.js and dist/app.css.
// The shell: the map, layers, messages, the facility popup, "this place" (/locate), tabs and the
// bottom sheet. The three journeys live in resident.js, planner.js and street.js.
import { Map as MapLibreMap, Popup, NavigationControl, ScaleControl, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import './app.css';

import { t, getLang, setLang, onLangChange, applyStatic } from './i18n.js';
import { h, clear } from './dom.js';
import { gridColor, kindColor } from './colors.js';
import { COLLECTIONS, EMPTY, mapStyle, selectFilter, tileUrl } from './style.js';
import { getItems, getCollections, getKinds, getHealth, locate, isAbort } from './api.js';
import { num, text, audienceLabel, buildingLabel, openState, spacesText } from './format.js';
import { featuresBbox, validBbox, unionBbox, contains } from './geo.js';
import { initResident } from './resident.js';
import { initPlanner } from './planner.js';
import { initStreet } from './street.js';

// MapLibre's tile worker is shipped beside app.js (see build.mjs).
setWorkerUrl(new URL('./maplibre-gl-worker.js', import.meta.url).href);

const DEFAULT_CENTER = [118.7843, 32.0415]; // Nanjing Xinjiekou, the demo city
const DEFAULT_ZOOM = 13;
const NARROW = window.matchMedia('(max-width: 700px)');
const DEBOUNCE_MS = 300;
const CACHE_MS = 60000;
const TABS = ['resident', 'planner', 'street'];

const $ = (id) => document.getElementById(id);

// ---------- state ----------
const state = {
  kinds: [],
  kindsById: new Map(),
  timezone: null,
  visible: Object.fromEntries(COLLECTIONS.map((c) => [c.id, true])),
  loaded: {}, // collection id -> { bbox, at, demo }
  data: {}, // collection id -> last FeatureCollection
  controllers: {}, // collection id -> { ctl: AbortController, bbox } of the request in flight
  pending: 0,
  facilities: new Map(), // facility id -> Feature (the original, with nested `open`)
  popup: null,
  popupFacilityId: null,
  locate: null, // { lngLat, result } | { lngLat, loading } | { lngLat, error }
  locateSeq: 0,
  started: false, // initial view and first loads requested
  tab: null,
  tileVersion: {}, // tile layer -> cache-busting version after an edit
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

/** Count of requests in flight; html[data-ready] is set only while it is zero and the map is idle. */
function setPending(delta) {
  state.pending += delta;
  $('loading').hidden = state.pending <= 0;
  if (state.pending > 0) delete document.documentElement.dataset.ready;
  else if (state.started && map.loaded() && !map.isMoving()) map.triggerRepaint(); // → idle → ready
}

/** Runs `promise` counted as pending (for the loading pill and html[data-ready]). */
async function track(promise) {
  setPending(1);
  try {
    return await promise;
  } finally {
    setPending(-1);
  }
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
  if (isAbort(e && e.error)) return;
  showMessage('map', t('msg.map_error', { message: errorText(e && e.error) }));
});

function sheetCover() {
  if (!NARROW.matches) return 0;
  // Collapsed, the sheet still shows its head and the tabs (--peek-tabs in app.css).
  return document.body.classList.contains('sheet-open') ? $('panel').offsetHeight : 108;
}

function fitPadding() {
  if (NARROW.matches) return { top: 40, left: 24, right: 24, bottom: sheetCover() + 24 };
  return 40;
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
  const hgt = Math.max(1, c.clientHeight - sheetCover());
  const nw = map.unproject([0, 0]);
  const se = map.unproject([c.clientWidth, hgt]);
  return [nw.lng, se.lat, se.lng, nw.lat];
}

function setData(id, fc) {
  const src = map.getSource(id);
  if (src) src.setData(fc || EMPTY);
}

// ---------- layer data (GeoJSON collections; buildings and roads are tiles) ----------
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

const dataListeners = [];

async function loadCollection(id, { force = false } = {}) {
  const coll = COLLECTIONS.find((c) => c.id === id);
  if (!coll || coll.tiles || !state.visible[id]) return;
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
    state.data[id] = fc;
    state.loaded[id] = { bbox, at: Date.now(), demo: fc.features.some((f) => f.properties.demo === true) };
    if (loadErrors.has(id)) setLoadError(id, null);
    renderDemoNote();
    for (const fn of dataListeners) fn(id, fc);
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

/** After an edit: re-fetch a GeoJSON collection, or make MapLibre re-request a tile layer. */
function refreshLayer(id) {
  const coll = COLLECTIONS.find((c) => c.id === id);
  if (coll && !coll.tiles) return loadCollection(id, { force: true });
  state.tileVersion[id] = Date.now().toString(36);
  const src = map.getSource(id);
  if (src && src.setTiles) src.setTiles([tileUrl(id, state.tileVersion[id])]);
  return Promise.resolve();
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
  try {
    const health = await getHealth();
    state.timezone = health && health.timezone;
  } catch { /* the planner falls back to the browser's zone */ }
  renderKindLegend();
  renderPopup();
  rerender();
}

// ---------- layer panel ----------
const SWATCH = {
  land: 'swatch-land',
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
  const needs = COLLECTIONS.filter((c) => c.id === 'buildings' && state.visible[c.id] && map.getZoom() < c.minZoom);
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
function facilityCard(f, open, reference) {
  const p = f.properties || {};
  const st = openState(open || p.open, reference);
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
      [t('facility.capacity'), spacesText(p) || '—'],
    ]));
}

function openPopup(facilityId, lngLat, open, reference) {
  const f = state.facilities.get(String(facilityId));
  if (!f) return;
  const at = f.geometry && f.geometry.type === 'Point' ? f.geometry.coordinates : lngLat;
  if (state.popup) state.popup.remove();
  const popup = new Popup({ maxWidth: '320px', focusAfterOpen: false, className: 'gc-popup' })
    .setLngLat(at)
    .setDOMContent(facilityCard(f, open, reference))
    .addTo(map);
  state.popup = popup;
  state.popupFacilityId = { id: String(facilityId), open, reference };
  popup.on('close', () => {
    if (state.popup === popup) { state.popup = null; state.popupFacilityId = null; }
  });
}

function renderPopup() {
  if (!state.popup || !state.popupFacilityId) return;
  const { id, open, reference } = state.popupFacilityId;
  const f = state.facilities.get(id);
  if (f) state.popup.setDOMContent(facilityCard(f, open, reference));
}

// ---------- locate ----------
function setPick(lngLat) {
  setData('pick', lngLat
    ? { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: lngLat } }] }
    : EMPTY);
}

async function runLocate(lngLat) {
  const seq = ++state.locateSeq;
  state.locate = { lngLat, loading: true };
  renderLocate();
  try {
    const result = await track(locate(lngLat[0], lngLat[1]));
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

// ---------- bottom sheet (narrow screens) ----------
function setSheet(open) {
  document.body.classList.toggle('sheet-open', open);
  $('sheet-toggle').setAttribute('aria-expanded', String(open));
  $('sheet-toggle').setAttribute('aria-label', t(open ? 'panel.collapse' : 'panel.expand'));
  $('sheet-toggle').title = t(open ? 'panel.collapse' : 'panel.expand');
}

/** On a narrow screen, open the sheet and pan the map so that `lngLat` stays visible above it. */
function openSheet(lngLat) {
  if (!NARROW.matches) return;
  setSheet(true);
  if (!lngLat) return;
  const visible = map.getContainer().clientHeight - $('panel').offsetHeight;
  const y = map.project(lngLat).y;
  if (visible > 80 && (y > visible - 24 || y < 24)) map.panBy([0, y - visible / 2], { duration: 300 });
}

/** Zooms out if needed so that every feature is in sight above the sheet. */
function ensureVisible(features, opts = {}) {
  const b = featuresBbox(features);
  if (b && !contains(visibleBbox(), b)) fitTo(b, { animate: true, duration: 400, maxZoom: Math.max(map.getZoom(), 16), ...opts });
}

function setModeHint(message) {
  const el = $('mode-hint');
  el.hidden = !message;
  el.textContent = message || '';
}

// ---------- journeys ----------
const ctx = {
  map, state, t, $, h, clear, kindLabel, badge, demoBadge, dl,
  showMessage, clearMessage, errorText, setPending, track, setData, fitTo, ensureVisible, visibleBbox,
  openPopup, setPick, runLocate, openSheet, setSheet, setModeHint, refreshLayer, NARROW,
  onData: (fn) => dataListeners.push(fn),
  loadCollection,
};

const journeys = {
  resident: initResident(ctx),
  planner: initPlanner(ctx),
  street: initStreet(ctx),
};

function selectTab(tab, { fromHash = false } = {}) {
  if (!TABS.includes(tab)) tab = 'resident';
  if (state.tab === tab) return;
  const prev = state.tab;
  state.tab = tab;
  for (const name of TABS) {
    const on = name === tab;
    $(`tab-${name}`).hidden = !on;
    const btn = $(`tab-btn-${name}`);
    btn.setAttribute('aria-selected', String(on));
    btn.tabIndex = on ? 0 : -1;
  }
  document.body.dataset.tab = tab;
  // The map side waits for the style (see the 'load' handler).
  if (state.started) {
    if (prev && journeys[prev].deactivate) journeys[prev].deactivate();
    if (journeys[tab].activate) journeys[tab].activate();
  }
  if (!fromHash && location.hash !== `#${tab}`) history.replaceState(null, '', `#${tab}`);
}

function rerender() {
  for (const j of Object.values(journeys)) if (j.render) j.render();
}

// ---------- wiring ----------
const FACILITY_LAYERS = ['facilities-circle', 'facilities-shared-ring', 'nearest-halo'];

map.on('click', (e) => {
  const lngLat = [e.lngLat.lng, e.lngLat.lat];
  const journey = journeys[state.tab];
  // A journey that is drawing or picking takes the click first.
  if (journey && journey.onMapClick && journey.onMapClick(lngLat, e) === true) return;
  const pad = NARROW.matches ? 10 : 5;
  const hits = map.queryRenderedFeatures(
    [[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]],
    { layers: FACILITY_LAYERS },
  );
  const hit = hits.find((f) => f.properties && f.properties.id !== undefined && state.facilities.has(String(f.properties.id)));
  if (hit) {
    const id = String(hit.properties.id);
    const fromJourney = journey && journey.facilityOpen ? journey.facilityOpen(id) : null;
    openPopup(id, lngLat, fromJourney && fromJourney.open, fromJourney && fromJourney.reference);
    return;
  }
  if (journey && journey.onPlaceClick) journey.onPlaceClick(lngLat, e);
});

for (const layer of FACILITY_LAYERS) {
  map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}

map.on('moveend', scheduleLoad);
map.on('zoomend', renderZoomHint);

map.on('load', async () => {
  const kinds = loadKinds();
  await initialView();
  loadAll();
  await kinds;
  state.started = true;
  for (const [name, j] of Object.entries(journeys)) if (name !== state.tab && j.deactivate) j.deactivate();
  if (journeys[state.tab].activate) journeys[state.tab].activate();
  for (const j of Object.values(journeys)) if (j.start) j.start();
  map.triggerRepaint();
});
map.on('idle', () => {
  if (state.started && state.pending === 0) document.documentElement.dataset.ready = '1';
});

// A handle for browser tests and the console (e.g. map.project() to click a facility).
window.gridcircle = { map, state, journeys, selectTab };

for (const name of TABS) $(`tab-btn-${name}`).addEventListener('click', () => selectTab(name));
$('panel').querySelector('.tabs').addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
  const i = TABS.indexOf(state.tab);
  const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
  selectTab(next);
  $(`tab-btn-${next}`).focus();
});
window.addEventListener('hashchange', () => selectTab(location.hash.slice(1), { fromHash: true }));
$('lang-switch').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
$('sheet-toggle').addEventListener('click', () => setSheet(!document.body.classList.contains('sheet-open')));

onLangChange(() => {
  renderLayerList();
  renderZoomHint();
  renderKindLegend();
  renderLocate();
  renderPopup();
  renderMessages();
  rerender();
  setSheet(document.body.classList.contains('sheet-open'));
});

applyStatic();
renderLayerList();
renderLocate();
setSheet(NARROW.matches);
selectTab(location.hash.slice(1), { fromHash: true });
