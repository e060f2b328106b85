// Integer requantization modes ('exact' = TFLite reference arithmetic, 'fast' =
// XNNPACK-style single-precision requantization), per-node profile and memory
// info, through the public API (js/index.node.mjs): Model and WorkerModel.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, requireBuild } from './helpers.mjs';

let mp;
let npy;
before(async () => {
  requireBuild();
  mp = await import('../../js/index.node.mjs');
  npy = await import('../../js/npy.mjs');
});

const fixture = (stem) => ({
  bytes: readFileSync(path.join(FIXTURES, `${stem}.tflite`)),
  x: npy.readNpy(readFileSync(path.join(FIXTURES, `${stem}.input0.npy`))),
  want: npy.readNpy(readFileSync(path.join(FIXTURES, `${stem}.output0.npy`))),
});

const isErr = (code, re) => (e) => {
  assert.ok(e instanceof mp.ModelpressError, `expected a ModelpressError, got ${e?.constructor?.name}: ${e?.message}`);
  assert.equal(e.name, 'ModelpressError');
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

/** Largest |a[i] - b[i]|. */
function maxDiff(a, b) {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
  return d;
}

// Int8 fixtures with int8 outputs (LiteRT reference outputs committed beside them).
for (const stem of ['digits_cnn_int8', 'h_qat_int8_int8io']) {
  test(`${stem}: exact matches LiteRT's reference kernels; fast is within one quantization step of it`, async () => {
    const { bytes, x, want } = fixture(stem);
    const m = await mp.loadModel(bytes);
    assert.equal(m.requantization, 'exact', 'exact is the default');
    assert.equal(m.setRequantization('exact'), 0, 'no node runs fast in exact mode');
    const [exact] = await m.run([x]);
    assert.equal(exact.dtype, 'int8');
    assert.deepEqual(exact.data, Int8Array.from(want.data), 'exact: bit for bit the LiteRT reference output');

    const [fast] = await m.run([x], { requantization: 'fast' });
    assert.equal(fast.dtype, 'int8');
    assert.deepEqual(fast.shape, exact.shape);
    assert.ok(maxDiff(fast.data, exact.data) <= 1, `fast vs exact: max |Δ| ${maxDiff(fast.data, exact.data)} steps`);
    assert.equal(m.requantization, 'exact', "a run's own mode does not change the model's");
    assert.deepEqual((await m.run([x]))[0].data, exact.data, 'the next run is exact again');
    assert.deepEqual(m.runSync([x], { requantization: 'fast' })[0].data, fast.data, 'runSync takes the option too');

    // Model-level: the engine is planned now, so the count is the int8 conv / depthwise / FC / ADD / SUB (and float-to-int8 QUANTIZE) nodes.
    const nodes = m.setRequantization('fast');
    const h = m.summary().op_histogram;
    assert.ok(nodes > 0 && nodes <= (h.CONV_2D ?? 0) + (h.DEPTHWISE_CONV_2D ?? 0) + (h.FULLY_CONNECTED ?? 0) + (h.ADD ?? 0) + (h.SUB ?? 0) + (h.QUANTIZE ?? 0), `fast applies to ${nodes} nodes`);
    assert.equal(m.requantization, 'fast');
    assert.deepEqual((await m.run([x]))[0].data, fast.data, 'runs without an option use the model-level mode');
    assert.deepEqual((await m.run([x], { requantization: 'exact' }))[0].data, exact.data);
    const b = await m.benchmark({ runs: 3, warmup: 1, inputs: [x] });
    assert.equal(b.requantization, 'fast');
    assert.equal((await m.benchmark({ runs: 2, warmup: 0, requantization: 'exact' })).requantization, 'exact');
    assert.equal(m.setRequantization('exact'), 0);
    assert.deepEqual((await m.run([x]))[0].data, exact.data);
    m.dispose();
  });
}

test('an int8 model with float I/O: fast and exact outputs are close in float', async () => {
  const { bytes, x } = fixture('ops_coverage_int8');
  const m = await mp.loadModel(bytes);
  const [exact] = await m.run([x]);
  const [fast] = await m.run([x], { requantization: 'fast' });
  assert.equal(exact.dtype, 'float32');
  const range = Math.max(...Array.from(exact.data, Math.abs));
  assert.ok(maxDiff(fast.data, exact.data) <= 0.02 * range + 1e-6, `max |Δ| ${maxDiff(fast.data, exact.data)} of ${range}`);
  m.dispose();
});

test('an invalid requantization mode throws INVALID_ARGUMENT naming the value; the model still works', async () => {
  const { bytes, x } = fixture('digits_cnn_int8');
  const m = await mp.loadModel(bytes);
  assert.throws(() => m.setRequantization('bogus'), isErr('INVALID_ARGUMENT', /requantization must be "exact" or "fast", got "bogus"/));
  assert.throws(() => m.setRequantization(), isErr('INVALID_ARGUMENT', /got undefined/));
  assert.throws(() => m.setRequantization(1), isErr('INVALID_ARGUMENT', /got 1/));
  await assert.rejects(m.run([x], { requantization: 'FAST' }), isErr('INVALID_ARGUMENT', /got "FAST"/));
  assert.throws(() => m.runSync([x], { requantization: 'fp32' }), isErr('INVALID_ARGUMENT', /got "fp32"/));
  await assert.rejects(m.benchmark({ runs: 1, requantization: 'xnnpack' }), isErr('INVALID_ARGUMENT', /got "xnnpack"/));
  await assert.rejects(m.profile([x], 1, { requantization: 'quick' }), isErr('INVALID_ARGUMENT', /got "quick"/));
  assert.equal(m.requantization, 'exact');
  assert.equal((await m.run([x]))[0].data.length, 10, 'the model still runs');
  m.dispose();
  assert.equal(m.requantization, 'exact', 'readable after dispose');
  assert.throws(() => m.setRequantization('fast'), isErr('DISPOSED'));
  assert.throws(() => m.memoryInfo(), isErr('DISPOSED'));
});

test('memoryInfo: null before the first run, then positive constants and peak activations', async () => {
  const { bytes, x } = fixture('digits_cnn_int8');
  const m = await mp.loadModel(bytes);
  assert.equal(m.memoryInfo(), null);
  await m.run([x]);
  const mem = m.memoryInfo();
  assert.deepEqual(Object.keys(mem).sort(), ['constants', 'peakActivations', 'prepared']);
  for (const [k, v] of Object.entries(mem)) assert.ok(Number.isSafeInteger(v) && v >= 0, `${k} = ${v}`);
  assert.ok(mem.constants > 0, `constants ${mem.constants}`);
  assert.ok(mem.peakActivations > 0, `peakActivations ${mem.peakActivations}`);
  // At least the input (256 int8 values) and the first conv's output (16x16x16) are alive at once.
  assert.ok(mem.peakActivations >= 256 + 16 * 16 * 16, `peakActivations ${mem.peakActivations}`);
  assert.ok(mem.constants < bytes.length * 4, 'constants are of the order of the file');
  m.dispose();
});

test('profile: one entry per node in execution order, mean ms per run', async () => {
  const { bytes, x } = fixture('digits_cnn_int8');
  const m = await mp.loadModel(bytes);
  const prof = await m.profile([x], 3);
  const s = m.summary();
  assert.equal(prof.length, s.layers.length);
  for (const p of prof) {
    assert.equal(typeof p.op, 'string');
    assert.equal(p.op, s.layers[p.node].op);
    assert.ok(Array.isArray(p.shape));
    assert.ok(Number.isFinite(p.ms) && p.ms >= 0);
  }
  assert.ok(prof.reduce((a, p) => a + p.ms, 0) > 0);
  const fast = await m.profile(undefined, 2, { requantization: 'fast' });
  assert.equal(fast.length, prof.length, 'synthetic inputs by default');
  assert.equal(m.requantization, 'exact');
  await assert.rejects(m.profile([x], 0), isErr('INVALID_ARGUMENT', /runs must be an integer >= 1/));
  m.dispose();
});

test('worker model: requantization, profile and memoryInfo in the worker', async () => {
  const { bytes, x } = fixture('digits_cnn_int8');
  const local = await mp.loadModel(bytes);
  const [exact] = await local.run([x]);
  const [fast] = await local.run([x], { requantization: 'fast' });
  local.dispose();
  const wm = await mp.createWorkerModel(bytes);
  try {
    assert.equal(wm.requantization, 'exact');
    assert.equal(await wm.memoryInfo(), null);
    assert.deepEqual((await wm.run([x]))[0].data, exact.data);
    assert.deepEqual((await wm.run([x], { requantization: 'fast' }))[0].data, fast.data);
    assert.ok((await wm.setRequantization('fast')) > 0);
    assert.equal(wm.requantization, 'fast');
    assert.deepEqual((await wm.run([x]))[0].data, fast.data);
    assert.equal((await wm.benchmark({ runs: 2, warmup: 0 })).requantization, 'fast');
    await assert.rejects(wm.setRequantization('bogus'), isErr('INVALID_ARGUMENT', /got "bogus"/));
    await assert.rejects(wm.run([x], { requantization: 'bogus' }), isErr('INVALID_ARGUMENT', /got "bogus"/));
    assert.equal(wm.requantization, 'fast');
    const mem = await wm.memoryInfo();
    assert.ok(mem.constants > 0 && mem.peakActivations > 0, JSON.stringify(mem));
    const prof = await wm.profile([x], 2);
    assert.equal(prof.length, wm.summary().layers.length);
  } finally {
    wm.dispose();
  }
});
