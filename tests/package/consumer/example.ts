// Type-checked with `tsc --noEmit` against the installed package: every export used once,
// and a few misuses that must not compile (@ts-expect-error).
import {
  loadModel,
  loadModelSync,
  createWorkerModel,
  initModelpress,
  buildInfo,
  coreVersion,
  wasmMemoryBytes,
  detectFeatures,
  validateRecipe,
  prepareInputs,
  reviveError,
  Model,
  WorkerModel,
  ModelpressError,
  RecipeError,
  AbortError,
  UnsupportedRuntimeError,
  WorkerError,
  ErrorCode,
  type Recipe,
  type Report,
  type Summary,
  type Output,
  type BenchmarkResult,
  type ErrorCodeName,
  type ModelApi,
  type Calibration,
  type BuildInfo,
  type Requantization,
  type NodeProfile,
  type MemoryInfo,
} from 'modelpress';
import { readNpy, writeNpy } from 'modelpress/npy';
import { ModelpressError as ErrorsModelpressError } from 'modelpress/errors';

const recipe: Recipe = {
  name: 'int8-pruned',
  prune: { sparsity: 0.5, pattern: '2:4', scope: 'global', method: 'obs', layers: { '*fc1*': 0 } },
  cluster: { clusters: 16, init: 'kmeans++', preserveSparsity: true },
  quantize: { mode: 'int8', io: 'uint8', skip: ['SOFTMAX'], calibration: { method: 'percentile', percentile: 99.9 } },
  sparseFormat: false,
};

// @ts-expect-error: not a quantization mode
const bad1: Recipe = { quantize: { mode: 'int4' } };
// @ts-expect-error: cluster needs clusters
const bad2: Recipe = { cluster: { init: 'linear' } };
// @ts-expect-error: unknown recipe field
const bad3: Recipe = { quantise: { mode: 'int8' } };
void bad1; void bad2; void bad3;

async function useModel(m: ModelApi, calibration: Calibration, signal: AbortSignal): Promise<number> {
  const s: Summary = m.summary();
  const firstInput: number[] = s.inputs[0].shape;
  const runnable: boolean = s.runnable;
  const ops: Record<string, number> = s.op_histogram;
  const { bytes, report } = await m.optimize(recipe, {
    calibration,
    signal,
    onProgress: (phase, fraction) => console.log(phase, fraction.toFixed(2)),
  });
  const r: Report = report;
  const gz: number = r.output.gzipBytes;
  const cos: number | undefined = r.fidelity?.outputCosine;
  const sqnr = r.layers.map((l) => l.sqnrDb ?? 0);
  const y: Output[] = await m.run([{ data: new Float32Array(16), shape: firstInput }]);
  const lat: BenchmarkResult = await m.benchmark({ runs: 50, warmup: 5, requantization: 'fast' });
  const b: 'scalar' | 'simd128' | 'relaxed-simd' | 'relaxed-simd-threads' = lat.build;
  const fast: Output[] = await m.run([{ data: new Float32Array(16), shape: firstInput }], { requantization: 'fast', signal });
  const nodes: number = await m.setRequantization('exact');
  const mode: Requantization = m.requantization;
  const prof: NodeProfile[] = await m.profile(undefined, 5, { requantization: 'fast' });
  const mem: MemoryInfo | null = await m.memoryInfo();
  // @ts-expect-error: not a requantization mode
  await m.run([{ data: new Float32Array(16), shape: firstInput }], { requantization: 'fp32' });
  const again = await m.toBytes();
  m.dispose();
  void runnable; void ops; void gz; void cos; void sqnr; void b; void again; void fast; void nodes; void mode; void prof; void mem;
  return bytes.length + y[0].shape.length + lat.median + lat.p90;
}

export async function main(bytes: Uint8Array, blob: Blob, res: Response): Promise<void> {
  const info: BuildInfo = await initModelpress({ build: 'simd128' });
  const features = detectFeatures();
  const canThread: boolean = features.threads;
  const threaded: BuildInfo = await initModelpress({ threads: canThread ? 'auto' : 1 });
  const threadCount: number | undefined = threaded.threads;
  console.log(info.build, info.version, await coreVersion(), (await buildInfo()).build, wasmMemoryBytes(), features.simd);
  const m: Model = await loadModel(bytes);
  const m2: Model = await loadModel(blob);
  const m3: Model = await loadModel(res);
  const sync: Model = loadModelSync(bytes.buffer);
  const out = sync.optimizeSync({ quantize: { mode: 'dynamic' } });
  const direct: Output[] = sync.runSync([{ data: new Float32Array(16), shape: [1, 16] }], { requantization: 'fast' });
  const affected: number = sync.setRequantization('fast');
  const peak: number | undefined = sync.memoryInfo()?.peakActivations;
  const gemm: string | undefined = info.gemm;
  void affected; void peak; void gemm; void threadCount;
  const ac = new AbortController();
  await useModel(m, new Float32Array(16 * 8), ac.signal);
  const w: WorkerModel = await createWorkerModel(blob, { workerUrl: new URL('./worker.mjs', 'http://localhost/'), threads: 2, signal: ac.signal });
  const wBytes: Promise<Uint8Array> = w.toBytes();
  await useModel(w, [[{ data: new Float32Array(16), shape: [1, 16] }]], ac.signal);
  const npy = readNpy(writeNpy({ data: new Float32Array(4), shape: [2, 2] }));
  prepareInputs(m2.inputInfo(), [{ data: new Float32Array(npy.data.length), shape: npy.shape }]);
  validateRecipe('{"quantize": {"mode": "float16"}}');
  try {
    await m3.optimize({ quantize: { mode: 'int8' } });
  } catch (e) {
    if (e instanceof RecipeError) console.log(e.field, e.allowed);
    else if (e instanceof AbortError) console.log(e.name === 'AbortError', e.code);
    else if (e instanceof UnsupportedRuntimeError) console.log(e.missing.join(','));
    else if (e instanceof WorkerError) console.log(e.code);
    else if (e instanceof ModelpressError) {
      const code: ErrorCodeName = e.code;
      if (code === ErrorCode.BAD_INPUT) console.log('bad input', e.message);
    }
    const revived = reviveError({ code: 'ABORTED', message: 'x' });
    console.log(revived instanceof ErrorsModelpressError);
  }
  // @ts-expect-error: optimize returns a promise of {bytes, report}, not bytes
  const notBytes: Uint8Array = await m.optimize({});
  void notBytes; void out; void direct; void wBytes;
  m.dispose(); m2.dispose(); m3.dispose(); sync.dispose(); w.dispose();
}
