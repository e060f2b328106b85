// The browser wasm builds (js/wasm-builds.mjs) in Chromium, from the repository
// (no packing): feature detection picks relaxed-simd here; each build can be
// forced with initModelpress({ build }); all three give identical outputs for an
// int8 model (every SIMD int8 kernel is an exact twin of its scalar one, the
// relaxed-dot ones included), and for a float model the simd128 build equals the
// scalar one while the relaxed build (fused multiply-add in its float GEMM) stays
// within float rounding of it.
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
  assert.deepEqual(r.features, { wasm: true, simd: true, relaxedSimd: true, threads: false }, 'this page is not cross-origin isolated');
  assert.equal(r.info.build, 'relaxed-simd');
  assert.equal(r.buildInfo.build, 'relaxed-simd');
  assert.equal(r.out.float32.modelBuild, 'relaxed-simd');
});

test('each build forced: scalar, simd128 and relaxed-simd agree (int8 identical; float32 identical or within FMA rounding)', async () => {
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
    assert.deepEqual(results[build].int8, { ...ref.int8, modelBuild: build }, `${build} vs scalar: int8 model`);
  }
  assert.deepEqual(results.simd128.float32, { ...ref.float32, modelBuild: 'simd128' }, 'simd128 vs scalar: float32 model');
  const relaxed = results['relaxed-simd'].float32;
  assert.deepEqual(relaxed.shape, ref.float32.shape);
  assert.equal(relaxed.dtype, ref.float32.dtype);
  const worst = Math.max(...relaxed.data.map((v, i) => Math.abs(v - ref.float32.data[i]) / Math.max(1e-6, Math.abs(ref.float32.data[i]))));
  assert.ok(worst <= 1e-4, `relaxed-simd vs scalar float32: worst relative difference ${worst}`);
  const argmax = (d) => [...Array(8)].map((_, r) => d.slice(r * 10, r * 10 + 10).reduce((b, v, j, row) => (v > row[b] ? j : b), 0));
  assert.deepEqual(argmax(relaxed.data), argmax(ref.float32.data), 'same classes');
});
