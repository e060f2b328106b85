// The web page (web/) in headless Chromium (Debian's /usr/bin/chromium via
// playwright-core): open models (examples, picker, drop), see the summary,
// run every preset, download, check the downloads with the project's reader
// (the CLI's inspect --json) and with LiteRT, calibration images, random
// samples, recipe export/import, cancel, bad files, bench-only mode, and
// phone/desktop screenshots (written to $SCREENSHOT_DIR or
// /tmp/modelpress-screenshots, for a human to look at).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { ROOT, startServer } from './server.mjs';

const FIXTURES = path.join(ROOT, 'tests/fixtures/models');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const PYTHON = path.join(ROOT, 'tests/.venv/bin/python');
const SHOTS = process.env.SCREENSHOT_DIR ?? path.join(os.tmpdir(), 'modelpress-screenshots');

let srv;
let browser;
let tmp;
/** Every optimized model downloaded by the tests: checked with LiteRT at the end (one Python start). */
const downloaded = [];

before(async () => {
  if (!existsSync(path.join(ROOT, 'pkg/web/modelpress_bg.wasm'))) throw new Error('pkg/web is missing: run `npm run build` first');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'modelpress-e2e-'));
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

async function newPage({ query = '', viewport = { width: 1280, height: 900 }, mobile = false } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport, isMobile: mobile, hasTouch: mobile });
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
  const response = await page.goto(srv.url + query);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.waitForFunction(() => /engine ready/.test(document.getElementById('build-info').textContent), null, { timeout: 20_000 });
  const done = async () => {
    assert.deepEqual(foreign, [], 'no request left localhost');
    assert.deepEqual(problems, [], 'no page errors');
    await context.close();
  };
  return { page, context, foreign, problems, done };
}

const text = (page, sel) => page.textContent(sel).then((t) => t.trim());

/** The CLI's inspect --json of a file (the project's reader). */
function inspect(file) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/modelpress.mjs'), 'inspect', file, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `modelpress inspect ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function waitIdle(page, timeout = 60_000) {
  await page.waitForFunction(
    () => {
      const s = document.getElementById('status').textContent;
      return /^(Done|Cancelled)/.test(s) || !document.getElementById('error').hidden;
    },
    null,
    { timeout },
  );
}

async function openExample(page, id, name) {
  await page.click(`#example-${id}`);
  await page.waitForFunction((n) => document.getElementById('model-name').textContent === n && !document.getElementById('summary').hidden, name);
  await page.waitForFunction(() => !document.getElementById('recipe-panel').hidden);
}

async function choosePreset(page, id) {
  await page.click(`label[for=preset-${id}]`);
  assert.equal(await page.isChecked(`#preset-${id}`), true);
}

/** Run the current recipe to the end; download model + report; check them. */
async function runAndDownload(page, { expectAccuracy = false } = {}) {
  await page.click('#run-button');
  await waitIdle(page);
  assert.equal(await page.isHidden('#error'), true, `no error: ${await page.textContent('#error')}`);
  assert.match(await text(page, '#status'), /^Done/);
  assert.equal(await page.isVisible('#size-chart svg'), true, 'size chart drawn');
  assert.match(await text(page, '#latency-table'), /original/);
  // The latency panel names the integer arithmetic it measured with (exact unless chosen).
  const mode = await page.inputValue('#requant');
  assert.match(await text(page, '#latency-table tbody tr:nth-child(2)'), new RegExp(`^optimized(.*ms.*${mode}|cannot run here yet|could not run)`), 'the optimized row names the requantization mode');
  if (expectAccuracy) assert.match(await text(page, '#acc-optimized'), /%/);

  const [dm] = await Promise.all([page.waitForEvent('download'), page.click('#download-model')]);
  const name = dm.suggestedFilename();
  const file = path.join(tmp, name);
  await dm.saveAs(file);
  const [dr] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
  assert.equal(dr.suggestedFilename(), name.replace(/\.tflite$/, '.report.json'));
  const reportFile = path.join(tmp, dr.suggestedFilename());
  await dr.saveAs(reportFile);
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));

  // The download is the exact bytes the report describes.
  assert.equal(statSync(file).size, report.output.bytes, `${name}: size matches the report`);
  assert.equal(report.file, name);
  const s = inspect(file);
  assert.equal(s.bytes, report.output.bytes);
  assert.equal(s.gzip_bytes, report.output.gzipBytes);
  assert.ok(report.latency.original, 'latency of the original in the report');
  assert.match(report.device, /wasm build: (scalar|simd128|relaxed-simd|relaxed-simd-threads)/);
  downloaded.push(file);
  return { name, file, report, summary: s };
}

// ------------------------------------------------------------------ a tiny PNG encoder (test images)

function png(w, h, pixel) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function npy(shape, data) {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(header);
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, 'latin1');
  header[total - 1] = 0x0a;
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

async function dropFiles(page, selector, files) {
  await page.evaluate(
    ([selector, files]) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type ?? 'application/octet-stream' }));
      const zone = document.querySelector(selector);
      zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    [selector, files.map((f) => ({ ...f, bytes: [...f.bytes] }))],
  );
}

/**
 * Click a button that opens a file chooser, then give it files. The input's
 * click is observed (and the native dialog stopped) rather than waiting for
 * Playwright's 'filechooser' event, which can race.
 */
async function chooseFiles(page, buttonSelector, files) {
  await page.evaluate(() => {
    window.__opened = null;
    if (window.__pickerHooked) return;
    window.__pickerHooked = true;
    document.addEventListener(
      'click',
      (e) => {
        if (e.target instanceof HTMLInputElement && e.target.type === 'file') {
          e.preventDefault();
          window.__opened = e.target.id;
        }
      },
      true,
    );
  });
  await page.click(buttonSelector);
  const id = await (await page.waitForFunction(() => window.__opened, null, { timeout: 10_000 })).jsonValue();
  await page.setInputFiles(`#${id}`, files);
}

// ------------------------------------------------------------------ tests

test('first screen: usable drop zone, keyboard picker, isolation, no foreign requests', { timeout: 60_000 }, async () => {
  const { page, done } = await newPage();
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
  assert.equal(await page.isVisible('#drop-zone'), true);
  assert.equal(await page.isHidden('#summary'), true);
  // Tab to the picker, press Enter: the file chooser opens.
  let focused = false;
  for (let i = 0; i < 10 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.id === 'pick-button');
  }
  assert.ok(focused, 'Tab reaches the file picker button');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused button shows a focus ring');
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
  await page.waitForFunction(() => window.__pickerClicks > 0, null, { timeout: 10_000 });
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'tiny_mlp.tflite'));
  await page.waitForFunction(() => document.getElementById('model-name').textContent === 'tiny_mlp.tflite');
  // Every form control has an accessible name.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unlabelled, []);
  await done();
});

test('digits example: summary as the CLI sees it; every preset runs; downloads load in the CLI and LiteRT', { timeout: 120_000 }, async () => {
  const { page, done } = await newPage();
  await openExample(page, 'digits', 'digits_cnn_float32.tflite');
  const s = inspect(path.join(ROOT, 'web/examples/digits_cnn_float32.tflite'));
  assert.equal(await text(page, '#fact-parameters'), s.parameters.toLocaleString('en-US'));
  assert.match(await text(page, '#fact-bytes'), new RegExp(`^${s.bytes.toLocaleString('en-US')} bytes`));
  assert.match(await text(page, '#fact-gzip'), new RegExp(`^${s.gzip_bytes.toLocaleString('en-US')} bytes`));
  const hist = await page.$$eval('#op-histogram tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(Object.fromEntries(hist.map(([op, n]) => [op, Number(n.replace(/,/g, ''))])), s.op_histogram);
  assert.equal(await page.locator('#layers tbody tr').count(), s.layers.length);
  assert.equal(await page.locator('#io-table tbody tr').count(), s.inputs.length + s.outputs.length);
  assert.equal(await text(page, '#runnable-badge'), 'runs in this browser');
  // The example brings calibration samples and labelled evaluation samples.
  await page.waitForFunction(() => /32 samples from digits_calib32\.npy/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  assert.match(await text(page, '#eval-set [data-role=status]'), /100 labels .*Accuracy will be measured on 100 evaluation samples/);
  assert.equal(await page.locator('#calib-set canvas').count(), 8, 'previews of the samples');

  const expected = {
    smallest: { sparse: true, quant: 'int8' },
    fastest: { quant: 'int8' },
    safe: { quant: 'int8' }, // dynamic range: int8 weights
    half: { quant: 'float16' },
  };
  for (const preset of ['smallest', 'fastest', 'safe', 'half']) {
    await choosePreset(page, preset);
    const recipe = JSON.parse(await text(page, '#recipe-json'));
    assert.equal(recipe.name, preset);
    const { name, report, summary } = await runAndDownload(page, { expectAccuracy: true });
    assert.equal(name, `digits_cnn_float32.${preset}.tflite`);
    assert.deepEqual(report.recipe, recipe);
    assert.ok(report.output.bytes < report.input.bytes, `${preset}: smaller`);
    assert.ok(summary.weight_dtypes[expected[preset].quant] > 0, `${preset}: ${expected[preset].quant} weights`);
    assert.ok(report.fidelity.outputSqnrDb > 10, `${preset}: fidelity measured`);
    assert.ok(report.accuracy.optimized > 0.8, `${preset}: accuracy ${report.accuracy.optimized}`);
    if (expected[preset].sparse) assert.ok(report.layers.some((l) => l.sparsity >= 0.49), 'pruned layers');
    if (preset === 'smallest') {
      assert.ok(report.output.gzipBytes < report.input.gzipBytes / 5, 'pruned + clustered + int8 compresses well');
      assert.ok((await page.locator('#result-layers tr.worst').count()) > 0, 'worst layers are marked');
    }
    assert.ok(report.latency.optimized.median > 0, `${preset}: optimized latency measured`);
  }
  // Integer inputs and outputs: the page quantizes the float samples to measure accuracy.
  await page.click('#advanced summary');
  await choosePreset(page, 'fastest');
  await page.selectOption('select[data-field="quantize.io"]', 'int8');
  assert.equal(await page.isChecked('#preset-custom'), true, 'an edited preset is a custom recipe');
  await page.fill('input[data-field=".name"]', 'int8-io');
  await page.dispatchEvent('input[data-field=".name"]', 'change');
  const io = await runAndDownload(page, { expectAccuracy: true });
  assert.equal(io.name, 'digits_cnn_float32.int8-io.tflite');
  assert.equal(io.summary.inputs[0].dtype, 'int8');
  assert.ok(io.report.accuracy.optimized > 0.8, `int8 I/O accuracy ${io.report.accuracy.optimized}`);
  assert.equal(io.report.latency.optimized.requantization, 'exact');
  assert.ok(io.report.latency.optimized.int8Nodes > 0, 'the int8 model has layers the mode applies to');
  assert.match(await text(page, '#latency-table tbody tr:nth-child(2)'), /exact \(TFLite reference\)/);
  assert.match(await text(page, '#latency-table tbody tr:nth-child(1)'), /n\/a \(no int8 layers\)/, 'the float original: the mode does not apply');
  // Fast arithmetic: choosing it measures again and says so next to the figures.
  await page.selectOption('#requant', 'fast');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Latency measured again.', null, { timeout: 30_000 });
  assert.match(await text(page, '#latency-table tbody tr:nth-child(2)'), /^optimized.*ms.*fast \(XNNPACK-style fp32\)/);
  assert.equal(await page.inputValue('#bench-requant'), 'fast', 'the bench panel follows');
  const [dr] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
  const fastReport = JSON.parse(readFileSync(await dr.path(), 'utf8'));
  assert.equal(fastReport.latency.optimized.requantization, 'fast');
  assert.ok(fastReport.latency.optimized.median > 0);
  await done();
});

test('tiny MLP without data: only data-free methods, and why; random samples enable int8; recipe export/import', { timeout: 90_000 }, async () => {
  const { page, done } = await newPage();
  await openExample(page, 'mlp', 'tiny_mlp.tflite');
  assert.equal(await page.isDisabled('#preset-fastest'), true, 'int8 needs data');
  assert.match(await text(page, '#preset-fastest-note'), /Needs calibration data/);
  assert.match(await text(page, '#data-why'), /only the methods that need none/);
  await page.click('#advanced summary');
  const modeOptions = await page.$$eval('select[data-field="quantize.mode"] option', (os) => os.map((o) => [o.value, o.disabled]));
  assert.deepEqual(Object.fromEntries(modeOptions), { dynamic: false, float16: false, int8: true, int16x8: true });

  await choosePreset(page, 'half');
  const half = await runAndDownload(page);
  assert.equal(half.name, 'tiny_mlp.half.tflite');
  assert.equal(half.report.fidelity, null, 'no samples: no fidelity');
  assert.match(await text(page, '#fidelity-note'), /add some under Data/);

  // Random samples: int8 becomes possible, with a warning.
  await page.click('#calib-set [data-act=random]');
  await page.waitForFunction(() => !document.getElementById('preset-fastest').disabled);
  await choosePreset(page, 'fastest');
  const fast = await runAndDownload(page);
  assert.equal(fast.name, 'tiny_mlp.fastest.tflite');
  assert.ok(fast.summary.weight_dtypes.int8 > 0);
  assert.match(await text(page, '#result-notes'), /random data/);

  // Export the recipe; import an edited one; a bad one is refused naming the field.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#recipe-export')]);
  assert.equal(dl.suggestedFilename(), 'fastest.recipe.json');
  const exported = JSON.parse(readFileSync(await dl.path(), 'utf8'));
  assert.deepEqual(exported, { name: 'fastest', quantize: { mode: 'int8' } });
  const custom = { name: 'mine', quantize: { mode: 'dynamic', minElements: 16 }, prune: { sparsity: 0.25 } };
  await chooseFiles(page, '#recipe-import', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(custom)) });
  await page.waitForFunction(() => /Imported/.test(document.getElementById('status').textContent));
  assert.deepEqual(JSON.parse(await text(page, '#recipe-json')), custom);
  assert.equal(await page.isChecked('#preset-custom'), true);
  assert.equal(await page.inputValue('input[data-field="prune.sparsity"]'), '0.25');
  await chooseFiles(page, '#recipe-import', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"quantize": {"mode": "int8", "bits": 4}}') });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await text(page, '#error'), /bad\.json: unknown field 'quantize\.bits'/);
  const mine = await runAndDownload(page);
  assert.equal(mine.name, 'tiny_mlp.mine.tflite');

  // A compressed .npz (np.savez_compressed) keyed by input name.
  const npzFile = path.join(tmp, 'calib.npz');
  const py = spawnSync(PYTHON, ['-c', `import numpy as np; np.savez_compressed(${JSON.stringify(npzFile)}, x=np.linspace(-1, 1, 6 * 16, dtype=np.float32).reshape(6, 16))`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  await chooseFiles(page, '#calib-set [data-act=arrays]', npzFile);
  await page.waitForFunction(() => /^6 samples from calib\.npz \(float32 \[1, 16\] each\)/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  assert.ok(mine.summary.weight_dtypes.int8 > 0, 'minElements 16: the small weights are quantized too');
  await done();
});

test('a dropped fixture, calibration images (and images that do not fit), garbage files', { timeout: 90_000 }, async () => {
  const { page, done } = await newPage();
  const conv = 'ops_conv.tflite'; // input [1, 16, 16, 3]
  await dropFiles(page, '#drop-zone', [{ name: conv, bytes: readFileSync(path.join(FIXTURES, conv)) }]);
  await page.waitForFunction((n) => document.getElementById('model-name').textContent === n && !document.getElementById('recipe-panel').hidden, conv);
  assert.equal(await page.evaluate(() => document.getElementById('drop-zone').classList.contains('dragging')), false);

  // Four images of different sizes, resized to 16x16 RGB.
  const images = [
    { name: 'a.png', mimeType: 'image/png', buffer: png(32, 24, (x, y) => [x * 8, y * 10, 128]) },
    { name: 'b.png', mimeType: 'image/png', buffer: png(20, 20, (x, y) => [255 - x * 12, 40, y * 12]) },
    { name: 'c.png', mimeType: 'image/png', buffer: png(16, 40, (x, y) => [(x * y) % 255, 200, 30]) },
    { name: 'd.png', mimeType: 'image/png', buffer: png(50, 10, (x) => [x * 5, x * 5, x * 5]) },
  ];
  await chooseFiles(page, '#calib-set [data-act=images]', images);
  await page.waitForFunction(() => /^4 samples from 4 images/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  assert.match(await text(page, '#calib-set [data-role=status]'), /Resized to 16×16 \(NHWC, float32\); values in \[0, 0\.99\d*\]/);
  assert.equal(await page.locator('#calib-set canvas').count(), 4);
  assert.equal(await page.isVisible('#image-prep'), true);
  // Normalisation is editable: -1..1 range.
  await page.selectOption('#prep-range', '-1,1');
  await page.waitForFunction(() => /values in \[-1, 0\.99\d*\]/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  // A bad mean is explained.
  await page.fill('#prep-mean', '0.5, 0.5');
  await page.dispatchEvent('#prep-mean', 'change');
  await page.waitForFunction(() => /mean has 2 values; the input has 3 channels/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  await page.fill('#prep-mean', '0');
  await page.dispatchEvent('#prep-mean', 'change');
  await page.waitForFunction(() => /^4 samples/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  // A folder of images named by class gives evaluation samples with labels.
  const dir = path.join(tmp, 'by-class');
  for (const [k, img] of images.entries()) {
    const cls = path.join(dir, k % 2 ? 'dog' : 'cat');
    mkdirSync(cls, { recursive: true });
    writeFileSync(path.join(cls, img.name), img.buffer);
  }
  await chooseFiles(page, '#eval-set [data-act=folder]', dir);
  await page.waitForFunction(() => /^4 samples from 4 images/.test(document.querySelector('#eval-set [data-role=status]').textContent));
  assert.match(await text(page, '#eval-set [data-role=status]'), /Labels from 2 folder names: cat = 0, dog = 1\..*Accuracy will be measured on 4 evaluation samples/);

  await choosePreset(page, 'fastest');
  const r = await runAndDownload(page);
  assert.match(await text(page, '#acc-optimized'), /of 4\)$/, 'accuracy on the 4 labelled images');
  assert.equal(r.name, 'ops_conv.fastest.tflite');
  assert.equal(r.report.fidelity.samples, 4);

  // A file that is not an image.
  await chooseFiles(page, '#calib-set [data-act=images]', [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') }]);
  await page.waitForFunction(() => /not an image/.test(document.querySelector('#calib-set [data-role=status]').textContent));

  // Images for a model whose input is not an image: a clear message, the page keeps working.
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'tiny_mlp.tflite'));
  await page.waitForFunction(() => document.getElementById('model-name').textContent === 'tiny_mlp.tflite');
  await chooseFiles(page, '#calib-set [data-act=images]', images.slice(0, 2));
  await page.waitForFunction(() => /images do not fit this model: input 'x' \[1, 16\] is not an image input/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  assert.equal(await page.isDisabled('#preset-fastest'), true);
  // A .npy of the wrong shape is explained too.
  await chooseFiles(page, '#calib-set [data-act=arrays]', [{ name: 'wrong.npy', mimeType: 'application/octet-stream', buffer: npy([3, 8], new Float32Array(24)) }]);
  await page.waitForFunction(() => /wrong\.npy: the data for input 0 'x' has shape \(3, 8\); expected \(N, 16\)/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  await chooseFiles(page, '#calib-set [data-act=arrays]', [{ name: 'ok.npy', mimeType: 'application/octet-stream', buffer: npy([5, 16], Float32Array.from({ length: 80 }, (_, i) => Math.sin(i))) }]);
  await page.waitForFunction(() => /^5 samples from ok\.npy/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  await choosePreset(page, 'safe');
  await runAndDownload(page);

  // Garbage as a model: a clear error, then the page works again.
  await page.setInputFiles('#file-input', { name: 'garbage.tflite', mimeType: 'application/octet-stream', buffer: Buffer.from('definitely not a flatbuffer, just some text '.repeat(10)) });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await text(page, '#error'), /Could not open garbage\.tflite: .*(not a TFLite model|invalid model)/);
  assert.equal(await page.isHidden('#summary'), true);
  assert.equal(await page.isHidden('#recipe-panel'), true);
  const pngModel = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32)]);
  await page.setInputFiles('#file-input', { name: 'photo.png', mimeType: 'image/png', buffer: pngModel });
  await page.waitForFunction(() => /photo\.png/.test(document.getElementById('error').textContent));
  assert.match(await text(page, '#error'), /PNG/);
  await page.setInputFiles('#file-input', { name: 'empty.tflite', mimeType: 'application/octet-stream', buffer: Buffer.alloc(0) });
  await page.waitForFunction(() => /empty\.tflite: the file is empty/.test(document.getElementById('error').textContent));
  await dropFiles(page, '#drop-zone', [{ name: conv, bytes: readFileSync(path.join(FIXTURES, conv)) }]);
  await page.waitForFunction((n) => document.getElementById('model-name').textContent === n && !document.getElementById('summary').hidden, conv);
  assert.equal(await page.isHidden('#error'), true);
  await choosePreset(page, 'half');
  await runAndDownload(page);
  await done();
});

test('cancel mid-run stops the worker; the next run succeeds', { timeout: 90_000 }, async () => {
  const { page, done } = await newPage();
  await openExample(page, 'digits', 'digits_cnn_float32.tflite');
  // A slower recipe (sequential data-aware pruning on 512 samples) so the cancel lands mid-run.
  const x = Float32Array.from({ length: 512 * 256 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  await chooseFiles(page, '#calib-set [data-act=arrays]', [{ name: 'calib512.npy', mimeType: 'application/octet-stream', buffer: npy([512, 16, 16, 1], x) }]);
  await page.fill('#calib-max', '512');
  await page.waitForFunction(() => /^512 samples from calib512\.npy/.test(document.querySelector('#calib-set [data-role=status]').textContent));
  await choosePreset(page, 'smallest');
  await page.click('#advanced summary');
  await page.check('input[data-field="prune.sequential"]');
  assert.equal(JSON.parse(await text(page, '#recipe-json')).prune.sequential, true);
  await page.click('#run-button');
  await page.waitForSelector('#phases .phase.active, #phases .phase.done');
  assert.equal(await page.isEnabled('#cancel-button'), true);
  // The page stays responsive while the worker computes.
  const t0 = Date.now();
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  assert.ok(Date.now() - t0 < 1000, 'main thread responsive during the run');
  await page.click('#cancel-button');
  await page.waitForFunction(() => /^Cancelled/.test(document.getElementById('status').textContent));
  assert.ok((await page.locator('#phases .phase.stopped').count()) > 0, 'unfinished phases show cancelled');
  assert.equal(await page.isHidden('#results'), true, 'no result from the cancelled run');
  assert.equal(await page.isHidden('#error'), true);
  // Run again: the restarted worker has the model back.
  await page.uncheck('input[data-field="prune.sequential"]');
  const r = await runAndDownload(page, { expectAccuracy: true });
  assert.equal(r.name, 'digits_cnn_float32.smallest.tflite');
  assert.equal(r.report.calibrationSamples, 512);
  await done();
});

test('bench-only mode: just latency, and models that cannot run say why', { timeout: 60_000 }, async () => {
  const { page, done } = await newPage({ query: '?bench' });
  assert.equal(await page.isChecked('#bench-toggle'), true);
  await page.setInputFiles('#file-input', path.join(ROOT, 'web/examples/digits_cnn_float32.tflite'));
  await page.waitForFunction(() => document.querySelectorAll('#bench-table tbody tr').length === 1);
  assert.equal(await page.isHidden('#summary'), true);
  assert.equal(await page.isHidden('#recipe-panel'), true);
  const row = await page.$$eval('#bench-table tbody tr', (rows) => [...rows[0].cells].map((c) => c.textContent));
  assert.equal(row[0], 'digits_cnn_float32.tflite');
  assert.match(row[2], /ms$/);
  assert.match(row[6], /^exact/, 'the row names the integer arithmetic');
  assert.equal(await page.isVisible('#bench-hist svg'), true);
  assert.match(await text(page, '#bench-device'), /logical cores · wasm build: (scalar|simd128|relaxed-simd|relaxed-simd-threads) · threads: available \(cross-origin isolated; (int8 conv and depthwise layers run on [2-4] threads|this build runs one thread)\)/);
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'control_flow.tflite'));
  await page.waitForFunction(() => document.querySelectorAll('#bench-table tbody tr').length === 2);
  assert.match(await text(page, '#bench-table tbody tr:nth-child(2)'), /cannot run here yet: .*(IF|WHILE|GREATER)/);
  // Leaving bench mode shows the full page for the current model.
  await page.uncheck('#bench-toggle');
  assert.equal(await page.isVisible('#summary'), true);
  assert.equal(await page.isVisible('#recipe-panel'), true);
  assert.doesNotMatch(page.url(), /bench/);
  await done();
  // A link straight to the numbers: ?bench&example=mlp.
  const second = await newPage({ query: '?bench&example=mlp' });
  await second.page.waitForFunction(() => document.querySelectorAll('#bench-table tbody tr').length === 1);
  assert.match(await text(second.page, '#bench-table tbody tr'), /^tiny_mlp\.tflite.*ms/);
  await second.done();
});

test('screenshots: 360x740 phone without horizontal scroll, and desktop', { timeout: 90_000 }, async () => {
  for (const [label, viewport, mobile] of [
    ['phone-360x740', { width: 360, height: 740 }, true],
    ['desktop-1280x900', { width: 1280, height: 900 }, false],
  ]) {
    const { page, done } = await newPage({ viewport, mobile });
    await page.screenshot({ path: path.join(SHOTS, `${label}-start.png`) });
    await openExample(page, 'digits', 'digits_cnn_float32.tflite');
    await choosePreset(page, 'smallest');
    await page.click('#run-button');
    await waitIdle(page);
    assert.match(await text(page, '#status'), /^Done/);
    await page.click('#advanced summary');
    await page.click('#layers-details summary');
    const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(width <= viewport.width, `${label}: no horizontal scroll (scrollWidth ${width})`);
    await page.screenshot({ path: path.join(SHOTS, `${label}-full.png`), fullPage: true });
    for (const id of ['summary', 'recipe-panel', 'data-panel', 'run-panel', 'results']) {
      await page.locator(`#${id}`).screenshot({ path: path.join(SHOTS, `${label}-${id}.png`) });
    }
    await done();
  }
});

test('every downloaded model loads and runs in LiteRT', { timeout: 60_000 }, () => {
  assert.ok(downloaded.length >= 8, `downloads collected (${downloaded.length})`);
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run tests/python/setup_venv.sh`);
  const r = spawnSync(PYTHON, [path.join(ROOT, 'tests/python/litert_invoke.py'), ...downloaded], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  assert.equal(r.status, 0, `LiteRT:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n').filter((l) => l.startsWith('ok ')).length, downloaded.length);
});
