// Run in the consumer project: `node node-check.mjs` prints a JSON line.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadModel, buildInfo, wasmMemoryBytes, ModelpressError } from 'modelpress';
import { readNpy } from 'modelpress/npy';

const x = readNpy(readFileSync('tiny_mlp.input0.npy'));
const model = await loadModel(readFileSync('tiny_mlp.tflite'));
const summary = model.summary();
const phases = [];
const { bytes, report } = await model.optimize({ quantize: { mode: 'int8' } }, { calibration: x, onProgress: (p) => phases.push(p) });
const q = await loadModel(bytes);
const [y] = await q.run([x]);
const bench = await q.benchmark({ runs: 10, warmup: 2 });
let recipeError = null;
try {
  await model.optimize({ quantize: { mode: 'int4' } });
} catch (e) {
  recipeError = { isModelpressError: e instanceof ModelpressError, name: e.name, code: e.code, field: e.field };
}
q.dispose();
model.dispose();
console.log(
  JSON.stringify({
    resolved: import.meta.resolve('modelpress'),
    build: await buildInfo(),
    ops: summary.op_histogram,
    inputBytes: report.input.bytes,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    cosine: report.fidelity.outputCosine,
    phases: [...new Set(phases)],
    y: Array.from(y.data),
    benchMedian: bench.median,
    memory: wasmMemoryBytes(),
    recipeError,
  }),
);
