// A plain <script type="module"> page (no bundler): the package from /node_modules through
// an import map; a worker model optimizes with progress, one run is aborted, then it runs again.
import { loadModel, createWorkerModel, detectFeatures } from 'modelpress';

function randomBatch(n, per) {
  let s = 0x2545f491;
  const out = new Float32Array(n * per);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s / 0x100000000;
  }
  return out;
}

async function main() {
  const result = { features: detectFeatures() };
  const local = await loadModel(await fetch('/tiny_mlp.tflite'));
  result.localBuild = local.build.build;
  result.localOps = local.summary().op_histogram;
  local.dispose();

  const wm = await createWorkerModel(await (await fetch('/digits_cnn_float32.tflite')).blob());
  result.inputShape = wm.summary().inputs[0].shape;
  const small = randomBatch(64, 256);
  const progress = [];
  const first = await wm.optimize({ quantize: { mode: 'int8' } }, { calibration: small, onProgress: (p, f) => progress.push([p, f]) });
  result.first = { size: first.bytes.length, cosine: first.report.fidelity.outputCosine };
  result.progressPhases = [...new Set(progress.map(([p]) => p))];
  result.progressCount = progress.length;

  // Abort a long run (mse ranges over 2000 samples) once calibration is under way; meanwhile
  // this thread keeps ticking.
  const ac = new AbortController();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const seen = [];
  try {
    await wm.optimize({ quantize: { mode: 'int8', calibration: { method: 'mse' } } }, {
      calibration: randomBatch(2000, 256),
      signal: ac.signal,
      onProgress: (p, f) => {
        seen.push(p);
        if (p === 'calibrate' && f > 0.2) ac.abort();
      },
    });
    result.aborted = { error: 'not aborted' };
  } catch (e) {
    result.aborted = { name: e.name, code: e.code, ms: performance.now() - t0, ticks, phases: [...new Set(seen)] };
  }
  clearInterval(timer);

  const again = await wm.optimize({ quantize: { mode: 'int8' } }, { calibration: small });
  result.again = { size: again.bytes.length, same: again.bytes.length === first.bytes.length && again.bytes.every((b, i) => b === first.bytes[i]) };
  const [y] = await wm.run([{ data: small.subarray(0, 256), shape: [1, 16, 16, 1] }]);
  result.runShape = y.shape;
  const lat = await wm.benchmark({ runs: 10, warmup: 2 });
  result.benchmark = { runs: lat.runs, build: lat.build, ok: lat.min <= lat.median && lat.median <= lat.max };
  wm.dispose();
  result.disposed = wm.disposed;
  return result;
}

main().then(
  (r) => (document.getElementById('result').textContent = JSON.stringify(r)),
  (e) => (document.getElementById('result').textContent = JSON.stringify({ error: `${e?.name}: ${e?.code} ${e?.message}` })),
);
