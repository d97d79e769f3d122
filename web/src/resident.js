// 居民: 找附近开放的设施 — the resident's journey.
// Pick a kind, tap the map (or use the browser's location), see the nearest ones by walking
// minutes (GET /nearest?mode=walk) with their routes drawn, opening state and free spaces.
import { nearest, nearestQuery, isAbort } from './api.js';
import { kindColor } from './colors.js';
import { EMPTY } from './style.js';
import { metres, minutesText, openState, spacesText, audienceLabel } from './format.js';

const QUICK_KINDS = ['toilet', 'drinking_water', 'reading_room', 'parking', 'clinic'];
const SANITATION_KINDS = ['drinking_water', 'toilet'];
const K = 5;

export function initResident(ctx) {
  const { map, t, $, h, clear } = ctx;
  const params = new URLSearchParams(location.search);
  const s = {
    kind: params.get('kind') || '',
    at: params.get('at') || null, // a fixed instant instead of "now" (demos, tests)
    origin: null,
    seq: 0,
    result: null, // { query, results, reference } | { loading } | { error }
    selected: 0,
    ctl: null,
  };

  function allowed(kind) {
    return !$('res-sanitation').checked || SANITATION_KINDS.includes(kind);
  }

  function setKind(kind) {
    if (kind && !allowed(kind)) return;
    s.kind = kind;
    renderKinds();
    if (!kind) clearResults();
    else if (s.origin) run(s.origin);
    else ctx.setModeHint(t('res.now_tap'));
  }

  function renderKinds() {
    const box = clear($('res-kinds'));
    const known = ctx.state.kinds.map((k) => k.id);
    const quick = QUICK_KINDS.filter((k) => known.length === 0 || known.includes(k));
    for (const id of quick) {
      const on = s.kind === id;
      box.append(h('button', {
        type: 'button', class: `chip${on ? ' on' : ''}`, role: 'radio', 'aria-checked': String(on),
        'data-kind': id, disabled: !allowed(id),
        onclick: () => setKind(on ? '' : id),
      }, h('span', { class: 'dot', style: { background: kindColor(id) }, 'aria-hidden': 'true' }), ctx.kindLabel(id)));
    }
    const sel = clear($('res-kind-select'));
    sel.append(h('option', { value: '' }, t('res.choose_kind')));
    for (const k of ctx.state.kinds) {
      sel.append(h('option', { value: k.id, disabled: !allowed(k.id) }, ctx.kindLabel(k.id)));
    }
    sel.value = s.kind && [...sel.options].some((o) => o.value === s.kind) ? s.kind : '';
    const atBox = $('res-at');
    atBox.hidden = !s.at;
    atBox.textContent = s.at ? t('res.at_fixed', { at: s.at.replace('T', ' ').slice(0, 16) }) : '';
  }

  function clearResults() {
    s.seq++;
    if (s.ctl) s.ctl.abort();
    s.result = null;
    ctx.setData('routes', EMPTY);
    ctx.setData('nearest', EMPTY);
    renderResults();
  }

  async function run(lngLat) {
    if (!s.kind) return;
    const seq = ++s.seq;
    if (s.ctl) s.ctl.abort();
    const ctl = new AbortController();
    s.ctl = ctl;
    const q = {
      lon: lngLat[0], lat: lngLat[1], kind: s.kind, k: K, mode: 'walk',
      openNow: $('res-open').checked,
      audience: $('res-sanitation').checked ? 'sanitation_workers' : undefined,
      at: s.at || undefined,
    };
    s.result = { loading: true, query: nearestQuery(q) };
    s.selected = 0;
    renderResults();
    try {
      const res = await ctx.track(nearest(q, { signal: ctl.signal }));
      if (seq !== s.seq) return;
      const results = (res && Array.isArray(res.results) ? res.results : []).filter((r) => r && r.facility);
      s.result = { query: nearestQuery(q), results, reference: res && res.query && res.query.at };
    } catch (err) {
      if (isAbort(err) || seq !== s.seq) return;
      s.result = { query: nearestQuery(q), error: ctx.errorText(err) };
    }
    for (const r of s.result.results || []) {
      const f = r.facility;
      f.properties = f.properties || {};
      f.properties._color = kindColor(f.properties.kind);
      if (f.properties.id !== undefined && f.properties.id !== null) ctx.state.facilities.set(String(f.properties.id), f);
    }
    drawResults();
    renderResults();
    ctx.setModeHint('');
    if (ctx.NARROW.matches) ctx.setSheet(true);
    $('res-results').scrollIntoView({ block: 'nearest' });
    const results = s.result.results || [];
    if (results.length) {
      ctx.ensureVisible([
        { geometry: { type: 'Point', coordinates: lngLat } },
        ...results.map((r) => r.route || r.facility),
      ]);
    }
  }

  function drawResults() {
    const results = (s.result && s.result.results) || [];
    const routes = results
      .map((r, i) => r.route && r.route.geometry ? {
        type: 'Feature', geometry: r.route.geometry,
        properties: { rank: i + 1, id: r.facility.properties.id, selected: i === s.selected },
      } : null)
      .filter(Boolean);
    ctx.setData('routes', { type: 'FeatureCollection', features: routes });
    ctx.setData('nearest', {
      type: 'FeatureCollection',
      features: results.map((r, i) => ({
        type: 'Feature', geometry: r.facility.geometry,
        properties: { id: r.facility.properties.id, role: 'result', rank: i + 1 },
      })),
    });
  }

  function select(i) {
    s.selected = i;
    drawResults();
    renderResults();
    const r = s.result.results[i];
    const coords = r.facility.geometry && r.facility.geometry.coordinates;
    if (coords) {
      ctx.ensureVisible([r.route || r.facility, { geometry: { type: 'Point', coordinates: s.origin } }]);
      ctx.openPopup(r.facility.properties.id, coords, r.open, s.result.reference);
    }
  }

  function renderResults() {
    const box = clear($('res-results'));
    const r = s.result;
    if (!r) return;
    if (r.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
    if (r.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, t('msg.nearest_failed', { message: r.error }))); return; }
    const head = [ctx.kindLabel(s.kind), $('res-open').checked ? t('res.open_now') : null,
      $('res-sanitation').checked ? t('res.sanitation') : null].filter(Boolean).join(' · ');
    box.append(h('p', { class: 'coords' }, head));
    if (!r.results.length) { box.append(h('p', { class: 'hint', id: 'res-none' }, t('res.none'))); return; }
    box.append(h('ol', { class: 'results', id: 'res-list' }, r.results.map((x, i) => {
      const p = x.facility.properties;
      const st = openState(x.open || p.open, r.reference);
      const spaces = p.kind === 'parking' || p.capacity !== null || p.free !== null ? spacesText(p) : null;
      return h('li', { 'data-facility-id': p.id, 'data-minutes': x.minutes, 'data-rank': i + 1 },
        h('button', { type: 'button', class: `result${i === s.selected ? ' selected' : ''}`, 'aria-pressed': String(i === s.selected), onclick: () => select(i) },
          h('span', { class: 'result-name' },
            h('span', { class: 'rank', style: { background: kindColor(p.kind) } }, String(i + 1)),
            h('span', { class: 'name' }, p.name || t('facility.unnamed')),
            p.shared === true ? ctx.badge(t('badge.shared'), 'badge-shared') : null,
            p.audience && p.audience !== 'everyone' ? ctx.badge(audienceLabel(p.audience), 'badge-audience') : null),
          h('span', { class: 'result-meta' },
            h('span', { class: 'walk' }, t('res.walk', { minutes: minutesText(x.minutes), metres: metres(x.distance_m) })),
            h('span', { class: `open ${st.cls}` }, st.label)),
          spaces ? h('span', { class: 'result-extra spaces' }, t('res.spaces', { text: spaces })) : null,
          p.owner ? h('span', { class: 'result-extra' }, t('res.owner', { owner: p.owner })) : null));
    })));
  }

  function useMyLocation() {
    if (!navigator.geolocation) {
      ctx.showMessage('geo', t('msg.geo_unavailable'));
      return;
    }
    const btn = $('res-geolocate');
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      btn.disabled = false;
      ctx.clearMessage('geo');
      const lngLat = [pos.coords.longitude, pos.coords.latitude];
      map.easeTo({ center: lngLat, zoom: Math.max(map.getZoom(), 15), duration: 400 });
      place(lngLat);
      if (!s.kind) ctx.showMessage('geo', t('res.choose_first'), 'info');
    }, (err) => {
      btn.disabled = false;
      ctx.showMessage('geo', t('msg.geo_failed', { message: err.message || err.code }));
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function place(lngLat) {
    s.origin = lngLat;
    ctx.setPick(lngLat);
    ctx.runLocate(lngLat);
    if (s.kind) run(lngLat);
    else ctx.openSheet(lngLat);
  }

  $('res-kind-select').addEventListener('change', (e) => setKind(e.target.value));
  $('res-open').addEventListener('change', () => { if (s.kind && s.origin) run(s.origin); renderResults(); });
  $('res-sanitation').addEventListener('change', () => {
    if ($('res-sanitation').checked && !SANITATION_KINDS.includes(s.kind)) s.kind = 'drinking_water';
    renderKinds();
    if (s.kind && s.origin) run(s.origin);
  });
  $('res-geolocate').addEventListener('click', useMyLocation);

  return {
    state: s,
    render() { renderKinds(); renderResults(); },
    start() { renderKinds(); },
    activate() {
      map.setLayoutProperty('route-line', 'visibility', 'visible');
      map.setLayoutProperty('routes-casing', 'visibility', 'visible');
      ctx.setPick(s.origin);
      if (s.kind && !s.origin) ctx.setModeHint(t('res.now_tap'));
    },
    deactivate() {
      map.setLayoutProperty('route-line', 'visibility', 'none');
      map.setLayoutProperty('routes-casing', 'visibility', 'none');
      ctx.setModeHint('');
    },
    onPlaceClick(lngLat) { place(lngLat); },
    facilityOpen(id) {
      const r = s.result && s.result.results && s.result.results.find((x) => String(x.facility.properties.id) === id);
      return r ? { open: r.open, reference: s.result.reference } : null;
    },
  };
}
