// A Vite app using the package: optimize in this thread and in a worker, show the results.
import { loadModel, createWorkerModel, buildInfo } from 'modelpress';
import { readNpy } from 'modelpress/npy';

const hex = async (bytes) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

async function main() {
  const x = readNpy(new Uint8Array(await (await fetch('/tiny_mlp.input0.npy')).arrayBuffer()));
  const model = await loadModel(await fetch('/tiny_mlp.tflite'));
  const summary = model.summary();
  const [floatY] = await model.run([x]);
  const phases = [];
  const { bytes, report } = await model.optimize({ quantize: { mode: 'int8' } }, { calibration: x, onProgress: (p) => phases.push(p) });
  const q = await loadModel(bytes);
  const [y] = await q.run([x]);
  q.dispose();
  model.dispose();
  const wm = await createWorkerModel(await fetch('/tiny_mlp.tflite'));
  const w = await wm.optimize({ quantize: { mode: 'int8' } }, { calibration: x });
  const [wy] = await wm.run([x]);
  wm.dispose();
  return {
    build: await buildInfo(),
    ops: summary.op_histogram,
    size: bytes.length,
    sha256: await hex(bytes),
    cosine: report.fidelity.outputCosine,
    phases: [...new Set(phases)],
    y: Array.from(y.data),
    floatY: Array.from(floatY.data),
    workerSize: w.bytes.length,
    workerSha256: await hex(w.bytes),
    workerY: Array.from(wy.data),
  };
}

main().then(
  (r) => (document.getElementById('result').textContent = JSON.stringify(r)),
  (e) => (document.getElementById('result').textContent = JSON.stringify({ error: `${e?.name}: ${e?.code} ${e?.message}` })),
);
