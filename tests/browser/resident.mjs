// 居民: 找附近开放的设施 — on a 390 px phone.
// A resident picks "toilet", taps the map, and sees the nearest open toilets by walking time with
// the route drawn; the first one must be what GET /nearest?mode=walk answers for the same point.
// Then the sanitation-worker filter (water points shared for them), a parking place's free
// spaces and opening state, and the English switch.
//
// The page is opened with ?at=<a Tuesday, 10:00 in Nanjing> so that "open now" does not depend
// on when the test runs (the demo's shared toilets open 07:00–21:00).
import { run, ready, pixelOf, screenshot, api, check, equal, log, baseUrl, PHONE } from './lib.mjs';

const base = baseUrl();
const AT = '2026-11-24T10:00:00+08:00';
const ORIGIN = [118.7784, 32.0416]; // Xinjiekou, inside the demo street office

async function tapMap(page, lonLat) {
  // A person taps where they are; the sheet is pulled down first so the place is in sight.
  if (await page.evaluate(() => document.body.classList.contains('sheet-open'))) {
    await page.click('#sheet-toggle');
    await page.waitForTimeout(300);
  }
  // …and zoomed in on it (a pinch), so that the tap lands on the street, not on a marker.
  await page.evaluate((c) => window.gridcircle.map.jumpTo({ center: c, zoom: 16.5 }), lonLat);
  await ready(page);
  const onMarker = await page.evaluate((c) => {
    const m = window.gridcircle.map;
    const q = m.project(c);
    return m.queryRenderedFeatures([[q.x - 12, q.y - 12], [q.x + 12, q.y + 12]], { layers: ['facilities-circle', 'facilities-shared-ring'] }).length;
  }, lonLat);
  check(onMarker === 0, `no facility marker under the tap at ${lonLat}`);
  const [x, y] = await pixelOf(page, lonLat);
  const vp = page.viewportSize();
  check(x > 0 && y > 0 && x < vp.width && y < vp.height - 108, `the place ${lonLat} is on screen (${x}, ${y})`);
  await page.touchscreen.tap(x, y);
}

async function firstItem(page) {
  const li = page.locator('#res-list > li').first();
  await li.waitFor();
  return {
    id: Number(await li.getAttribute('data-facility-id')),
    minutes: Number(await li.getAttribute('data-minutes')),
    name: (await li.locator('.name').innerText()).trim(),
    walk: (await li.locator('.walk').innerText()).trim(),
    open: (await li.locator('.open').innerText()).trim(),
    text: (await li.innerText()).trim(),
  };
}

/** The page's own /nearest query, asked again by the test. */
async function apiAnswer(page) {
  const q = await page.evaluate(() => window.gridcircle.journeys.resident.state.result.query);
  check(/mode=walk/.test(q), `the page asks for walking (${q})`);
  return { q, body: await api(base, `/nearest?${q}`) };
}

async function routeOnMap(page) {
  return page.evaluate(() => window.gridcircle.map.queryRenderedFeatures({ layers: ['route-line'] }).length);
}

await run('resident', PHONE, async (page) => {
  await page.goto(`${base}/?at=${encodeURIComponent(AT)}#resident`);
  await ready(page);
  check(await page.locator('#tab-btn-resident[aria-selected="true"]').count() === 1, 'the resident tab is open');
  equal(await page.locator('#tab-btn-resident .tab-title').innerText(), '居民', 'Chinese by default');

  // 1. Pick a kind.
  await page.click('#res-kinds [data-kind="toilet"]');
  check(await page.locator('#res-open').isChecked(), '"open now only" is on by default');

  // 2. Tap the map.
  await tapMap(page, ORIGIN);
  const first = await firstItem(page);
  await ready(page);

  // 3. The first item is what the API answers for the same point, and its route is drawn.
  const { q, body } = await apiAnswer(page);
  check(body.results.length > 0, `GET /nearest?${q} found toilets`);
  const top = body.results[0];
  equal(first.id, top.facility.properties.id, 'first list item = first /nearest result (facility id)');
  equal(first.minutes, top.minutes, 'walking minutes = /nearest minutes');
  equal(first.name, top.facility.properties.name, 'name');
  check(first.walk.includes(`${Math.round(top.minutes)} 分钟`) && first.walk.includes(`${Math.round(top.distance_m)} 米`), `walk text "${first.walk}"`);
  check(/^营业中 · \d\d:\d\d 关闭$/.test(first.open), `opening state reads "营业中 · HH:MM 关闭": "${first.open}"`);
  const items = await page.locator('#res-list > li').count();
  equal(items, body.results.length, 'as many items as /nearest results');
  for (const r of body.results) check(r.open.state === 'open', 'only open ones are listed');
  const routes = await routeOnMap(page);
  check(routes > 0, 'a route line is drawn on the map');
  const pageRoute = await page.evaluate(() => window.gridcircle.map.getSource('routes').getData());
  const selected = pageRoute.features.find((f) => f.properties.selected);
  equal(selected.geometry.coordinates, top.route.geometry.coordinates, 'the drawn route is the API route to the first result');
  log(`first: ${first.name}, ${first.minutes} min; ${routes} route segments rendered`);
  await screenshot(page, 'resident-phone');

  // 4. Sanitation workers: water points shared for them.
  await page.click('#sheet-toggle');
  await page.check('#res-sanitation');
  await page.click('#res-kinds [data-kind="drinking_water"]');
  await page.waitForFunction(() => {
    const r = window.gridcircle.journeys.resident.state.result;
    return r && !r.loading && r.query.includes('audience=sanitation_workers') && r.query.includes('kind=drinking_water');
  });
  await ready(page);
  const water = await apiAnswer(page);
  check(water.q.includes('kind=drinking_water'), `switched to drinking water (${water.q})`);
  check(water.body.results.length > 0, 'there are water points for sanitation workers');
  const w1 = await firstItem(page);
  equal(w1.id, water.body.results[0].facility.properties.id, 'first water point = /nearest?audience=sanitation_workers');
  for (const r of water.body.results) equal(r.facility.properties.audience, 'sanitation_workers', 'audience of every result');
  check(w1.text.includes('环卫工人'), 'the item says it is for sanitation workers');
  check(await page.locator('#res-kinds [data-kind="reading_room"]').isDisabled(), 'kinds not shared for them are disabled');
  check(await routeOnMap(page) > 0, 'a route to the water point is drawn');
  await screenshot(page, 'resident-sanitation-phone');

  // 5. Parking: free spaces and "closed · opens at" for a shared car park (nights and weekends).
  await page.uncheck('#res-sanitation');
  await page.uncheck('#res-open');
  await page.click('#res-kinds [data-kind="parking"]');
  const parks = await api(base, '/collections/facilities/items?limit=1000');
  const shared = parks.features.find((f) => f.properties.kind === 'parking' && f.properties.capacity && f.properties.free !== null);
  check(shared, 'the demo has a shared car park with capacity and free spaces');
  const [lon, lat] = shared.geometry.coordinates;
  await tapMap(page, [lon + 0.0002, lat + 0.0001]);
  await page.waitForFunction(() => {
    const r = window.gridcircle.journeys.resident.state.result;
    return r && !r.loading && r.query.includes('kind=parking');
  });
  await ready(page);
  const item = page.locator(`#res-list > li[data-facility-id="${shared.properties.id}"]`);
  check(await item.count() === 1, 'the shared car park is among the nearest');
  const spaces = (await item.locator('.spaces').innerText()).trim();
  equal(spaces, `停车位：空位 ${shared.properties.free} / 共 ${shared.properties.capacity}`, 'free spaces');
  const parkOpen = (await item.locator('.open').innerText()).trim();
  check(/^已关闭 · (明天 |周. )?\d\d:\d\d 开放$/.test(parkOpen), `closed car park reads "已关闭 · … 开放": "${parkOpen}"`);
  await screenshot(page, 'resident-parking-phone');

  // 6. English.
  await page.click('#lang-switch');
  equal(await page.locator('#tab-btn-resident .tab-title').innerText(), 'Residents', 'English switch');
  const en = (await item.locator('.open').innerText()).trim();
  check(/^Closed · opens /.test(en), `English opening state: "${en}"`);
  await screenshot(page, 'resident-parking-phone-en');
});
