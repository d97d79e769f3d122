// 街道: 绘制网格 — the street office's journey.
// Sign in with a token; pick a community; draw a new grid or edit a vertex of one with
// terra-draw, snapping to the neighbours' edges and vertices; POST /grids/validate runs while
// drawing (overlaps and gaps red, cut buildings orange, the household count); save; see a grid's
// history; ask for a draft partition and accept it or edit it first.
import { TerraDraw, TerraDrawPolygonMode, TerraDrawSelectMode } from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import {
  getItems, communityGrids, whoami, replaceCommunityGrids, validateGrid, createGrid, replaceGrid, gridHistory, draftGrids, isAbort,
} from './api.js';
import { current as currentSession, signIn, signOut, onAuthChange, validActor } from './auth.js';
import { EMPTY } from './style.js';
import { gridColor } from './colors.js';
import { num } from './format.js';
import { featuresBbox, polygonsOf, pointInGeometry, closestOnSegment, dist2, distinctPositions } from './geo.js';

const SNAP_PX = 14;
const VALIDATE_MS = 250;
const ERROR_KINDS = ['invalid_polygon', 'self_intersection', 'outside_parent', 'overlap', 'sliver_gap', 'duplicate_code'];

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Area of a polygon geometry in m² (local equirectangular projection; fine at grid scale). */
function areaM2(g) {
  let total = 0;
  for (const rings of polygonsOf(g)) {
    rings.forEach((ring, i) => {
      if (ring.length < 3) return;
      const lat0 = (ring[0][1] * Math.PI) / 180;
      const kx = 111320 * Math.cos(lat0);
      const ky = 110540;
      let a = 0;
      for (let j = 0; j < ring.length - 1; j++) {
        a += ring[j][0] * kx * ring[j + 1][1] * ky - ring[j + 1][0] * kx * ring[j][1] * ky;
      }
      total += (i === 0 ? 1 : -1) * Math.abs(a / 2);
    });
  }
  return Math.abs(total);
}

/** A closed ring with at most 9 decimals (terra-draw's coordinate precision: 0.1 mm). */
function closeRing(ring) {
  const r9 = (x) => Math.round(x * 1e9) / 1e9;
  const r = ring.map((c) => [r9(c[0]), r9(c[1])]);
  const a = r[0];
  const b = r[r.length - 1];
  if (a[0] !== b[0] || a[1] !== b[1]) r.push([a[0], a[1]]);
  return r;
}

export function initStreet(ctx) {
  const { map, t, $, h, clear } = ctx;
  const s = {
    communities: [],
    community: null,
    grids: [], // Features of the community's grids
    buildings: [], // { point, households, residents } in the community's bbox
    selected: null, // grid id
    mode: 'idle', // 'idle' | 'draw' | 'edit' | 'draft'
    editing: null, // { gridId, code, name, props }
    featureId: null, // terra-draw id of the polygon being drawn / edited
    validation: null, // { pending } | { report } | { error }
    validateSeq: 0,
    validated: 0, // answers received (tests wait for the next one)
    history: null, // { gridId, changes } | { loading } | { error }
    draft: null, // { fc, target } | { loading } | { error }
    accept: null, // { confirm } | { done, total } | { error }
    saving: false,
    saved: null, // { id, warnings }
    active: false,
  };
  let draw = null;

  // ---------- sign-in ----------
  function renderAuth() {
    const session = currentSession();
    $('street-signin').hidden = !!session;
    $('street-session').hidden = !session;
    $('street-work').hidden = !session;
    if (session) {
      const who = session.who;
      const role = who && who.role ? t(`role.${who.role}`) : null;
      const name = session.actor || (who && who.label) || '—';
      $('street-who').textContent = role ? t('street.signed_in_role', { actor: name, role }) : t('street.signed_in_as', { actor: name });
    }
  }

  $('street-signin').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('street-token').value.trim();
    const actor = $('street-actor').value.trim();
    if (!token) { ctx.showMessage('auth', t('street.token_missing')); return; }
    if (actor && !validActor(actor)) { ctx.showMessage('auth', t('street.actor_invalid')); return; }
    ctx.clearMessage('auth');
    // A server with tokens (GET /whoami) says whose token it is; an older one takes it as given.
    let who = null;
    try {
      who = await ctx.track(whoami(token));
      if (who && who.authenticated === false) throw new Error(t('street.token_unknown'));
    } catch (err) {
      ctx.showMessage('auth', t('street.signin_failed', { message: ctx.errorText(err) }));
      return;
    }
    $('street-token').value = '';
    signIn(token, actor, who);
  });
  $('street-signout').addEventListener('click', () => {
    cancel();
    signOut();
  });
  onAuthChange(() => {
    renderAuth();
    if (currentSession() && !s.communities.length) loadCommunities();
  });

  // ---------- community and its grids ----------
  async function loadCommunities() {
    try {
      const fc = await ctx.track(getItems('communities', null));
      s.communities = fc.features;
    } catch (err) {
      ctx.showMessage('street', t('street.load_failed', { message: ctx.errorText(err) }));
      return;
    }
    const sel = clear($('street-community'));
    for (const f of s.communities) {
      sel.append(h('option', { value: f.properties.id }, `${f.properties.name}（${f.properties.code}）`));
    }
    if (s.communities.length) await pickCommunity(s.community || s.communities[0].properties.id, { fit: s.active });
  }

  async function pickCommunity(id, { fit = true } = {}) {
    cancel();
    s.community = +id;
    $('street-community').value = String(id);
    s.selected = null;
    s.history = null;
    s.draft = null;
    s.accept = null;
    ctx.setData('draft', EMPTY);
    ctx.setData('history', EMPTY);
    const c = communityFeature();
    await reloadGrids();
    if (c) {
      const b = featuresBbox([c]);
      if (fit && b) ctx.fitTo(b, { animate: false });
      try {
        const fc = await ctx.track(getItems('buildings', b));
        s.buildings = fc.features
          .map((f) => ({ point: f.properties.point, households: f.properties.households || 0, residents: f.properties.residents || 0 }))
          .filter((x) => Array.isArray(x.point));
      } catch (err) {
        s.buildings = [];
      }
    }
    render();
  }

  function communityFeature() {
    return s.communities.find((f) => f.properties.id === s.community) || null;
  }

  async function reloadGrids() {
    try {
      const fc = await ctx.track(communityGrids(s.community));
      s.grids = fc.features;
    } catch (err) {
      ctx.showMessage('street', t('street.load_failed', { message: ctx.errorText(err) }));
    }
  }

  function gridById(id) {
    return s.grids.find((f) => f.properties.id === id) || null;
  }

  function gridLabel(id) {
    const g = gridById(id);
    return g ? `${g.properties.name}（${g.properties.code}）` : t('street.grid_n', { id });
  }

  function selectGrid(id) {
    s.selected = id;
    s.history = null;
    ctx.setData('history', EMPTY);
    map.setFilter('grids-selected', ['==', ['get', 'id'], id ?? '__none__']);
    render();
    const row = document.querySelector(`#street-grid-list [data-grid-id="${id}"]`);
    if (row) row.scrollIntoView({ block: 'nearest' });
  }

  function renderGridList() {
    const box = clear($('street-grid-list'));
    if (!s.grids.length) { box.append(h('p', { class: 'hint' }, t('street.no_grids'))); return; }
    const sorted = [...s.grids].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)));
    box.append(h('ul', { class: 'grids' }, sorted.map((f) => {
      const p = f.properties;
      const on = p.id === s.selected;
      return h('li', { 'data-grid-id': p.id },
        h('button', { type: 'button', class: `grid-row${on ? ' selected' : ''}`, 'aria-pressed': String(on), onclick: () => selectGrid(p.id) },
          h('span', { class: 'swatch', style: { background: gridColor(p.code) }, 'aria-hidden': 'true' }),
          h('span', { class: 'grid-name' }, p.name),
          h('code', null, p.code),
          h('span', { class: 'grid-hh' }, t('street.households_n', { n: num(p.households) }))));
    })));
  }

  // ---------- terra-draw ----------
  /** Rings to snap to: the community boundary and its grids (or the other draft grids), except
   * the grid being edited. */
  function snapRings(exceptTerraId) {
    const rings = [];
    const c = communityFeature();
    if (c) for (const poly of polygonsOf(c.geometry)) rings.push(...poly);
    if (s.mode === 'draft') {
      for (const f of draw.getSnapshot()) {
        if (f.id !== exceptTerraId && f.geometry.type === 'Polygon') rings.push(...f.geometry.coordinates);
      }
    } else {
      for (const f of s.grids) {
        if (s.editing && f.properties.id === s.editing.gridId) continue;
        for (const poly of polygonsOf(f.geometry)) rings.push(...poly);
      }
    }
    return rings;
  }

  /** terra-draw's custom snapping: the nearest neighbour vertex within SNAP_PX pixels, else the
   * nearest point on a neighbour's edge (interpolated in lon/lat, so it lies on that edge). */
  function snap(event, context) {
    if (!draw) return undefined;
    const p = [event.containerX, event.containerY];
    const rings = snapRings(context && context.currentId);
    let best = null;
    let bestD = SNAP_PX * SNAP_PX;
    const projected = rings.map((ring) => ring.map((c) => {
      const q = map.project(c);
      return [q.x, q.y];
    }));
    projected.forEach((ring, ri) => ring.forEach((q, i) => {
      const d = dist2(p, q);
      if (d <= bestD) { bestD = d; best = rings[ri][i]; }
    }));
    if (best) return [best[0], best[1]];
    projected.forEach((ring, ri) => {
      for (let i = 0; i + 1 < ring.length; i++) {
        const { point, s: f } = closestOnSegment(p, ring[i], ring[i + 1]);
        const d = dist2(p, point);
        if (d <= bestD) {
          bestD = d;
          const a = rings[ri][i];
          const b = rings[ri][i + 1];
          best = [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
        }
      }
    });
    return best || undefined;
  }

  function ensureDraw() {
    if (draw) return draw;
    draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 9 }),
      modes: [
        new TerraDrawPolygonMode({
          snapping: { toCustom: snap },
          styles: {
            fillColor: '#3461a8', fillOpacity: 0.18, outlineColor: '#1d3f7a', outlineWidth: 2,
            closingPointColor: '#ffffff', closingPointOutlineColor: '#1d3f7a', closingPointWidth: 6, closingPointOutlineWidth: 2,
            snappingPointColor: '#ff8c1a', snappingPointWidth: 6, snappingPointOutlineColor: '#ffffff', snappingPointOutlineWidth: 2,
          },
        }),
        new TerraDrawSelectMode({
          flags: {
            polygon: {
              feature: {
                draggable: false,
                coordinates: { draggable: true, midpoints: true, deletable: true, snappable: { toCustom: snap } },
              },
            },
          },
          styles: {
            selectedPolygonColor: '#3461a8', selectedPolygonFillOpacity: 0.2, selectedPolygonOutlineColor: '#1d3f7a', selectedPolygonOutlineWidth: 2.5,
            selectionPointColor: '#ffffff', selectionPointOutlineColor: '#1d3f7a', selectionPointWidth: 6, selectionPointOutlineWidth: 2,
            midPointColor: '#9db4de', midPointOutlineColor: '#ffffff', midPointWidth: 4,
          },
        }),
      ],
    });
    draw.start();
    draw.on('change', (ids, type) => {
      if (type === 'styling' || s.mode === 'idle') return;
      scheduleValidate();
    });
    draw.on('finish', (id, context) => {
      if (s.mode !== 'draw' || !context || context.action !== 'draw') return;
      s.featureId = id;
      // Drawn: now its vertices can be dragged (and snapped) to fix what validation reports.
      draw.setMode('select');
      draw.selectFeature(id);
      ctx.setModeHint(t('street.hint_edit'));
      scheduleValidate(0);
    });
    return draw;
  }

  function editedPolygon() {
    if (!draw) return null;
    const all = draw.getSnapshot().filter((f) => f.geometry && f.geometry.type === 'Polygon');
    const f = (s.featureId && all.find((x) => x.id === s.featureId)) || (s.mode === 'draw' ? all[all.length - 1] : null);
    return f || null;
  }

  // ---------- draw / edit ----------
  function nextCode() {
    const c = communityFeature();
    const prefix = c ? String(c.properties.code) : '';
    const used = new Set(s.grids.map((f) => String(f.properties.code)));
    for (let i = 1; i < 1000; i++) {
      const code = prefix + String(i).padStart(3, '0');
      if (!used.has(code)) return code;
    }
    return prefix + '999';
  }

  function nameForCode(code) {
    return t('street.grid_name', { n: parseInt(code.slice(-3), 10) });
  }

  function startDraw() {
    cancel();
    ensureDraw();
    const code = nextCode();
    s.mode = 'draw';
    s.editing = { gridId: null, code, name: nameForCode(code), props: {} };
    s.featureId = null;
    s.validation = null;
    s.saved = null;
    draw.setMode('polygon');
    ctx.setModeHint(t('street.hint_draw'));
    render();
  }

  function startEdit() {
    const g = gridById(s.selected);
    if (!g) return;
    const polys = polygonsOf(g.geometry);
    if (polys.length !== 1) { ctx.showMessage('street', t('street.multipolygon')); return; }
    cancel();
    ensureDraw();
    s.mode = 'edit';
    s.editing = { gridId: g.properties.id, code: String(g.properties.code), name: g.properties.name, props: g.properties };
    s.saved = null;
    const id = uuid();
    const [result] = draw.addFeatures([{
      id, type: 'Feature',
      geometry: { type: 'Polygon', coordinates: polys[0].map(closeRing) },
      properties: { mode: 'polygon' },
    }]);
    if (result && result.valid === false) {
      ctx.showMessage('street', t('street.edit_failed', { message: result.reason || '' }));
      cancel();
      return;
    }
    s.featureId = id;
    draw.setMode('select');
    draw.selectFeature(id);
    ctx.setModeHint(t('street.hint_edit'));
    render();
    scheduleValidate(0);
  }

  function cancel() {
    s.validateSeq++;
    clearTimeout(validateTimer);
    if (draw) {
      draw.clear();
      draw.setMode('static');
    }
    s.mode = 'idle';
    s.editing = null;
    s.featureId = null;
    s.validation = null;
    s.accept = null;
    ctx.setData('problems', EMPTY);
    ctx.setModeHint('');
    render();
  }

  function featureBody(geometry) {
    const e = s.editing;
    const props = { code: e.code, name: e.name, community_id: s.community };
    const keep = e.props || {};
    // A replace is a whole grid: keep what the clerk did not change. Phones come back only to
    // callers allowed to see them; for others a replace would drop them (see web/README.md).
    if (e.gridId !== null) {
      if (keep.chief_name) props.chief_name = keep.chief_name;
      if (keep.chief_phone) props.chief_phone = keep.chief_phone;
      if (Array.isArray(keep.workers) && keep.workers.length) props.workers = keep.workers;
      if (keep.demo === true) props.demo = true;
      props.id = e.gridId;
    }
    return { type: 'Feature', geometry, properties: props };
  }

  let validateTimer = null;
  function scheduleValidate(delay = VALIDATE_MS) {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, delay);
  }

  async function validate() {
    const f = editedPolygon();
    if (!f || !s.editing) return;
    const ring = closeRing(f.geometry.coordinates[0]);
    if (distinctPositions(ring) < 3) return;
    const geometry = { type: 'Polygon', coordinates: [ring] };
    const seq = ++s.validateSeq;
    s.validation = { pending: true, geometry, households: countHouseholds(geometry) };
    renderEditor();
    try {
      const report = await ctx.track(validateGrid(featureBody(geometry)));
      if (seq !== s.validateSeq) return;
      s.validation = { report, geometry, households: countHouseholds(geometry) };
    } catch (err) {
      if (isAbort(err) || seq !== s.validateSeq) return;
      // A 422 for the shape itself carries its problem too.
      const problems = err.body && err.body.problems;
      s.validation = problems
        ? { report: { ok: false, errors: problems, warnings: [] }, geometry, households: countHouseholds(geometry) }
        : { error: ctx.errorText(err), geometry };
    }
    s.validated += 1;
    drawProblems();
    renderEditor();
  }

  function countHouseholds(geometry) {
    let households = 0;
    let residents = 0;
    let buildings = 0;
    for (const b of s.buildings) {
      if (pointInGeometry(b.point, geometry)) {
        households += b.households;
        residents += b.residents;
        buildings += 1;
      }
    }
    return { households, residents, buildings };
  }

  function drawProblems() {
    const v = s.validation;
    const report = v && v.report;
    if (!report) { ctx.setData('problems', EMPTY); return; }
    const features = [];
    const add = (p, severity) => {
      if (!p.geometry || p.kind === 'households_outside_guidance') return;
      features.push({ type: 'Feature', geometry: p.geometry, properties: { kind: p.kind, severity } });
    };
    for (const p of report.errors || []) add(p, 'error');
    for (const p of report.warnings || []) add(p, 'warning');
    ctx.setData('problems', { type: 'FeatureCollection', features });
  }

  function problemText(p) {
    const kind = t(`problem.${p.kind}`);
    const other = p.other_id !== null && p.other_id !== undefined ? p.other_id : null;
    switch (p.kind) {
      case 'overlap':
        return t('problem.overlap_text', { other: gridLabel(other), area: num(areaM2(p.geometry)) });
      case 'sliver_gap':
        return other === s.community
          ? t('problem.gap_parent_text', {})
          : t('problem.gap_text', { other: gridLabel(other) });
      case 'outside_parent':
        return t('problem.outside_text', { area: num(areaM2(p.geometry)) });
      case 'duplicate_code':
        return t('problem.duplicate_text', { other: gridLabel(other) });
      case 'cut_building': {
        const m = /building \d+(?: \((.+)\))?: (\d+) % of its footprint inside/.exec(p.message || '');
        return m
          ? t('problem.cut_text_full', { id: p.building_id, name: m[1] ? `（${m[1]}）` : '', inside: m[2] })
          : t('problem.cut_text', { id: p.building_id });
      }
      case 'buildings_without_grid': {
        const m = /^(\d+) buildings? \((\d+) households\)/.exec(p.message || '');
        return m ? t('problem.orphans_text', { n: m[1], households: m[2] }) : p.message;
      }
      case 'households_outside_guidance': {
        const m = /holds (\d+) households; the guidance is (\d+)\D+(\d+)/.exec(p.message || '');
        return m ? t('problem.households_text', { n: num(+m[1]), min: m[2], max: m[3] }) : p.message;
      }
      default:
        return `${kind}: ${p.message}`;
    }
  }

  function renderEditor() {
    const box = $('street-editor');
    box.hidden = s.mode === 'idle' || s.mode === 'draft';
    if (box.hidden) { clear(box); return; }
    const e = s.editing;
    const v = s.validation;
    const report = v && v.report;
    const errors = (report && report.errors) || [];
    const warnings = (report && report.warnings) || [];
    const focused = document.activeElement && document.activeElement.id;
    clear(box);
    const codeInput = h('input', { id: 'street-code', value: e.code, inputmode: 'numeric', maxlength: '15' });
    codeInput.addEventListener('change', () => {
      e.code = codeInput.value.trim();
      if (e.gridId === null && /^\d{15}$/.test(e.code)) e.name = nameForCode(e.code);
      renderEditor();
      scheduleValidate(0);
    });
    const nameInput = h('input', { id: 'street-name', value: e.name, maxlength: '64' });
    nameInput.addEventListener('change', () => { e.name = nameInput.value.trim(); scheduleValidate(0); });

    let status;
    if (!v) status = h('p', { class: 'status' }, t(s.mode === 'draw' ? 'street.v_draw_first' : 'street.v_waiting'));
    else if (v.error) status = h('p', { class: 'status bad', role: 'alert' }, t('street.v_failed', { message: v.error }));
    else if (v.pending) status = h('p', { class: 'status pending' }, t('street.v_pending'));
    else if (report.ok) status = h('p', { class: 'status ok', id: 'street-valid' }, t('street.v_ok'));
    else status = h('p', { class: 'status bad', id: 'street-invalid', role: 'alert' }, t('street.v_errors', { n: errors.length }));

    const hh = v && v.households;
    box.append(h('div', { class: 'card editor' },
      h('h3', null, e.gridId === null ? t('street.new_grid') : t('street.editing', { name: e.name })),
      h('div', { class: 'form-grid two' },
        h('label', { class: 'field' }, h('span', null, t('street.code')), codeInput),
        h('label', { class: 'field' }, h('span', null, t('street.name')), nameInput)),
      h('div', { class: `validation${report ? (report.ok ? ' ok' : ' bad') : ''}`, id: 'street-validation' },
        status,
        hh ? h('p', { class: 'households', id: 'street-households' },
          t('street.households', { households: num(hh.households), residents: num(hh.residents), buildings: num(hh.buildings) })) : null,
        errors.length ? h('ul', { class: 'problems' }, errors.map((p) => h('li', { class: 'problem error', 'data-kind': p.kind },
          h('span', { class: 'kind' }, t(`problem.${p.kind}`)), ' ', problemText(p)))) : null,
        warnings.length ? h('ul', { class: 'problems' }, warnings.map((p) => h('li', { class: 'problem warning', 'data-kind': p.kind },
          h('span', { class: 'kind' }, t(`problem.${p.kind}`)), ' ', problemText(p)))) : null),
      h('div', { class: 'row' },
        h('button', {
          type: 'button', id: 'street-save', class: 'button primary',
          disabled: !report || !report.ok || s.saving || (v && v.pending),
          onclick: save,
        }, s.saving ? t('street.saving') : t('street.save')),
        h('button', { type: 'button', id: 'street-cancel', class: 'button', onclick: cancel }, t('street.cancel'))),
      h('p', { class: 'hint' }, t(s.mode === 'draw' && !s.featureId ? 'street.hint_draw' : 'street.hint_edit'))));
    if (focused && (focused === 'street-code' || focused === 'street-name')) $(focused).focus();
  }

  async function save() {
    const v = s.validation;
    if (!v || !v.report || !v.report.ok || s.saving) return;
    const e = s.editing;
    s.saving = true;
    renderEditor();
    try {
      const body = featureBody(v.geometry);
      const saved = await ctx.track(e.gridId === null ? createGrid(body) : replaceGrid(e.gridId, body));
      const id = saved && (saved.id ?? (saved.properties && saved.properties.id));
      s.saving = false;
      s.saved = { id, warnings: (saved && saved.warnings) || [], code: e.code };
      cancel();
      await reloadGrids();
      await ctx.refreshLayer('grids');
      ctx.showMessage('street-saved', t('street.saved', { name: gridLabel(id), warnings: s.saved.warnings.length }), 'info');
      selectGrid(id);
    } catch (err) {
      s.saving = false;
      const problems = err.body && err.body.problems;
      if (problems) {
        s.validation = { ...v, report: { ok: false, errors: problems, warnings: err.body.warnings || [] } };
        drawProblems();
      } else {
        ctx.showMessage('street', t('street.save_failed', { message: ctx.errorText(err) }));
      }
      renderEditor();
    }
  }

  // ---------- history ----------
  async function showHistory() {
    if (s.selected === null) return;
    const id = s.selected;
    s.history = { loading: true, gridId: id };
    renderHistory();
    try {
      const res = await ctx.track(gridHistory(id));
      if (s.selected !== id) return;
      s.history = { gridId: id, changes: (res && res.changes) || [] };
    } catch (err) {
      s.history = { gridId: id, error: ctx.errorText(err) };
    }
    renderHistory();
  }

  function showVersion(change, which) {
    const st = change[which];
    if (!st || !st.geometry) return;
    ctx.setData('history', { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: st.geometry, properties: {} }] });
    const b = featuresBbox([{ geometry: st.geometry }]);
    if (b) ctx.ensureVisible([{ geometry: st.geometry }]);
  }

  function renderHistory() {
    const box = clear($('street-history-list'));
    const hs = s.history;
    if (!hs) return;
    box.append(h('h3', null, t('street.history_of', { name: gridLabel(hs.gridId) })));
    if (hs.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
    if (hs.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, hs.error)); return; }
    if (!hs.changes.length) { box.append(h('p', { class: 'hint' }, t('street.history_none'))); return; }
    box.append(h('ol', { class: 'history', id: 'street-history-items' }, [...hs.changes].reverse().map((c) => {
      const what = [];
      if (c.old && c.new && c.old.code !== c.new.code) what.push(t('street.h_code', { old: c.old.code, new: c.new.code }));
      if (c.old && c.new && c.old.name !== c.new.name) what.push(t('street.h_name', { old: c.old.name, new: c.new.name }));
      if (c.boundary_changed && c.old && c.new) what.push(t('street.h_boundary'));
      return h('li', { 'data-action': c.action },
        h('span', { class: 'h-when' }, String(c.at || '').replace('T', ' ').slice(0, 19)),
        h('span', { class: 'h-what' }, t(`street.action.${c.action}`) + (what.length ? ' · ' + what.join(' · ') : '')),
        h('span', { class: 'h-who' }, t('street.h_by', { actor: c.actor || '—' })),
        c.old && c.old.geometry ? h('button', { type: 'button', class: 'link', onclick: () => showVersion(c, 'old') }, t('street.h_show_old')) : null);
    })));
  }

  // ---------- draft partition ----------
  async function requestDraft() {
    cancel();
    const target = Math.max(1, Math.round(+$('street-target').value || 400));
    s.draft = { loading: true };
    s.accept = null;
    renderDraft();
    try {
      const fc = await ctx.track(draftGrids(s.community, target));
      for (const f of fc.features) f.properties._color = gridColor(f.properties.code);
      s.draft = { fc, target };
      ctx.setData('draft', fc);
      ctx.ensureVisible(fc.features);
    } catch (err) {
      s.draft = { error: ctx.errorText(err) };
    }
    renderDraft();
  }

  function editDraft() {
    if (!s.draft || !s.draft.fc) return;
    cancel();
    ensureDraw();
    s.mode = 'draft';
    const features = s.draft.fc.features.flatMap((f) => polygonsOf(f.geometry).slice(0, 1).map((poly) => ({
      id: uuid(), type: 'Feature',
      geometry: { type: 'Polygon', coordinates: poly.map(closeRing) },
      properties: { mode: 'polygon' },
    })));
    s.draftIds = features.map((f) => f.id);
    const results = draw.addFeatures(features);
    const refused = results.filter((r) => !r.valid);
    if (refused.length) ctx.showMessage('street', t('street.draft_not_editable', { n: refused.length, reason: refused[0].reason || '' }));
    draw.setMode('select');
    ctx.setData('draft', EMPTY);
    ctx.setModeHint(t('street.hint_draft_edit'));
    renderDraft();
  }

  function draftFeatures() {
    const fc = s.draft && s.draft.fc;
    if (!fc) return [];
    if (s.mode !== 'draft' || !draw) return fc.features;
    const byId = new Map(draw.getSnapshot().map((f) => [f.id, f]));
    return fc.features.map((f, i) => {
      const edited = s.draftIds && byId.get(s.draftIds[i]);
      return edited ? { ...f, geometry: { type: 'Polygon', coordinates: [closeRing(edited.geometry.coordinates[0])] } } : f;
    });
  }

  /**
   * Saves the draft in place of the community's grids: one `PUT /communities/{id}/grids`, which
   * checks the map as a whole and replaces it in one transaction (grid-by-grid writes would be
   * refused part-way: any state between two partitions leaves sliver gaps). Grids keep the
   * draft's codes; a code the community already had keeps that grid's id, history and people.
   */
  async function acceptDraft() {
    const drafts = draftFeatures();
    if (!drafts.length) return;
    if (!s.accept || !s.accept.confirm) {
      s.accept = { confirm: true };
      renderDraft();
      return;
    }
    s.accept = { saving: true };
    renderDraft();
    const c = communityFeature();
    const fc = {
      type: 'FeatureCollection',
      features: drafts.map((f) => ({
        type: 'Feature', geometry: f.geometry,
        properties: { code: String(f.properties.code), name: f.properties.name, community_id: s.community },
      })),
    };
    try {
      await ctx.track(replaceCommunityGrids(s.community, fc));
      s.accept = null;
      s.draft = null;
      cancel();
      ctx.setData('draft', EMPTY);
      ctx.showMessage('street-saved', t('street.draft_saved', { n: drafts.length, name: c ? c.properties.name : '' }), 'info');
    } catch (err) {
      const problems = err.body && err.body.problems;
      s.accept = { error: ctx.errorText(err) };
      if (problems) ctx.setData('problems', { type: 'FeatureCollection', features: problems.filter((p) => p.geometry).map((p) => ({ type: 'Feature', geometry: p.geometry, properties: { kind: p.kind, severity: 'error' } })) });
    }
    await reloadGrids();
    await ctx.refreshLayer('grids');
    render();
  }

  function discardDraft() {
    if (s.mode === 'draft') cancel();
    s.draft = null;
    s.accept = null;
    ctx.setData('draft', EMPTY);
    renderDraft();
  }

  function renderDraft() {
    const box = clear($('street-draft-result'));
    const d = s.draft;
    if (!d) return;
    if (d.loading) { box.append(h('p', { class: 'hint' }, t('msg.loading'))); return; }
    if (d.error) { box.append(h('p', { class: 'error-inline', role: 'alert' }, t('street.draft_failed', { message: d.error }))); return; }
    const hh = d.fc.features.map((f) => f.properties.households || 0);
    const within = hh.filter((x) => Math.abs(x - d.target) <= d.target * 0.5).length;
    const topo = d.fc.topology || {};
    box.append(h('div', { class: 'card', id: 'street-draft-summary', 'data-count': d.fc.features.length },
      h('p', null, t('street.draft_summary', {
        n: d.fc.features.length, blocks: num(d.fc.blocks), min: num(Math.min(...hh)), max: num(Math.max(...hh)),
        within, target: num(d.target),
      })),
      h('p', { class: topo.ok ? 'ok-inline' : 'error-inline' }, topo.ok ? t('street.draft_ok', { warnings: num(topo.warnings || 0) }) : t('street.v_errors', { n: (topo.errors || []).length })),
      s.accept && s.accept.confirm ? h('p', { class: 'warn-inline' }, t('street.draft_confirm', { n: s.grids.length, m: d.fc.features.length })) : null,
      s.accept && s.accept.saving ? h('p', { class: 'hint' }, t('street.saving')) : null,
      s.accept && s.accept.error ? h('p', { class: 'error-inline', role: 'alert' }, t('street.draft_accept_failed', { message: s.accept.error })) : null,
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'street-draft-accept', class: 'button primary', onclick: acceptDraft, disabled: !!(s.accept && s.accept.saving) },
          t(s.accept && s.accept.confirm ? 'street.draft_accept_confirm' : 'street.draft_accept')),
        s.mode === 'draft' ? null : h('button', { type: 'button', id: 'street-draft-edit', class: 'button', onclick: editDraft }, t('street.draft_edit')),
        h('button', { type: 'button', class: 'button', onclick: discardDraft }, t('street.draft_discard'))),
      h('ol', { class: 'draft-list' }, d.fc.features.map((f) => h('li', null,
        h('span', { class: 'swatch', style: { background: f.properties._color }, 'aria-hidden': 'true' }),
        `${f.properties.name} `, h('code', null, f.properties.code), ' ',
        t('street.households_n', { n: num(f.properties.households) }))))));
  }

  // ---------- render ----------
  function render() {
    renderAuth();
    const has = s.selected !== null && gridById(s.selected);
    $('street-edit').disabled = !has || s.mode !== 'idle';
    $('street-history').disabled = !has;
    $('street-draw').disabled = s.community === null;
    renderGridList();
    renderEditor();
    renderHistory();
    renderDraft();
  }

  $('street-community').addEventListener('change', (e) => pickCommunity(e.target.value));
  $('street-draw').addEventListener('click', startDraw);
  $('street-edit').addEventListener('click', startEdit);
  $('street-history').addEventListener('click', showHistory);
  $('street-draft').addEventListener('click', requestDraft);

  return {
    state: s,
    render,
    start() {
      renderAuth();
      if (currentSession()) loadCommunities();
    },
    activate() {
      s.active = true;
      for (const id of ['draft-fill', 'draft-line', 'history-line', 'problems-fill', 'problems-line', 'problems-point']) {
        map.setLayoutProperty(id, 'visibility', 'visible');
      }
      ctx.setPick(null);
      const c = communityFeature();
      const b = c && featuresBbox([c]);
      if (b) ctx.fitTo(b, { animate: false });
    },
    deactivate() {
      s.active = false;
      if (s.mode !== 'idle') cancel();
      for (const id of ['draft-fill', 'draft-line', 'history-line', 'problems-fill', 'problems-line', 'problems-point']) {
        map.setLayoutProperty(id, 'visibility', 'none');
      }
    },
    onMapClick(lngLat, e) {
      if (s.mode !== 'idle') return true; // terra-draw has it
      if (!currentSession()) return false;
      const hits = map.queryRenderedFeatures(e.point, { layers: ['grids-fill'] })
        .filter((f) => f.properties && f.properties.community_id === s.community);
      if (hits.length) {
        selectGrid(hits[0].properties.id);
        return true;
      }
      return false;
    },
    onPlaceClick(lngLat) {
      ctx.setPick(lngLat);
      ctx.runLocate(lngLat);
    },
    draw: () => draw,
  };
}
