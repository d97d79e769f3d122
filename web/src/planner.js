// 规划: 找覆盖缺口 — the planner's journey.
// Pick a service circle, minutes, mode (walk or radius) and a time of day; the map shades the
// circles of the facilities that count and marks uncovered buildings red; a table lists grids by
// coverage; a toggle shows where radius and walking disagree; export uncovered as CSV / GeoJSON.
import { coverage, coverageQuery, getCircles, facilityCircle, nearest, apiUrl, isAbort } from './api.js';
import { getLang } from './i18n.js';
import { EMPTY } from './style.js';
import { num, pct } from './format.js';
import { featuresBbox } from './geo.js';

const NONE = '__none__';

/** Today's date at `hhmm` in time zone `tz`, as RFC 3339 with the zone's offset. */
export function instantAt(hhmm, tz) {
  const now = new Date();
  const zone = tz || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(now).find((p) => p.type === 'timeZoneName');
  const offset = !name || name.value === 'GMT' ? '+00:00' : name.value.slice(3);
  return `${day}T${hhmm}:00${offset}`;
}

async function pool(items, size, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

export function initPlanner(ctx) {
  const { map, t, $, h, clear } = ctx;
  const s = {
    circles: [],
    circle: null,
    seq: 0,
    ctl: null,
    result: null, // coverage JSON | { loading } | { error }
    params: null,
    geojsonUrl: null,
    shading: 'none', // 'tiles' | 'shapes' | 'none'
    active: false,
  };

  function def() {
    return s.circles.find((c) => c.id === s.circle) || null;
  }

  function circleName(c) {
    return getLang() === 'zh' ? c.name : (c.name_en || c.name);
  }

  function currentParams() {
    const c = def();
    if (!c) return null;
    const minutes = Math.max(1, Math.min(60, Math.round(+$('plan-minutes').value || c.minutes)));
    const mode = document.querySelector('input[name="plan-mode"]:checked').value;
    const time = $('plan-time').value;
    return {
      circle: c.id,
      minutes,
      mode,
      at: time ? instantAt(time, ctx.state.timezone) : undefined,
      compare: mode === 'walk' && $('plan-compare').checked,
    };
  }

  function renderCircles() {
    const box = clear($('plan-circles'));
    for (const c of s.circles) {
      const on = s.circle === c.id;
      box.append(h('button', {
        type: 'button', class: `chip${on ? ' on' : ''}`, role: 'radio', 'aria-checked': String(on), 'data-circle': c.id,
        title: c.kinds.map((k) => ctx.kindLabel(k)).join(t('list.separator')),
        onclick: () => pick(c.id),
      }, circleName(c)));
    }
  }

  function pick(id) {
    s.circle = id;
    const c = def();
    $('plan-minutes').value = c.minutes;
    const radio = document.querySelector(`input[name="plan-mode"][value="${c.mode}"]`);
    if (radio) radio.checked = true;
    renderCircles();
    run();
  }

  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }

  async function run() {
    const p = currentParams();
    if (!p) return;
    const seq = ++s.seq;
    if (s.ctl) s.ctl.abort();
    const ctl = new AbortController();
    s.ctl = ctl;
    s.params = p;
    s.result = { loading: true };
    $('plan-compare').disabled = p.mode !== 'walk';
    render();
    try {
      const res = await ctx.track(coverage(p, { signal: ctl.signal }));
      if (seq !== s.seq) return;
      s.result = res;
    } catch (err) {
      if (isAbort(err) || seq !== s.seq) return;
      s.result = { error: ctx.errorText(err) };
      render();
      return;
    }
    ctx.setData('uncovered', s.result.uncovered || EMPTY);
    ctx.setData('compare', (s.result.compare && s.result.compare.covered_by_radius_not_by_walking) || EMPTY);
    if (s.geojsonUrl) URL.revokeObjectURL(s.geojsonUrl);
    s.geojsonUrl = null;
    render();
    await ctx.track(shade(p, seq, ctl.signal).catch((err) => {
      if (!isAbort(err)) ctx.showMessage('plan-shade', t('plan.shade_failed', { message: ctx.errorText(err) }));
    }));
  }

  /** Shades the circles of the facilities that count: from the facility_circles tiles when the
   * circle's own minutes and mode are asked for, else one /facilities/{id}/circle each. */
  async function shade(p, seq, signal) {
    const c = def();
    const useTiles = p.minutes === c.minutes && p.mode === c.mode;
    let ids = null; // null: every facility of the circle's kinds counts
    let facilities = [];
    if (p.at || !useTiles) {
      const center = map.getCenter();
      const lists = await Promise.all(c.kinds.map((kind) => nearest({
        lon: center.lng, lat: center.lat, kind, k: 100, mode: 'radius', openNow: !!p.at, at: p.at,
      }, { signal }).catch((err) => {
        if (isAbort(err)) throw err;
        return { results: [] };
      })));
      if (seq !== s.seq) return;
      const seen = new Set();
      for (const list of lists) {
        for (const r of list.results || []) {
          const id = r.facility.properties.id;
          if (!seen.has(id)) { seen.add(id); facilities.push(r.facility); }
        }
      }
      ids = [...seen];
    }
    if (useTiles) {
      const filter = ids === null
        ? ['==', ['get', 'circle'], c.id]
        : ['all', ['==', ['get', 'circle'], c.id], ['in', ['get', 'facility_id'], ['literal', ids.length ? ids : [-1]]]];
      map.setFilter('circles-fill', filter);
      map.setFilter('circles-line', filter);
      ctx.setData('circle_shapes', EMPTY);
      s.shading = 'tiles';
    } else {
      map.setFilter('circles-fill', ['==', ['get', 'circle'], NONE]);
      map.setFilter('circles-line', ['==', ['get', 'circle'], NONE]);
      const shapes = await pool(facilities, 4, (f) => facilityCircle(f.properties.id, { circle: c.id, minutes: p.minutes, mode: p.mode }, { signal })
        .catch((err) => {
          if (isAbort(err)) throw err;
          return { features: [] }; // e.g. a facility off the street network
        }));
      if (seq !== s.seq) return;
      ctx.setData('circle_shapes', { type: 'FeatureCollection', features: shapes.flatMap((fc) => (fc && fc.features) || []) });
      s.shading = 'shapes';
    }
    setVisible(true);
  }

  function setVisible(on) {
    for (const id of ['circles-fill', 'circles-line', 'circle_shapes-fill', 'circle_shapes-line', 'uncovered-fill', 'uncovered-line', 'compare-fill', 'compare-line']) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    }
  }

  function render() {
    renderCircles();
    const box = clear($('plan-summary'));
    const table = clear($('plan-table'));
    const cmp = $('plan-compare-result');
    const csv = $('plan-csv');
    const r = s.result;
    const ready = r && !r.loading && !r.error;
    csv.classList.toggle('disabled', !ready);
    $('plan-geojson').disabled = !ready;
    if (!r) {
      box.append(h('p', { class: 'hint' }, t('plan.hint')));
      cmp.hidden = true;
      csv.removeAttribute('href');
      return;
    }
    if (r.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
    if (r.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, t('plan.failed', { message: r.error }))); return; }
    const sum = r.summary || {};
    const c = def();
    box.append(h('div', { class: 'card summary' },
      h('p', { class: 'summary-line' },
        t('plan.summary_for', {
          circle: c ? circleName(c) : r.circle.name, minutes: num(r.minutes),
          mode: t(r.mode === 'walk' ? 'plan.mode_walk' : 'plan.mode_radius'),
          time: r.at ? r.at.slice(11, 16) : t('plan.time_any'),
        })),
      h('div', { class: 'stats' },
        h('div', { class: 'stat bad' },
          h('span', { class: 'stat-n', id: 'plan-uncovered-count' }, num(sum.buildings_uncovered)),
          h('span', { class: 'stat-l' }, t('plan.uncovered_buildings'))),
        h('div', { class: 'stat bad' },
          h('span', { class: 'stat-n', id: 'plan-uncovered-households' }, num(sum.households_uncovered)),
          h('span', { class: 'stat-l' }, t('plan.uncovered_households'))),
        h('div', { class: 'stat bad' },
          h('span', { class: 'stat-n', id: 'plan-uncovered-residents' }, num(sum.residents_uncovered)),
          h('span', { class: 'stat-l' }, t('plan.uncovered_residents'))),
        h('div', { class: 'stat' },
          h('span', { class: 'stat-n', id: 'plan-coverage-pct' }, pct(sum.coverage_pct)),
          h('span', { class: 'stat-l' }, t('plan.coverage')))),
      h('p', { class: 'hint' }, t('plan.counted', { n: num(r.facilities_counted), total: num(sum.buildings) })),
      h('p', { class: 'legend-line' },
        h('span', { class: 'swatch swatch-uncovered', 'aria-hidden': 'true' }), t('plan.legend_uncovered'),
        h('span', { class: 'swatch swatch-circle', 'aria-hidden': 'true' }), t('plan.legend_circle'))));
    if (r.compare) {
      cmp.hidden = false;
      cmp.innerHTML = '';
      cmp.append(h('span', { class: 'swatch swatch-compare', 'aria-hidden': 'true' }),
        h('span', { id: 'plan-compare-count' }, t('plan.compare_result', {
          n: num(r.compare.count), households: num(r.compare.households), metres: num(r.compare.radius_m),
        })));
    } else {
      cmp.hidden = true;
    }
    const p = s.params;
    csv.href = apiUrl(`coverage?${coverageQuery({ ...p, compare: false, format: 'csv' })}`);
    csv.setAttribute('download', `uncovered-${p.circle}-${p.minutes}min-${p.mode}${p.at ? '-' + p.at.slice(11, 16).replace(':', '') : ''}.csv`);

    const rows = [...(r.breakdown || [])].sort((a, b) =>
      (a.coverage_pct - b.coverage_pct) || (b.households_uncovered - a.households_uncovered) || String(a.code).localeCompare(String(b.code)));
    table.append(h('table', { class: 'grid-table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('plan.col_grid')),
        h('th', { scope: 'col', class: 'n' }, t('plan.col_coverage')),
        h('th', { scope: 'col', class: 'n' }, t('plan.col_households')),
        h('th', { scope: 'col', class: 'n' }, t('plan.col_residents')))),
      h('tbody', null, rows.map((g) => h('tr', {
        'data-grid-id': g.grid_id, tabindex: '0',
        class: g.coverage_pct < 50 ? 'low' : g.coverage_pct < 100 ? 'mid' : 'full',
        onclick: () => zoomToGrid(g.grid_id),
        onkeydown: (e) => { if (e.key === 'Enter') zoomToGrid(g.grid_id); },
      },
      h('td', null, h('span', { class: 'grid-name' }, g.name || '—'), h('code', null, g.code || '')),
      h('td', { class: 'n' }, h('span', { class: 'bar', style: { '--p': `${Math.max(0, Math.min(100, g.coverage_pct))}%` } }), pct(g.coverage_pct)),
      h('td', { class: 'n' }, num(g.households_uncovered)),
      h('td', { class: 'n' }, num(g.residents_uncovered)))))));
  }

  function zoomToGrid(id) {
    const fc = ctx.state.data.grids;
    const f = fc && fc.features.find((x) => x.properties && x.properties.id === id);
    map.setFilter('grids-selected', ['==', ['get', 'id'], id]);
    if (f) {
      const b = featuresBbox([f]);
      if (b) ctx.fitTo(b, { animate: true, duration: 400, maxZoom: 17 });
    }
  }

  function exportGeojson() {
    const r = s.result;
    if (!r || !r.uncovered) return;
    const fc = { ...r.uncovered, properties: undefined };
    const body = JSON.stringify({
      type: 'FeatureCollection',
      features: fc.features,
      circle: r.circle, minutes: r.minutes, mode: r.mode, at: r.at, summary: r.summary,
    });
    if (s.geojsonUrl) URL.revokeObjectURL(s.geojsonUrl);
    s.geojsonUrl = URL.createObjectURL(new Blob([body], { type: 'application/geo+json' }));
    const p = s.params;
    const a = h('a', { href: s.geojsonUrl, download: `uncovered-${p.circle}-${p.minutes}min-${p.mode}.geojson` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  async function loadCircles() {
    try {
      const list = await ctx.track(getCircles());
      s.circles = Array.isArray(list) ? list : [];
      ctx.clearMessage('circles');
    } catch (err) {
      ctx.showMessage('circles', t('plan.circles_failed', { message: ctx.errorText(err) }));
    }
    render();
  }

  $('plan-minutes').addEventListener('input', schedule);
  for (const r of document.querySelectorAll('input[name="plan-mode"]')) r.addEventListener('change', run);
  $('plan-time').addEventListener('change', run);
  $('plan-compare').addEventListener('change', run);
  $('plan-geojson').addEventListener('click', exportGeojson);

  return {
    state: s,
    start() { loadCircles(); },
    render,
    activate() {
      s.active = true;
      setVisible(true);
      ctx.setPick(null);
    },
    deactivate() {
      s.active = false;
      setVisible(false);
    },
    onPlaceClick(lngLat) {
      ctx.setPick(lngLat);
      ctx.runLocate(lngLat);
    },
  };
}
