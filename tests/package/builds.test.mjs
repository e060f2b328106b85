// The browser wasm builds (js/wasm-builds.mjs) in Chromium, from the repository
// (no packing): feature detection picks relaxed-simd here; each build can be
// forced with initModelpress({ build }); all three give identical outputs for a
// float and an int8 model (the relaxed kernels are the simd128 ones for now, and
// the SIMD kernels are exact twins of the scalar ones).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, openPage, requireBuild, serveStatic } from './helpers.mjs';

const NAMES = ['relaxed-simd', 'simd128', 'scalar'];
let browser;
let srv;
before(async () => {
  requireBuild();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  srv = await serveStatic(ROOT);
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** In a fresh page: init with `options`, then run the digits float32 and int8 models on 8 calibration samples. */
async function runIn(options) {
  const { page, context, problems } = await openPage(browser, `${srv.url}/tests/package/builds/index.html`);
  try {
    const r = await page.evaluate(async (options) => {
      const mp = await import('/js/browser.mjs');
      const { readNpy } = await import('/js/npy.mjs');
      const info = await mp.initModelpress(options);
      const fetchBytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
      const cal = readNpy(await fetchBytes('/tests/fixtures/data/digits_x_calib.npy'));
      const n = 8;
      const x = { data: cal.data.slice(0, n * 256), shape: [n, 16, 16, 1] };
      // The int8 model takes int8 input: any fixed mapping of the same samples.
      const q = { data: Int8Array.from(x.data, (v) => Math.max(-128, Math.min(127, Math.round(v * 255) - 128))), shape: x.shape };
      const out = {};
      for (const [name, input] of [['float32', x], ['int8', q]]) {
        const m = await mp.loadModel(await fetchBytes(`/tests/fixtures/models/digits_cnn_${name}.tflite`));
        const [y] = await m.run([input]);
        out[name] = { dtype: y.dtype, shape: y.shape, data: Array.from(y.data), modelBuild: m.build.build };
        m.dispose();
      }
      return { info, features: mp.detectFeatures(), buildInfo: await mp.buildInfo(), out };
    }, options);
    assert.deepEqual(problems, []);
    return r;
  } finally {
    await context.close();
  }
}

test('feature detection picks relaxed-simd in Chromium; the package lists all three builds', async () => {
  const r = await runIn(undefined);
  assert.deepEqual(r.features, { wasm: true, simd: true, relaxedSimd: true });
  assert.equal(r.info.build, 'relaxed-simd');
  assert.equal(r.buildInfo.build, 'relaxed-simd');
  assert.equal(r.out.float32.modelBuild, 'relaxed-simd');
});

test('each build forced: scalar, simd128 and relaxed-simd give identical outputs (float32 and int8 models)', async () => {
  const results = {};
  for (const build of NAMES) {
    const r = await runIn({ build });
    assert.equal(r.info.build, build, `initModelpress({ build: '${build}' })`);
    assert.equal(r.buildInfo.build, build);
    for (const name of ['float32', 'int8']) assert.equal(r.out[name].modelBuild, build);
    results[build] = r.out;
  }
  const ref = results.scalar;
  assert.equal(ref.float32.dtype, 'float32');
  assert.equal(ref.int8.dtype, 'int8');
  assert.deepEqual(ref.float32.shape, [8, 10]);
  assert.ok(ref.int8.data.some((v) => v !== ref.int8.data[0]), 'the int8 outputs are not constant');
  for (const build of ['simd128', 'relaxed-simd']) {
    for (const name of ['float32', 'int8']) {
      assert.deepEqual(results[build][name], { ...ref[name], modelBuild: build }, `${build} vs scalar: ${name} model`);
    }
  }
});
