// 规划: 找覆盖缺口 — on a desktop screen.
// A planner picks the 健康 (health) circle, 10 minutes on foot: the uncovered count on screen must
// equal GET /coverage; uncovered buildings are red on the map and the circles shaded; the grid
// table follows the breakdown; radius-vs-walking, a time of day, another mode and minutes; the
// uncovered buildings are exported as CSV and GeoJSON.
import { readFileSync } from 'node:fs';
import { run, ready, screenshot, api, check, equal, log, baseUrl, DESKTOP } from './lib.mjs';

const base = baseUrl();
const digits = (s) => Number(String(s).replace(/[^\d.]/g, ''));

async function settled(page, want) {
  await page.waitForFunction((w) => {
    const s = window.gridcircle.journeys.planner.state;
    return s.result && s.result.summary && s.params && Object.entries(w).every(([k, v]) => s.params[k] === v);
  }, want);
  await ready(page);
  return page.evaluate(() => window.gridcircle.journeys.planner.state.params);
}

async function onScreen(page) {
  return {
    uncovered: digits(await page.locator('#plan-uncovered-count').innerText()),
    households: digits(await page.locator('#plan-uncovered-households').innerText()),
    residents: digits(await page.locator('#plan-uncovered-residents').innerText()),
  };
}

async function rendered(page, layers) {
  return page.evaluate((l) => window.gridcircle.map.queryRenderedFeatures({ layers: l }).length, layers);
}

function coveragePath(p, extra = '') {
  const q = new URLSearchParams({ circle: p.circle, minutes: String(p.minutes), mode: p.mode });
  if (p.at) q.set('at', p.at);
  return `/coverage?${q}${extra}`;
}

await run('planner', DESKTOP, async (page) => {
  await page.goto(`${base}/#planner`);
  await ready(page);
  await page.locator('#plan-circles [data-circle="health"]').click();
  let p = await settled(page, { circle: 'health', minutes: 10, mode: 'walk' });

  // The count on screen is the API's.
  const truth = await api(base, coveragePath(p));
  const shown = await onScreen(page);
  equal(shown.uncovered, truth.summary.buildings_uncovered, 'uncovered buildings on screen = GET /coverage');
  equal(shown.households, truth.summary.households_uncovered, 'uncovered households on screen = GET /coverage');
  equal(shown.residents, truth.summary.residents_uncovered, 'uncovered residents on screen = GET /coverage');
  check(truth.summary.buildings_uncovered > 0, 'the demo has uncovered buildings for health');
  log(`health, 10 min walk: ${shown.uncovered} buildings, ${shown.households} households uncovered`);

  // Red buildings and shaded circles on the map.
  check(await rendered(page, ['uncovered-fill']) > 0, 'uncovered buildings are drawn red');
  check(await rendered(page, ['circles-fill']) > 0, 'the walking circles are shaded (facility_circles tiles)');

  // The table: every grid, worst coverage first.
  const rows = page.locator('#plan-table tbody tr');
  equal(await rows.count(), truth.breakdown.length, 'one table row per grid of the breakdown');
  const worst = [...truth.breakdown].sort((a, b) => a.coverage_pct - b.coverage_pct || b.households_uncovered - a.households_uncovered)[0];
  const firstRow = rows.first();
  equal(Number(await firstRow.getAttribute('data-grid-id')), worst.grid_id, 'the least covered grid heads the table');
  check((await firstRow.innerText()).includes(worst.households_uncovered.toLocaleString('zh-CN')), 'its uncovered households are shown');

  // Where radius and walking disagree.
  await page.check('#plan-compare');
  p = await settled(page, { compare: true });
  const cmp = await api(base, coveragePath(p, '&compare=radius'));
  const cmpText = await page.locator('#plan-compare-count').innerText();
  equal(digits(cmpText.split('栋')[0]), cmp.compare.count, 'radius-not-walking count = GET /coverage?compare=radius');
  check(await rendered(page, ['compare-fill']) > 0, 'the disagreeing buildings are drawn');
  await screenshot(page, 'planner-desktop');

  // Export: CSV (the server's) and GeoJSON (what is on screen).
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#plan-csv')]);
  const csvText = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  check(csvText[0].startsWith('building_id,'), 'CSV header');
  equal(csvText.length - 1, truth.summary.buildings_uncovered, 'CSV rows = uncovered buildings');
  check(csv.suggestedFilename().endsWith('.csv'), `CSV file name ${csv.suggestedFilename()}`);
  const [gj] = await Promise.all([page.waitForEvent('download'), page.click('#plan-geojson')]);
  const fc = JSON.parse(readFileSync(await gj.path(), 'utf8'));
  equal(fc.type, 'FeatureCollection', 'GeoJSON export');
  equal(fc.features.length, truth.summary.buildings_uncovered, 'GeoJSON features = uncovered buildings');
  check(gj.suggestedFilename().endsWith('.geojson'), `GeoJSON file name ${gj.suggestedFilename()}`);

  // At 22:00 only what is open then counts.
  await page.uncheck('#plan-compare');
  await page.selectOption('#plan-time', '22:00');
  p = await settled(page, { compare: false });
  check(p.at && p.at.includes('T22:00:00+08:00'), `the time of day is sent in Nanjing time (${p.at})`);
  const night = await api(base, coveragePath(p));
  equal((await onScreen(page)).uncovered, night.summary.buildings_uncovered, 'uncovered at 22:00 = GET /coverage?at=');
  check(night.summary.buildings_uncovered >= truth.summary.buildings_uncovered, 'no better at night');

  // Radius, 5 minutes, any time: circles drawn per facility (not the stored ones).
  await page.selectOption('#plan-time', '');
  await page.check('input[name="plan-mode"][value="radius"]');
  await page.fill('#plan-minutes', '5');
  p = await settled(page, { mode: 'radius', minutes: 5 });
  equal(p.at, undefined, 'any time');
  const radius = await api(base, coveragePath(p));
  equal((await onScreen(page)).uncovered, radius.summary.buildings_uncovered, 'uncovered, radius 5 min = GET /coverage');
  await page.waitForFunction(() => window.gridcircle.journeys.planner.state.shading === 'shapes');
  await ready(page);
  check(await rendered(page, ['circle_shapes-fill']) > 0, 'the 5-minute radius circles are shaded');
  check(await page.locator('#plan-compare').isDisabled(), 'radius-vs-walking needs walking');
  await screenshot(page, 'planner-radius-desktop');

  // The same page on a 390 px phone: the panel becomes a bottom sheet over the map.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await ready(page);
  await screenshot(page, 'planner-phone');
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.waitForTimeout(300);
  await ready(page);

  // English.
  await page.click('#lang-switch');
  check((await page.locator('#plan-summary').innerText()).includes('buildings uncovered'), 'English summary');
});
