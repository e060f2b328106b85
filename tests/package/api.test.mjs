// The public API of the package in Node (js/index.node.mjs), from the repository:
// loading from every source type, optimize with each calibration form, progress,
// AbortSignal, run, benchmark, dispose, recipe errors, build choice, and wasm
// memory staying bounded over repeated load / optimize / dispose.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA, FIXTURES, requireBuild } from './helpers.mjs';

let mp;
let npy;
const TINY = path.join(FIXTURES, 'tiny_mlp.tflite');
const DIGITS = path.join(FIXTURES, 'digits_cnn_float32.tflite');

before(async () => {
  requireBuild();
  mp = await import('../../js/index.node.mjs');
  npy = await import('../../js/npy.mjs');
});

const isErr = (Class, code, re) => (e) => {
  assert.ok(e instanceof Class, `expected ${Class.name}, got ${e?.constructor?.name}: ${e?.message}`);
  assert.ok(e instanceof mp.ModelpressError && e instanceof Error);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

/** n samples of the tiny MLP's input [1, 16], deterministic. */
function tinyBatch(n) {
  const x = npy.readNpy(readFileSync(path.join(FIXTURES, 'tiny_mlp.input0.npy')));
  const out = new Float32Array(n * 16);
  for (let k = 0; k < n; k++) for (let i = 0; i < 16; i++) out[k * 16 + i] = x.data[i] * (1 + 0.1 * Math.sin(k + i));
  return out;
}

test('loadModel takes a Uint8Array, an ArrayBuffer, a DataView, a Blob and a Response', async () => {
  const bytes = readFileSync(TINY);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const sources = [bytes, ab, new DataView(ab), new Blob([bytes]), new Response(bytes)];
  for (const src of sources) {
    const m = await mp.loadModel(src);
    assert.ok(m instanceof mp.Model);
    assert.equal(m.summary().bytes, bytes.length);
    assert.deepEqual(m.summary().op_histogram, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
    m.dispose();
  }
  const sync = mp.loadModelSync(bytes);
  assert.equal(sync.inputInfo()[0].name, 'x');
  sync.dispose();
  await assert.rejects(mp.loadModel('tiny.tflite'), isErr(mp.ModelpressError, 'INVALID_ARGUMENT', /Uint8Array, an ArrayBuffer, a Blob or a Response, got string/));
  await assert.rejects(mp.loadModel(new Response('nope', { status: 404, statusText: 'Not Found' })), isErr(mp.ModelpressError, 'INVALID_ARGUMENT', /HTTP 404/));
  await assert.rejects(mp.loadModel(new Uint8Array([1, 2, 3])), isErr(mp.ModelpressError, 'INVALID_MODEL'));
  const info = await mp.buildInfo();
  // The Node entry (js/runtime-node.mjs) always runs pkg/web, the simd128 build (no feature choice).
  assert.equal(info.build, 'simd128');
  assert.match(await mp.coreVersion(), /^\d+\.\d+\.\d+/);
  assert.deepEqual(await mp.initModelpress(), info);
  await assert.rejects(mp.initModelpress({ build: 'relaxed-simd' }), isErr(mp.ModelpressError, 'UNSUPPORTED_RUNTIME'));
});

test('optimize: int8 with each calibration form, report, progress, output runs', async () => {
  const m = await mp.loadModel(readFileSync(TINY));
  const batch = tinyBatch(6);
  const sets = Array.from({ length: 6 }, (_, k) => [{ data: batch.slice(k * 16, (k + 1) * 16), shape: [1, 16] }]);
  const forms = {
    'input sets': sets,
    'bare {data, shape} items': sets.map((s) => s[0]),
    'bare TypedArray items': sets.map((s) => s[0].data),
    'a Float32Array batch': batch,
    'a {data, shape: [N, 16]} batch': { data: batch, shape: [6, 16] },
  };
  let first;
  for (const [name, calibration] of Object.entries(forms)) {
    const phases = new Set();
    const { bytes, report } = await m.optimize({ quantize: { mode: 'int8' } }, { calibration, onProgress: (p, f) => { assert.ok(f >= 0 && f <= 1); phases.add(p); } });
    assert.ok(bytes instanceof Uint8Array, name);
    assert.equal(report.fidelity.samples, 6, `${name}: 6 samples`);
    assert.ok(report.output.bytes < report.input.bytes, name);
    assert.ok(report.fidelity.outputCosine > 0.99, name);
    assert.deepEqual([...phases].sort(), ['calibrate', 'quantize', 'report'], name);
    first ??= bytes;
    assert.deepEqual(bytes, first, `${name}: same calibration, same bytes`);
  }
  const q = await mp.loadModel(first);
  assert.ok(q.summary().weight_dtypes.int8 > 0);
  const [y] = await q.run([{ data: batch.subarray(0, 16), shape: [1, 16] }]);
  assert.deepEqual(y.shape, [1, 10]);
  assert.ok(Math.abs(y.data.reduce((a, b) => a + b, 0) - 1) < 0.05, 'softmax sums to ~1');
  q.dispose();
  // identity, JSON text, optimizeSync
  const id = await m.optimize();
  assert.equal(id.report.input.bytes, readFileSync(TINY).length);
  assert.ok((await m.optimize('{"name": "x"}')).bytes.length > 0);
  assert.ok(m.optimizeSync({ quantize: { mode: 'float16' } }).bytes.length > 0);
  // calibration errors name the sample and input
  await assert.rejects(m.optimize({ quantize: { mode: 'int8' } }, { calibration: new Float32Array(17) }), isErr(mp.ModelpressError, 'BAD_INPUT', /17 values is not a whole number of samples of \[1,16\]/));
  await assert.rejects(m.optimize({ quantize: { mode: 'int8' } }, { calibration: [[{ data: new Int32Array(16), shape: [1, 16] }]] }), isErr(mp.ModelpressError, 'BAD_INPUT', /calibration sample 0: .*dtype mismatch/));
  await assert.rejects(m.optimize({ quantize: { mode: 'int8' } }, { calibration: { data: batch, shape: [3, 32] } }), isErr(mp.ModelpressError, 'BAD_INPUT', /does not fit input 'x' \[1,16\]/));
  await assert.rejects(m.optimize({ quantize: { mode: 'int8' } }), isErr(mp.ModelpressError, 'BAD_INPUT', /needs calibration data/));
  // an exception in onProgress rejects the call with it
  const boom = new Error('boom');
  await assert.rejects(m.optimize({ quantize: { mode: 'int8' } }, { calibration: batch, onProgress: () => { throw boom; } }), (e) => e === boom);
  m.dispose();
});

test('AbortSignal: an aborted signal rejects with AbortError; an abort during the work too', async () => {
  const m = await mp.loadModel(readFileSync(TINY));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(m.optimize({}, { signal: ac.signal }), isErr(mp.AbortError, 'ABORTED', /optimize was aborted/));
  await assert.rejects(m.run([], { signal: ac.signal }), (e) => e.name === 'AbortError');
  await assert.rejects(m.benchmark({ signal: ac.signal }), (e) => e.name === 'AbortError');
  const ac2 = new AbortController();
  await assert.rejects(
    m.optimize({ quantize: { mode: 'int8' } }, { calibration: tinyBatch(4), signal: ac2.signal, onProgress: () => ac2.abort() }),
    isErr(mp.AbortError, 'ABORTED'),
  );
  // aborted before the core starts (between the checks and the call)
  const ac3 = new AbortController();
  const p = m.optimize({ quantize: { mode: 'int8' } }, { calibration: tinyBatch(4), signal: ac3.signal });
  ac3.abort(new Error('user pressed cancel'));
  await assert.rejects(p, (e) => e.name === 'AbortError' && e.cause?.message === 'user pressed cancel');
  assert.ok((await m.optimize({})).bytes.length > 0, 'the model still works');
  m.dispose();
});

test('run, benchmark, dispose', async () => {
  const m = await mp.loadModel(readFileSync(TINY));
  const x = npy.readNpy(readFileSync(path.join(FIXTURES, 'tiny_mlp.input0.npy')));
  const want = npy.readNpy(readFileSync(path.join(FIXTURES, 'tiny_mlp.output0.npy')));
  const [y] = await m.run([x]);
  assert.equal(y.name, 'Identity');
  for (let i = 0; i < y.data.length; i++) assert.ok(Math.abs(y.data[i] - want.data[i]) < 1e-5);
  assert.deepEqual(m.runSync([x])[0].data, y.data);
  await assert.rejects(m.run([{ data: new Float32Array(3), shape: [1, 3] }]), isErr(mp.ModelpressError, 'BAD_INPUT', /shape mismatch/));
  const b = await m.benchmark({ runs: 20, warmup: 2 });
  assert.equal(b.runs, 20);
  assert.equal(b.warmup, 2);
  assert.equal(b.times.length, 20);
  assert.equal(b.build, 'simd128');
  assert.ok(b.min > 0 && b.min <= b.median && b.median <= b.p90 && b.p90 <= b.max && b.min <= b.mean && b.mean <= b.max, JSON.stringify(b));
  const b2 = await m.benchmark({ runs: 3, warmup: 0, inputs: [x] });
  assert.equal(b2.times.length, 3);
  await assert.rejects(m.benchmark({ runs: 0 }), isErr(mp.ModelpressError, 'INVALID_ARGUMENT', /runs must be an integer >= 1/));
  assert.equal(m.build.build, 'simd128');
  m.dispose();
  m.dispose();
  assert.equal(m.disposed, true);
  assert.throws(() => m.summary(), isErr(mp.ModelpressError, 'DISPOSED'));
  await assert.rejects(m.optimize({}), isErr(mp.ModelpressError, 'DISPOSED'));
  await assert.rejects(m.run([x]), isErr(mp.ModelpressError, 'DISPOSED'));
});

test('recipes: JS checks name the field and the allowed values; the core gets the rest', async () => {
  const m = await mp.loadModel(readFileSync(TINY));
  const cases = [
    [{ quantize: { mode: 'int4' } }, 'quantize.mode', /recipe\.quantize\.mode: expected one of "dynamic", "float16", "int8", "int16x8", got "int4"/, ['dynamic', 'float16', 'int8', 'int16x8']],
    [{ quantize: {} }, 'quantize.mode', /recipe\.quantize\.mode is required \(one of "dynamic"/],
    [{ quantize: { mode: 'int8', io: 'int4' } }, 'quantize.io', /one of "float", "int8", "uint8"/],
    [{ quantize: { mode: 'int8', skip: 'FULLY_CONNECTED' } }, 'quantize.skip', /expected an array of strings, got "FULLY_CONNECTED"/],
    [{ quantize: { mode: 'int8', skip: [1] } }, 'quantize.skip[0]', /expected a string, got number 1/],
    [{ quantize: { mode: 'dynamic', minElements: -1 } }, 'quantize.minElements', /non-negative integer/],
    [{ quantize: { mode: 'int8', calibration: { method: 'kl' } } }, 'quantize.calibration.method', /one of "minmax", "percentile", "mse"/],
    [{ quantize: 'int8' }, 'quantize', /recipe\.quantize: expected an object, got "int8"/],
    [{ prune: { sparsity: '50%' } }, 'prune.sparsity', /expected a finite number/],
    [{ prune: { scope: 'model' } }, 'prune.scope', /one of "layer", "global"/],
    [{ prune: { layers: { 'fc*': true } } }, 'prune.layers["fc*"]', /expected a finite number, got boolean true/],
    [{ cluster: { init: 'kmeans++' } }, 'cluster.clusters', /recipe\.cluster\.clusters is required/],
    [{ cluster: { clusters: 8, init: 'kmeans' } }, 'cluster.init', /one of "kmeans\+\+", "linear", "density", "random"/],
    [{ externalBuffers: 'yes' }, 'externalBuffers', /expected true or false/],
    [[], '', /recipe: expected an object/],
    ['{"quantize": ', '', /not valid JSON/],
    // from the core: unknown fields and its own range checks, as RecipeError too
    [{ bogus: true }, 'bogus', /unknown field `bogus`, expected one of/],
    [{ quantize: { mode: 'int8', perchannel: false } }, 'quantize.perchannel', /unknown field `perchannel`/],
    [{ prune: { sparsity: 1.5 } }, 'prune.sparsity', /sparsity must be in \[0, 1\)/],
    [{ cluster: { clusters: 1 } }, 'cluster.clusters', /clusters must be in 2\.\.=1024/],
  ];
  for (const [recipe, field, re, allowed] of cases) {
    const check = (e) => {
      isErr(mp.RecipeError, 'INVALID_RECIPE', re)(e);
      assert.equal(e.field, field, `${JSON.stringify(recipe)}: ${e.message}`);
      if (allowed) assert.deepEqual(e.allowed, allowed);
      return true;
    };
    await assert.rejects(m.optimize(recipe), check, JSON.stringify(recipe));
  }
  assert.throws(() => mp.validateRecipe({ quantize: { mode: 'int4' } }), (e) => e instanceof mp.RecipeError && e.field === 'quantize.mode');
  // Valid recipes pass, including every known section, nulls, and fields this table does not know.
  const full = {
    name: 'all',
    prune: { sparsity: 0.5, pattern: 'unstructured', scope: 'layer', method: 'magnitude', layers: { '*fc2*': 0 }, includeDepthwise: false, skip: [], damping: 0.01, maxSamples: 64, sequential: false },
    cluster: { clusters: 16, perChannel: false, scaled: false, entropyPenalty: 0, init: 'linear', preserveSparsity: true, dataAware: false, includeDepthwise: false, skip: [], layers: {}, seed: 1, maxIterations: 50, maxSamples: 64 },
    quantize: { mode: 'dynamic', io: 'float', int8Only: false, skip: [], minElements: 1, perChannel: true, calibration: { method: 'minmax', percentile: 99.99 } },
    sparseFormat: false,
    externalBuffers: false,
  };
  assert.deepEqual(mp.validateRecipe(full), full);
  const { report } = await m.optimize(full);
  assert.ok(report.layers.length > 0);
  assert.deepEqual(mp.validateRecipe({ name: null, quantize: null, somethingNew: { x: 1 } }), { name: null, quantize: null, somethingNew: { x: 1 } });
  m.dispose();
});

test('build choice: the best build whose features are present, else a clear UnsupportedRuntimeError', async () => {
  const { chooseBuild, detectFeatures } = await import('../../js/wasm-features.mjs');
  const all = [
    { name: 'relaxed-simd', needs: ['simd', 'relaxedSimd'] },
    { name: 'simd128', needs: ['simd'] },
    { name: 'scalar', needs: [] },
  ];
  const onlySimd = [all[1]];
  assert.equal(chooseBuild({ wasm: true, simd: true, relaxedSimd: true }, all).name, 'relaxed-simd');
  assert.equal(chooseBuild({ wasm: true, simd: true, relaxedSimd: false }, all).name, 'simd128');
  assert.equal(chooseBuild({ wasm: true, simd: false, relaxedSimd: false }, all).name, 'scalar');
  assert.equal(chooseBuild({ wasm: true, simd: true, relaxedSimd: true }, onlySimd).name, 'simd128');
  assert.equal(chooseBuild({ wasm: true, simd: true }, all, 'scalar').name, 'scalar');
  assert.throws(() => chooseBuild({ wasm: true, simd: false, relaxedSimd: false }, onlySimd), (e) => {
    isErr(mp.UnsupportedRuntimeError, 'UNSUPPORTED_RUNTIME', /lacks WebAssembly SIMD \(Chrome 91, Firefox 89, Safari 16\.4 and later\).*no scalar build/)(e);
    assert.deepEqual(e.missing, ['simd']);
    return true;
  });
  assert.throws(() => chooseBuild({ wasm: false }, all), /no WebAssembly/);
  assert.throws(() => chooseBuild({ wasm: true, simd: true }, onlySimd, 'scalar'), /no 'scalar' wasm build in this package \(it has: simd128\)/);
  const f = detectFeatures();
  assert.equal(f.wasm, true);
  assert.equal(f.simd, true, 'Node 20+ has WebAssembly SIMD');
  assert.equal(typeof f.relaxedSimd, 'boolean');
  // The browser table lists what pkg/ holds.
  const { BUILDS } = await import('../../js/wasm-builds.mjs');
  assert.deepEqual(BUILDS.map((b) => b.name), ['relaxed-simd', 'simd128', 'scalar', 'relaxed-simd-threads']);
  assert.equal(f.threads, false, 'no SharedArrayBuffer-backed threads in Node (not a cross-origin isolated page)');
  // Even with threads present, the default choice is a single-thread build (threads are asked for).
  assert.equal(chooseBuild({ wasm: true, simd: true, relaxedSimd: true, threads: true }, BUILDS).name, 'relaxed-simd');
  assert.equal(chooseBuild({ wasm: true, simd: true, relaxedSimd: true, threads: true }, BUILDS, 'relaxed-simd-threads').name, 'relaxed-simd-threads');
  assert.throws(() => chooseBuild({ wasm: true, simd: true, relaxedSimd: true, threads: false }, BUILDS, 'relaxed-simd-threads'), /cross-origin isolated/);
  for (const b of BUILDS) assert.equal(typeof b.glue.default, 'function', b.name);
  // What the browser entry would pick in this engine (Node 20 has no relaxed SIMD without a flag).
  assert.equal(chooseBuild(f, BUILDS).name, f.relaxedSimd ? 'relaxed-simd' : 'simd128');
});

test('memory: 30 x load / optimize (int8) / run / dispose does not grow the wasm memory after warm-up', async () => {
  const bytes = readFileSync(DIGITS);
  const cal = npy.readNpy(readFileSync(path.join(DATA, 'digits_x_calib.npy')));
  const calibration = { data: cal.data.subarray(0, 16 * 256), shape: [16, 16, 16, 1] };
  const x = { data: cal.data.subarray(0, 256), shape: [1, 16, 16, 1] };
  const sizes = [];
  for (let i = 0; i < 30; i++) {
    const m = await mp.loadModel(bytes);
    const { bytes: out } = await m.optimize({ quantize: { mode: 'int8' } }, { calibration });
    await m.run([x]);
    const q = mp.loadModelSync(out);
    await q.run([x]);
    q.dispose();
    m.dispose();
    sizes.push(mp.wasmMemoryBytes());
  }
  const warm = sizes[4];
  const last = sizes.at(-1);
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  // Without dispose() the memory grows by ~1.4 MiB per iteration here (until GC finalizers run).
  assert.ok(Math.max(...sizes.slice(5)) - warm <= 2 ** 20, `wasm memory grew after warm-up: ${sizes.map(mib).join(' ')} MiB`);
  assert.ok(last > 0);
});
