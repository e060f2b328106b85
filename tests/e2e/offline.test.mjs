// Offline: once the page has been loaded, it keeps working with no network
// (a service worker serves its same-origin assets, the wasm included).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startServer } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let srv;
let browser;
before(async () => {
  if (!existsSync(path.join(ROOT, 'pkg/web/modelpress_bg.wasm'))) throw new Error('pkg/web is missing: run `npm run build` first');
  srv = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function openDigits(page) {
  await page.click('[data-example="digits"]');
  await page.waitForFunction(
    () => document.getElementById('model-name').textContent === 'digits_cnn_float32.tflite' && !document.getElementById('summary').hidden,
    null,
    { timeout: 60_000 },
  );
}

test('after one visit the page, the engine and the examples work offline', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(srv.url);
  // Wait until the service worker controls the page, then load everything once through it.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await openDigits(page);
  const online = await page.textContent('#summary');

  await context.setOffline(true);
  await page.reload();
  assert.equal(await page.isVisible('[data-example="digits"]'), true, 'the first screen renders offline');
  await openDigits(page);
  assert.equal(await page.textContent('#summary'), online, 'the engine inspects the model offline as it did online');
  // Really offline: a request to the server fails.
  const reachable = await page.evaluate(() => fetch('/no-such-file-' + Date.now()).then(() => true, () => false));
  assert.equal(reachable, false);
  await context.close();
});
