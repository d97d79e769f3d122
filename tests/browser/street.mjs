// 街道: 绘制网格 — on a desktop screen.
// A street-office clerk signs in with a token, opens community 1 (whose grids tile it completely),
// moves the east edge of one grid inward (two vertex drags, snapping to the neighbours' edges; a
// wedge in between is reported as a sliver gap), saves; draws a new grid in the freed strip but
// with one corner inside the eastern neighbour, sees the overlap error in red, drags that corner
// onto the neighbour's vertex (snapping), saves, and finds the grid in
// GET /collections/grids/items. Then the grid's history and a draft partition.
import { run, ready, pixelOf, screenshot, api, check, equal, log, baseUrl, DESKTOP } from './lib.mjs';

const base = baseUrl();
// A real street-office token when the server checks tokens (the Rust wrapper creates one with
// `gridcircle token create`); any text for a server that does not.
const TOKEN = process.env.GRIDCIRCLE_TEST_TOKEN || 'demo-token-for-the-browser-test';
const ACTOR = 'jd-clerk-01';
const COMMUNITY = 1;

function pip([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** A rectangular grid whose east corners are also corners of other grids, with a neighbour to
 * its east: its east edge can move west, and the freed strip's corners all snap to vertices. */
function chooseGrid(grids) {
  const vertices = new Map();
  for (const g of grids) {
    if (g.geometry.type !== 'Polygon') continue;
    for (const c of g.geometry.coordinates[0]) {
      const k = `${c[0]},${c[1]}`;
      if (!vertices.has(k)) vertices.set(k, new Set());
      vertices.get(k).add(g.properties.id);
    }
  }
  const others = (c, id) => [...(vertices.get(`${c[0]},${c[1]}`) || [])].some((x) => x !== id);
  for (const g of grids) {
    const ring = g.geometry.type === 'Polygon' ? g.geometry.coordinates[0] : null;
    if (!ring || ring.length !== 5 || g.geometry.coordinates.length !== 1) continue;
    const xs = ring.map((c) => c[0]);
    const ys = ring.map((c) => c[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const wM = (x1 - x0) * 111320 * Math.cos((y0 * Math.PI) / 180);
    const hM = (y1 - y0) * 110540;
    if (wM < 150 || wM > 400 || hM < 150 || hM > 400) continue;
    if (!ring.every((c) => (c[0] === x0 || c[0] === x1) && (c[1] === y0 || c[1] === y1))) continue;
    const id = g.properties.id;
    if (!others([x1, y0], id) || !others([x1, y1], id)) continue;
    const inside = [x1 + (x1 - x0) * 0.12, (y0 + y1) / 2];
    const east = grids.find((o) => o.properties.id !== id && o.geometry.type === 'Polygon' && pip(inside, o.geometry.coordinates[0]));
    if (!east) continue;
    return { grid: g, east, x0, x1, y0, y1, inside };
  }
  return null;
}

async function drag(page, from, to) {
  const [ax, ay] = await pixelOf(page, from);
  const [bx, by] = await pixelOf(page, to);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move((ax + bx) / 2, (ay + by) / 2, { steps: 6 });
  await page.mouse.move(bx, by, { steps: 6 });
  await page.mouse.up();
}

async function clickAt(page, lonLat) {
  const [x, y] = await pixelOf(page, lonLat);
  await page.mouse.move(x, y, { steps: 3 });
  await page.mouse.click(x, y);
  await page.waitForTimeout(150);
}

function answers(page) {
  return page.evaluate(() => window.gridcircle.journeys.street.state.validated);
}

/** Waits for a validation answer newer than `after` (a count from answers()) and returns it. */
async function validation(page, after) {
  // The answer must be for the polygon now on the map, not for an earlier shape.
  await page.waitForFunction((n) => {
    const s = window.gridcircle.journeys.street.state;
    const v = s.validation;
    if (!(s.validated > n && v && !v.pending && (v.report || v.error) && v.geometry)) return false;
    const f = window.gridcircle.journeys.street.draw().getSnapshot().find((x) => x.id === s.featureId);
    if (!f) return false;
    const ring = f.geometry.coordinates[0];
    const mine = v.geometry.coordinates[0];
    return ring.length === mine.length && ring.every((c, i) => Math.abs(c[0] - mine[i][0]) < 2e-9 && Math.abs(c[1] - mine[i][1]) < 2e-9);
  }, after);
  await ready(page);
  return page.evaluate(() => window.gridcircle.journeys.street.state.validation);
}

async function editedRing(page) {
  return page.evaluate(() => {
    const s = window.gridcircle.journeys.street.state;
    const f = window.gridcircle.journeys.street.draw().getSnapshot().find((x) => x.id === s.featureId);
    return f.geometry.coordinates[0];
  });
}

await run('street', DESKTOP, async (page) => {
  const writes = [];
  page.on('request', (req) => {
    if (['POST', 'PUT', 'DELETE'].includes(req.method())) writes.push({ method: req.method(), url: req.url(), headers: req.headers() });
  });
  await page.goto(`${base}/#street`);
  await ready(page);

  // 1. Sign in with a token.
  check(await page.locator('#street-work').isHidden(), 'the tools wait for sign-in');
  await page.fill('#street-token', TOKEN);
  await page.fill('#street-actor', ACTOR);
  await page.click('#street-signin button[type="submit"]');
  await page.locator('#street-work').waitFor();
  equal(await page.evaluate(() => sessionStorage.getItem('gridcircle.token')), TOKEN, 'the token is kept in sessionStorage');
  check((await page.locator('#street-who').innerText()).includes(ACTOR), 'signed in as the clerk');

  // 2. Community 1: its grids tile it completely.
  await page.selectOption('#street-community', String(COMMUNITY));
  await page.locator(`#street-grid-list [data-grid-id]`).first().waitFor();
  const grids = (await api(base, `/grids?community_id=${COMMUNITY}`)).features;
  equal(await page.locator('#street-grid-list [data-grid-id]').count(), grids.length, 'the list shows the community\'s grids');
  const pick = chooseGrid(grids);
  check(pick, 'a rectangular grid with an eastern neighbour to edit');
  const { grid, east, x0, x1, y0, y1, inside } = pick;
  const gx = x1 - (x1 - x0) * 0.35; // the new east edge
  log(`editing grid ${grid.properties.id} (${grid.properties.code}); east neighbour ${east.properties.id}`);
  await page.evaluate(([a, b, c, d]) => window.gridcircle.map.fitBounds([[a, b], [c, d]], { padding: 120, animate: false }),
    [x0, y0, x1 + (x1 - x0) * 0.4, y1]);
  await ready(page);

  // 3. Edit a vertex of an existing grid: move its east edge west (two corners).
  await page.click(`#street-grid-list [data-grid-id="${grid.properties.id}"] button`);
  let n = await answers(page);
  await page.click('#street-edit');
  let v = await validation(page, n);
  check(v.report.ok, `the grid as it is passes (${JSON.stringify(v.report.errors.map((e) => e.kind))})`);
  n = await answers(page);
  await drag(page, [x1, y1], [gx, y1]);
  v = await validation(page, n);
  check(!v.report.ok && v.report.errors.some((e) => e.kind === 'sliver_gap'),
    `half-way (one corner moved) the wedge is a sliver gap: ${JSON.stringify(v.report.errors.map((e) => e.kind))}`);
  await screenshot(page, 'street-edit-wedge');
  n = await answers(page);
  await drag(page, [x1, y0], [gx, y0]);
  v = await validation(page, n);
  check(v.report.ok, `with the whole edge moved the grid passes: ${JSON.stringify(v.report.errors.map((e) => e.message))}`);
  const shrunk = await editedRing(page);
  const ys = shrunk.map((c) => c[1]);
  check(ys.includes(y0) && ys.includes(y1), 'the moved corners snapped onto the neighbours\' edges (exact latitudes)');
  await page.click('#street-save');
  await page.waitForFunction((id) => {
    const s = window.gridcircle.journeys.street.state;
    return s.mode === 'idle' && s.selected === id;
  }, grid.properties.id);
  await ready(page);
  const saved = await api(base, `/collections/grids/items/${grid.properties.id}`);
  equal(saved.properties.version, grid.properties.version + 1, 'the edit was saved (version + 1)');
  const newEast = shrunk.filter((c) => c[0] < x1 - 1e-9 && c[0] > x0 + 1e-9);
  equal(newEast.length >= 2, true, 'the saved boundary has the moved corners');
  const seX = shrunk.find((c) => c[1] === y0 && c[0] > x0 + 1e-9)[0];
  const neX = shrunk.find((c) => c[1] === y1 && c[0] > x0 + 1e-9 && c !== shrunk[shrunk.length - 1])[0];

  // 4. Draw a new grid in the freed strip, one corner too far east (inside the neighbour).
  await page.click('#street-draw');
  const code = await page.inputValue('#street-code');
  check(/^\d{15}$/.test(code) && code.startsWith(grid.properties.code.slice(0, 12)), `a free code of the community is proposed (${code})`);
  await clickAt(page, [seX, y0]);
  await clickAt(page, [x1, y0]);
  await clickAt(page, inside);
  await clickAt(page, [neX, y1]);
  await clickAt(page, [seX, y0]); // the first corner again: closes the polygon
  await page.waitForFunction(() => window.gridcircle.journeys.street.state.featureId);
  v = await validation(page, 0);
  const overlap = v.report.errors.find((e) => e.kind === 'overlap');
  check(overlap && overlap.other_id === east.properties.id, `the overlap with grid ${east.properties.id} is reported: ${JSON.stringify(v.report.errors.map((e) => [e.kind, e.other_id]))}`);
  await page.locator('#street-validation li.problem.error[data-kind="overlap"]').waitFor();
  check(await page.locator('#street-save').isDisabled(), 'cannot save with errors');
  const red = await page.evaluate(() => window.gridcircle.map.queryRenderedFeatures({ layers: ['problems-fill'] })
    .filter((f) => f.properties.severity === 'error').length);
  check(red > 0, 'the overlap is drawn red on the map');
  check(/\d/.test(await page.locator('#street-households').innerText()), 'the household count is shown');
  await screenshot(page, 'street-overlap');

  // 5. Fix it: drag the stray corner onto the neighbour's corner (it snaps), then save.
  n = await answers(page);
  await drag(page, inside, [x1, y1]);
  v = await validation(page, n);
  check(v.report.ok, `fixed: ${JSON.stringify(v.report.errors.map((e) => e.message))}`);
  const ring = await editedRing(page);
  check(ring.some((c) => c[0] === x1 && c[1] === y1), 'the corner snapped exactly onto the neighbour\'s vertex');
  check(await page.locator('#street-valid').isVisible(), '"passes" is shown');
  const households = await page.locator('#street-households').innerText();
  await screenshot(page, 'street-fixed');
  await page.click('#street-save');
  await page.waitForFunction(() => window.gridcircle.journeys.street.state.mode === 'idle' && window.gridcircle.journeys.street.state.saved);
  await ready(page);

  // 6. The grid is in the collection, with the community and the code the clerk saved.
  const all = await api(base, '/collections/grids/items?limit=10000');
  const created = all.features.find((f) => f.properties.code === code);
  check(created, `grid ${code} is in GET /collections/grids/items`);
  equal(created.properties.community_id, COMMUNITY, 'its community');
  const post = writes.find((w) => w.method === 'POST' && w.url.endsWith('/collections/grids/items'));
  equal(post.headers.authorization, `Bearer ${TOKEN}`, 'the write carries the token');
  equal(post.headers['x-actor'], ACTOR, 'and the clerk\'s work id');
  log(`created grid ${created.id} (${code}), ${households}`);
  check(await page.locator(`#street-grid-list [data-grid-id="${created.id}"]`).count() === 1, 'the new grid is listed');

  // 7. History of the edited grid: the clerk's change is there.
  await page.click(`#street-grid-list [data-grid-id="${grid.properties.id}"] button`);
  await page.click('#street-history');
  await page.locator('#street-history-items li').first().waitFor();
  const history = await api(base, `/grids/${grid.properties.id}/history`);
  equal(await page.locator('#street-history-items li').count(), history.changes.length, 'every change is listed');
  const mine = history.changes.filter((c) => c.actor === ACTOR);
  check(mine.length === 1 && mine[0].boundary_changed, 'the history records the clerk\'s boundary change');
  check((await page.locator('#street-history-items li').first().innerText()).includes(ACTOR), 'newest first, with who did it');
  await page.locator('#street-history-items li').first().locator('button').click();
  await ready(page);
  check(await page.evaluate(() => window.gridcircle.map.queryRenderedFeatures({ layers: ['history-line'] }).length) > 0, 'the old boundary can be shown');
  await screenshot(page, 'street-history');

  // 8. A draft partition: what the server proposes is what is shown.
  await page.fill('#street-target', '400');
  await page.click('#street-draft');
  await page.locator('#street-draft-summary').waitFor();
  await ready(page);
  const draft = await api(base, `/communities/${COMMUNITY}/grids/draft?target_households=400`, { method: 'POST' });
  equal(Number(await page.locator('#street-draft-summary').getAttribute('data-count')), draft.features.length, 'draft grids on screen = POST …/grids/draft');
  check(await page.evaluate(() => window.gridcircle.map.queryRenderedFeatures({ layers: ['draft-line'] }).length) > 0, 'the draft is drawn');
  await screenshot(page, 'street-draft');

  // The same page on a 390 px phone: the panel becomes a bottom sheet over the map.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await ready(page);
  await screenshot(page, 'street-phone');
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.waitForTimeout(300);
  await ready(page);

  // Edit it (its grids become editable polygons), then accept it.
  await page.click('#street-draft-edit');
  equal(await page.evaluate(() => window.gridcircle.journeys.street.draw().getSnapshot().filter((f) => f.geometry.type === 'Polygon').length),
    draft.features.length, 'every draft grid is editable');
  await page.click('#street-draft-accept'); // asks to confirm
  await page.click('#street-draft-accept');
  await page.waitForFunction(() => !window.gridcircle.journeys.street.state.draft);
  await ready(page);
  const afterDraft = (await api(base, `/grids?community_id=${COMMUNITY}`)).features;
  equal(afterDraft.length, draft.features.length, 'the community now has the draft\'s grids');
  equal(afterDraft.map((g) => g.properties.code).sort().join(','), draft.features.map((g) => String(g.properties.code)).sort().join(','),
    'with the draft\'s codes');
  await screenshot(page, 'street-draft-saved');
});
