// The web page in headless Chromium (Debian's /usr/bin/chromium via playwright-core).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startServer } from './server.mjs';

const FIXTURES = path.join(ROOT, 'tests/fixtures/models');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let srv;
let browser;
let tmp;
before(async () => {
  if (!existsSync(path.join(ROOT, 'pkg/web/modelpress_bg.wasm'))) throw new Error('pkg/web is missing: run `npm run build` first');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'modelpress-e2e-'));
  srv = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function models() {
  const list = readdirSync(FIXTURES).filter((f) => f.endsWith('.tflite')).sort();
  if (list.length === 0) throw new Error(`no fixture models in ${FIXTURES}`);
  const pick = (...names) => names.find((n) => list.includes(n)) ?? list[0];
  return { first: pick('digits_cnn_float32.tflite', 'ops_conv.tflite'), second: pick('tiny_mlp.tflite', 'ops_matmul.tflite') };
}

/** The summary as the Node package computes it, to compare with the page. */
async function nodeSummary(file) {
  const { loadModel } = await import('../../js/node.mjs');
  const m = loadModel(readFileSync(file));
  try {
    return m.summary();
  } finally {
    m.dispose();
  }
}

async function newPage() {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const origin = new URL(srv.url).origin;
  const foreign = [];
  const problems = [];
  // Record (and block) anything that is not this local server.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + '/')) return route.continue();
    foreign.push(u);
    return route.abort();
  });
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (!foreign.includes(r.url())) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  const response = await page.goto(srv.url);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.waitForFunction(() => document.getElementById('build-info').textContent !== '', null, { timeout: 20_000 });
  return { page, context, foreign, problems };
}

async function openModel(page, file) {
  await page.setInputFiles('#file-input', file);
}

test('open a model, see its summary; a garbage file shows an error; a valid file works again', { timeout: 90_000 }, async () => {
  const { first, second } = models();
  const { page, context, foreign, problems } = await newPage();
  try {
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
    assert.match(await page.textContent('#status'), /Ready/);

    // 1. a valid model
    const s1 = await nodeSummary(path.join(FIXTURES, first));
    await openModel(page, path.join(FIXTURES, first));
    await page.waitForSelector('#summary:not([hidden])');
    assert.equal(await page.textContent('#model-name'), first);
    assert.equal(await page.textContent('#fact-parameters'), s1.parameters.toLocaleString('en-US'));
    assert.equal(await page.textContent('#fact-bytes'), `${s1.bytes.toLocaleString('en-US')} bytes`);
    assert.match(await page.textContent('#fact-gzip'), new RegExp(`^${s1.gzip_bytes.toLocaleString('en-US')} bytes`));
    const hist = await page.$$eval('#op-histogram tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(Object.fromEntries(hist.map(([op, n]) => [op, Number(n.replace(/,/g, ''))])), s1.op_histogram);
    assert.equal(await page.locator('#layers tbody tr').count(), s1.layers.length);
    assert.equal(await page.locator('#io-table tbody tr').count(), s1.inputs.length + s1.outputs.length);
    const io = await page.textContent('#io-table');
    for (const t of [...s1.inputs, ...s1.outputs]) assert.ok(io.includes(t.name));
    assert.equal(await page.isHidden('#unsupported'), s1.runnable);
    assert.equal(await page.isHidden('#error'), true);

    // 2. garbage: a clear error, the old summary goes away
    await page.setInputFiles('#file-input', { name: 'garbage.tflite', mimeType: 'application/octet-stream', buffer: Buffer.from('definitely not a flatbuffer, just some text '.repeat(10)) });
    await page.waitForSelector('#error:not([hidden])');
    const err = await page.textContent('#error');
    assert.match(err, /garbage\.tflite/);
    assert.match(err, /not a TFLite model|invalid model/);
    assert.equal(await page.isHidden('#summary'), true);
    assert.equal(await page.isDisabled('#download-identity'), true);

    // ... and a PNG says it is a PNG
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32)]);
    await page.setInputFiles('#file-input', { name: 'photo.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction(() => /photo\.png/.test(document.getElementById('error').textContent));
    assert.match(await page.textContent('#error'), /PNG/);

    // 3. a valid model works again
    const s2 = await nodeSummary(path.join(FIXTURES, second));
    await openModel(page, path.join(FIXTURES, second));
    await page.waitForFunction((name) => document.getElementById('model-name').textContent === name && !document.getElementById('summary').hidden, second);
    assert.equal(await page.isHidden('#error'), true);
    assert.equal(await page.textContent('#fact-parameters'), s2.parameters.toLocaleString('en-US'));

    // 4. download (identity) round-trips
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-identity')]);
    assert.equal(download.suggestedFilename(), second.replace(/\.tflite$/, '.identity.tflite'));
    const saved = path.join(tmp, download.suggestedFilename());
    await download.saveAs(saved);
    const s3 = await nodeSummary(saved);
    assert.deepEqual(s3.op_histogram, s2.op_histogram);
    assert.equal(s3.parameters, s2.parameters);

    assert.deepEqual(foreign, [], 'no request left localhost');
    assert.deepEqual(problems, [], 'no page errors');
  } finally {
    await context.close();
  }
});

test('the file picker is reachable by keyboard and labelled', { timeout: 60_000 }, async () => {
  const { page, context, foreign } = await newPage();
  try {
    const button = page.getByRole('button', { name: /choose a model file/i });
    assert.equal(await button.count(), 1);
    // Tab to the button, press Enter: the file chooser opens.
    let focused = false;
    for (let i = 0; i < 10 && !focused; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.id === 'pick-button');
    }
    assert.ok(focused, 'Tab reaches the file picker button');
    // Enter on the button must open the file input's chooser. (Playwright's
    // 'filechooser' event races with keyboard activation, so observe the
    // input's click instead, and stop the native dialog.)
    await page.evaluate(() => {
      window.__pickerClicks = 0;
      document.getElementById('file-input').addEventListener('click', (e) => {
        e.preventDefault();
        window.__pickerClicks++;
      });
    });
    await page.keyboard.press('Enter');
    const clicked = await page
      .waitForFunction(() => window.__pickerClicks > 0, null, { timeout: 10_000 })
      .then(() => true, () => false);
    assert.equal(await clicked, true, 'Enter on the button opens the file chooser');
    await page.setInputFiles('#file-input', path.join(FIXTURES, models().second));
    await page.waitForSelector('#summary:not([hidden])');
    assert.equal(await page.getByRole('status').count(), 1);
    assert.equal(await page.locator('#file-input').getAttribute('aria-label'), 'Model file (.tflite)');
    assert.deepEqual(foreign, []);
  } finally {
    await context.close();
  }
});

test('dropping a file on the drop zone opens it', { timeout: 60_000 }, async () => {
  const { page, context, problems } = await newPage();
  try {
    const name = models().second;
    const bytes = [...readFileSync(path.join(FIXTURES, name))];
    await page.evaluate(
      ([bytes, name]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'application/octet-stream' }));
        const zone = document.getElementById('drop-zone');
        zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [bytes, name],
    );
    await page.waitForFunction((n) => document.getElementById('model-name').textContent === n && !document.getElementById('summary').hidden, name);
    assert.equal(await page.evaluate(() => document.getElementById('drop-zone').classList.contains('dragging')), false);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
