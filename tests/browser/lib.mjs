// Shared harness for the journey tests: Debian's Chromium through playwright-core (no browser
// download), the flags from web/README.md, console errors collected (and fatal), screenshots.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = process.env.WEB_JOURNEY_ARTIFACTS || resolve(here, '../../target/web-journeys');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader',
];

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1366, height: 900 } };

export function baseUrl() {
  const base = process.argv[2];
  if (!base) {
    console.error('usage: node <journey>.mjs <base-url>');
    process.exit(2);
  }
  return base.replace(/\/$/, '');
}

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export class Failure extends Error {}

export function check(cond, message) {
  if (!cond) throw new Failure(message);
}

export function equal(actual, expected, message) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Failure(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** GET a JSON document from the service under test (the test's own view of the truth). */
export async function api(base, path, init) {
  const res = await fetch(base + path, init);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!res.ok) throw new Failure(`${init && init.method || 'GET'} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return body;
}

/**
 * Runs `journey(page, context)` in a fresh browser; fails on any console error (Chromium's own
 * "GL Driver Message" lines excepted), a page error, or a failed request to the service.
 */
export async function run(name, options, journey) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const problems = [];
  let page;
  try {
    const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true, ...options });
    page = await context.newPage();
    page.setDefaultTimeout(30000);
    page.on('console', (msg) => {
      const text = msg.text();
      if (msg.type() === 'error' && !text.includes('GL Driver Message')) problems.push(`console error: ${text}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => {
      const failure = req.failure();
      // Superseded requests are aborted on purpose (the page cancels what it no longer needs).
      if (failure && /ERR_ABORTED|NS_BINDING_ABORTED/.test(failure.errorText)) return;
      problems.push(`request failed: ${req.method()} ${req.url()} ${failure && failure.errorText}`);
    });
    await journey(page, context);
    check(problems.length === 0, `the page reported problems:\n  ${problems.join('\n  ')}`);
    log(`${name}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    if (page) {
      try { await page.screenshot({ path: join(ARTIFACTS, `${name}-failure.png`) }); } catch { /* ignore */ }
    }
    console.error(`${name}: FAILED: ${err.message}`);
    if (problems.length) console.error(`page problems:\n  ${problems.join('\n  ')}`);
    if (!(err instanceof Failure)) console.error(err.stack);
    await browser.close();
    process.exit(1);
  }
  await browser.close();
}

/** Waits until the page has loaded its data and the map is idle (html[data-ready]). */
export async function ready(page, timeout = 60000) {
  // Let a just-started request clear the flag first.
  await page.waitForTimeout(150);
  await page.waitForSelector('html[data-ready]', { state: 'attached', timeout });
}

/** The page position of [lon, lat] on the map. */
export async function pixelOf(page, lonLat) {
  const box = await page.locator('#map').boundingBox();
  const p = await page.evaluate(([lon, lat]) => {
    const q = window.gridcircle.map.project([lon, lat]);
    return [q.x, q.y];
  }, lonLat);
  return [box.x + p[0], box.y + p[1]];
}

export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  log(`screenshot ${path}`);
  return path;
}
