// The threaded build (pkg/web-threads: relaxed SIMD + wasm threads, js/threads.mjs)
// in Chromium: initModelpress({threads}) starts it only in a cross-origin isolated
// page, and there its outputs equal the single-thread relaxed build's bit for bit,
// in both requantization modes, on a model whose conv (im2col and 1x1) and
// depthwise layers are large enough to be split over the threads, and so do
// the float32 twin's (tests/fixtures/threads/make.py). Elsewhere it falls back
// to one thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, openPage, requireBuild, serveStatic } from './helpers.mjs';

let browser;
let plain;
let isolated;
before(async () => {
  requireBuild();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  plain = await serveStatic(ROOT);
  isolated = await serveStatic(ROOT, { isolated: true });
});
after(async () => {
  await browser?.close();
  await plain?.stop();
  await isolated?.stop();
});

/** In a fresh page of `srv`: init with `options`, run the block model in both modes (3 runs each). */
async function runIn(srv, options) {
  const { page, context, problems } = await openPage(browser, `${srv.url}/tests/package/builds/index.html`);
  try {
    const r = await page.evaluate(async (options) => {
      const mp = await import('/js/browser.mjs');
      let info;
      try {
        info = await mp.initModelpress(options);
      } catch (e) {
        return { error: { code: e.code, message: e.message } };
      }
      const get = async (f) => new Uint8Array(await (await fetch(`/tests/fixtures/threads/${f}`)).arrayBuffer());
      const bytes = await get('mobile_block_int8.tflite');
      const n = 128 * 128 * 3;
      const x = { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * Math.cos(i * 0.011)), shape: [1, 128, 128, 3] };
      const m = await mp.loadModel(bytes);
      const out = {};
      for (const mode of ['exact', 'fast']) {
        const runs = [];
        for (let i = 0; i < 3; i++) runs.push(Array.from((await m.run([x], { requantization: mode }))[0].data));
        out[mode] = runs;
      }
      m.dispose();
      const mf = await mp.loadModel(await get('mobile_block_float32.tflite'));
      out.float32 = [];
      for (let i = 0; i < 2; i++) out.float32.push(Array.from((await mf.run([x]))[0].data));
      mf.dispose();
      return { info, features: mp.detectFeatures(), buildInfo: await mp.buildInfo(), isolated: self.crossOriginIsolated, out };
    }, options);
    assert.deepEqual(problems, []);
    return r;
  } finally {
    await context.close();
  }
}

test('threads in a cross-origin isolated page: the threaded build on 2 threads equals the single-thread build (int8 both modes, float32)', { timeout: 120_000 }, async () => {
  const one = await runIn(isolated, {});
  assert.equal(one.info.build, 'relaxed-simd', 'without `threads` the single-thread build is chosen even where threads could run');
  assert.equal(one.info.threads, 1);
  const two = await runIn(isolated, { threads: 2 });
  assert.equal(two.isolated, true);
  assert.equal(two.features.threads, true);
  assert.equal(two.info.build, 'relaxed-simd-threads');
  assert.equal(two.info.threads, 2, 'the core reports 2 threads (1 worker + the caller)');
  assert.equal(two.buildInfo.gemm, 'relaxed-dot');
  for (const mode of ['exact', 'fast']) {
    const ref = one.out[mode][0];
    assert.equal(ref.length, 64 * 64 * 24);
    assert.ok(new Set(ref).size > 50, `${mode}: the outputs vary`);
    for (const [i, got] of two.out[mode].entries()) assert.deepEqual(got, ref, `${mode} run ${i + 1}: 2 threads vs 1`);
  }
  assert.notDeepEqual(one.out.fast[0], one.out.exact[0], 'the two modes are distinct checks');
  // Float conv / depthwise split by rows: each output element sums in the same order.
  const f = one.out.float32[0];
  assert.equal(f.length, 64 * 64 * 24);
  assert.ok(new Set(f).size > 1000, 'float outputs vary');
  for (const [i, got] of two.out.float32.entries()) assert.deepEqual(got, f, `float32 run ${i + 1}: 2 threads vs 1`);
});

test("threads: 'auto' takes the device's cores; a forced threaded build works too", { timeout: 60_000 }, async () => {
  const auto = await runIn(isolated, { threads: 'auto' });
  assert.equal(auto.info.build, 'relaxed-simd-threads');
  assert.ok(auto.info.threads >= 2 && auto.info.threads <= 4, `threads ${auto.info.threads}`);
  const forced = await runIn(isolated, { build: 'relaxed-simd-threads' });
  assert.equal(forced.info.build, 'relaxed-simd-threads');
  assert.deepEqual(forced.out.exact[0], auto.out.exact[0]);
});

test('threads where the page is not cross-origin isolated: one thread, same results; bad counts are refused', { timeout: 60_000 }, async () => {
  const r = await runIn(plain, { threads: 2 });
  assert.equal(r.isolated, false);
  assert.equal(r.features.threads, false);
  assert.equal(r.info.build, 'relaxed-simd', 'falls back to the single-thread build');
  assert.equal(r.info.threads, 1);
  const forced = await runIn(plain, { build: 'relaxed-simd-threads' });
  assert.equal(forced.error?.code, 'UNSUPPORTED_RUNTIME');
  assert.match(forced.error.message, /cross-origin isolated/);
  for (const bad of [0, 1.5, 'many']) {
    const e = await runIn(plain, { threads: bad });
    assert.equal(e.error?.code, 'INVALID_ARGUMENT', `threads: ${JSON.stringify(bad)}`);
  }
});
