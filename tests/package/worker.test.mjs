// createWorkerModel in Node (worker threads; the browser's Web Worker is
// tested in package.test.mjs): the same API off the main thread, progress
// messages, abort by terminating the worker, a new worker for the next call,
// queued calls, dispose.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA, FIXTURES, requireBuild } from './helpers.mjs';

let mp;
let npy;
before(async () => {
  requireBuild();
  mp = await import('../../js/index.node.mjs');
  npy = await import('../../js/npy.mjs');
});

/** digits calibration repeated to `n` samples: int8 with mse ranges on it takes a couple of seconds. */
function bigCalibration(n) {
  const cal = npy.readNpy(readFileSync(path.join(DATA, 'digits_x_calib.npy')));
  const per = 256;
  const out = new Float32Array(n * per);
  for (let k = 0; k < n; k++) out.set(cal.data.subarray((k % cal.shape[0]) * per, (k % cal.shape[0] + 1) * per), k * per);
  return { data: out, shape: [n, 16, 16, 1] };
}

test('worker model: summary, optimize with progress, run, benchmark, toBytes, dispose', async () => {
  const bytes = readFileSync(path.join(FIXTURES, 'tiny_mlp.tflite'));
  const x = npy.readNpy(readFileSync(path.join(FIXTURES, 'tiny_mlp.input0.npy')));
  const wm = await mp.createWorkerModel(new Blob([bytes]));
  assert.ok(wm instanceof mp.WorkerModel);
  assert.equal(wm.build.build, 'simd128');
  assert.deepEqual(wm.summary().op_histogram, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
  assert.equal(wm.inputInfo()[0].name, 'x');
  const progress = [];
  const { bytes: out, report } = await wm.optimize({ quantize: { mode: 'int8' } }, { calibration: x, onProgress: (p, f) => progress.push([p, f]) });
  assert.ok(out.length > 0 && out.length < bytes.length);
  assert.equal(report.fidelity.samples, 1);
  assert.deepEqual([...new Set(progress.map(([p]) => p))], ['quantize', 'calibrate', 'report']);
  // Same bytes as in this thread.
  const local = await mp.loadModel(bytes);
  assert.deepEqual(out, (await local.optimize({ quantize: { mode: 'int8' } }, { calibration: x })).bytes);
  const [y] = await wm.run([x]);
  assert.deepEqual(y.data, (await local.run([x]))[0].data);
  local.dispose();
  const b = await wm.benchmark({ runs: 5, warmup: 1 });
  assert.equal(b.times.length, 5);
  assert.ok((await wm.toBytes()).length > 0);
  // errors cross the thread boundary with their class and code
  await assert.rejects(wm.optimize({ quantize: { mode: 'int4' } }), (e) => e instanceof mp.RecipeError && e.field === 'quantize.mode');
  await assert.rejects(wm.optimize({ bogus: 1 }), (e) => e instanceof mp.RecipeError && e.field === 'bogus');
  await assert.rejects(wm.run([]), (e) => e instanceof mp.ModelpressError && e.code === 'BAD_INPUT');
  const pending = wm.run([x]);
  wm.dispose();
  await assert.rejects(pending, (e) => e.code === 'DISPOSED');
  await assert.rejects(wm.run([x]), (e) => e.code === 'DISPOSED');
  assert.throws(() => wm.summary(), (e) => e.code === 'DISPOSED');
});

test('worker model: abort terminates the running call, queued calls wait, the next call gets a new worker', async (t) => {
  const wm = await mp.createWorkerModel(readFileSync(path.join(FIXTURES, 'digits_cnn_float32.tflite')));
  const calibration = bigCalibration(2000);
  const recipe = { quantize: { mode: 'int8', calibration: { method: 'mse' } } };
  const ac = new AbortController();
  const seen = [];
  const t0 = performance.now();
  const running = wm.optimize(recipe, {
    calibration,
    signal: ac.signal,
    onProgress: (phase, f) => {
      seen.push(phase);
      if (phase === 'calibrate' && f > 0.05) ac.abort();
    },
  });
  const queued = wm.run([{ data: calibration.data.subarray(0, 256), shape: [1, 16, 16, 1] }]);
  const acQ = new AbortController();
  const queuedAborted = wm.benchmark({ runs: 3, signal: acQ.signal });
  acQ.abort();
  await assert.rejects(queuedAborted, (e) => e instanceof mp.AbortError && /benchmark was aborted/.test(e.message));
  await assert.rejects(running, (e) => e instanceof mp.AbortError && e.code === 'ABORTED');
  const abortMs = performance.now() - t0;
  assert.ok(seen.includes('calibrate'));
  assert.ok(!seen.includes('report'), 'aborted in the middle of the work');
  const [y] = await queued;
  assert.deepEqual(y.shape, [1, 10], 'the queued run ran in a new worker');
  const t1 = performance.now();
  const { bytes } = await wm.optimize({ quantize: { mode: 'int8' } }, { calibration: { data: calibration.data.subarray(0, 64 * 256), shape: [64, 16, 16, 1] } });
  assert.ok(bytes.length > 0 && bytes.length < 347008);
  wm.dispose();
  t.diagnostic(`abort after ${abortMs.toFixed(0)} ms; next optimize ${(performance.now() - t1).toFixed(0)} ms`);
});

test('worker model: an aborted load, and a worker script that fails', async () => {
  const bytes = readFileSync(path.join(FIXTURES, 'tiny_mlp.tflite'));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(mp.createWorkerModel(bytes, { signal: ac.signal }), (e) => e.name === 'AbortError');
  const bad = new URL('data:text/javascript,throw new Error("no such worker")');
  await assert.rejects(mp.createWorkerModel(bytes, { workerUrl: bad }), (e) => e instanceof mp.WorkerError && e.code === 'WORKER_ERROR' && /no such worker/.test(e.message));
  await assert.rejects(mp.createWorkerModel(new Uint8Array([1, 2, 3])), (e) => e.code === 'INVALID_MODEL');
});
