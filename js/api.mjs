// The public `Model` of the package (the same in browsers, workers and Node):
// summary() / inputInfo() / toBytes() now, optimize() / run() / benchmark()
// as promises, AbortSignal checks between phases, calibration given as input
// sets or as one batch. It wraps a synchronous CoreModel (js/model.mjs); the
// entries (js/runtime-web.mjs, js/runtime-node.mjs) supply the wasm build.

import { ErrorCode, ModelpressError, throwIfAborted } from './errors.mjs';
import { checkRequantization, prepareInputs, toUint8 } from './model.mjs';
import { recipeErrorFromCore, validateRecipe } from './recipe.mjs';

const isTyped = (x) => ArrayBuffer.isView(x) && !(x instanceof DataView);
const product = (s) => s.reduce((a, b) => a * b, 1);
const fmtShape = (s) => `[${s.join(',')}]`;

/** Let the event loop run (a macrotask), so aborts, timers and paints can land. */
export const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Model bytes from a Uint8Array, an ArrayBuffer (or any ArrayBufferView), a
 * Blob / File, or a fetch Response.
 * @returns {Promise<Uint8Array>}
 */
export async function readModelBytes(input) {
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input) || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) return toUint8(input);
  if (typeof Response === 'function' && input instanceof Response) {
    if (!input.ok) {
      throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `cannot load the model: HTTP ${input.status} ${input.statusText} for ${input.url || 'the response'}`);
    }
    if (input.bodyUsed) throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'cannot load the model: the Response body was already read');
    return new Uint8Array(await input.arrayBuffer());
  }
  if (typeof Blob === 'function' && input instanceof Blob) return new Uint8Array(await input.arrayBuffer());
  const got = input === null ? 'null' : typeof input === 'object' ? input.constructor?.name ?? 'an object' : typeof input;
  throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `model bytes must be a Uint8Array, an ArrayBuffer, a Blob or a Response, got ${got}`);
}

/** Shape of one sample of `info`: the batch dimension becomes 1; other dynamic dims must be given. */
function sampleShape(info, length, label) {
  const shape = info.shape.map((d, k) => (k === 0 && d < 0 ? 1 : d));
  const dyn = shape.filter((d) => d < 0).length;
  if (dyn === 0) return shape;
  const known = product(shape.filter((d) => d >= 0));
  if (dyn === 1 && known > 0 && length % known === 0) return shape.map((d) => (d < 0 ? length / known : d));
  throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: input '${info.name}' has dynamic dimensions ${fmtShape(info.shape)}; give samples as {data, shape}`);
}

function oneInput(infos, what) {
  if (infos.length !== 1) {
    throw new ModelpressError(
      ErrorCode.BAD_INPUT,
      `${what} only fits a model with one input; this one has ${infos.length} (${infos.map((i) => i.name).join(', ')}): give an array of input sets, each [{data, shape}, ...] in model input order`,
    );
  }
  return infos[0];
}

/** Split a batch {data, shape} whose leading axis is the sample (as the CLI's --calib X.npy). */
function splitBatch(info, batch, label) {
  const { data, shape } = batch;
  if (!isTyped(data)) throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: data must be a TypedArray`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (product(shape) !== data.length) {
    throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape ${fmtShape(shape)} has ${product(shape)} elements but data has ${data.length}`);
  }
  const want = info.shape;
  const fits = (got, exp) => got.length === exp.length && got.every((d, k) => exp[k] < 0 || exp[k] === d);
  let n;
  let item;
  if (shape.length === want.length && (want[0] === 1 || want[0] < 0) && fits(shape.slice(1), want.slice(1))) {
    n = shape[0];
    item = [1, ...shape.slice(1)];
  } else if (shape.length === want.length - 1 && (want[0] === 1 || want[0] < 0) && fits(shape, want.slice(1))) {
    n = 1;
    item = [1, ...shape];
  } else {
    throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape ${fmtShape(shape)} does not fit input '${info.name}' ${fmtShape(want)}; expected [N, ${want.slice(1).join(', ')}]`);
  }
  const size = product(item);
  return Array.from({ length: n }, (_, k) => [{ data: data.subarray(k * size, (k + 1) * size), shape: item, dtype: batch.dtype }]);
}

/**
 * Calibration in any accepted form -> an array of input sets.
 *  - an array of input sets: [[{data, shape}, ...], ...] (one {data, shape} per model input);
 *    for a one-input model an item may also be a {data, shape} or a bare TypedArray (one sample);
 *  - one batch for a one-input model: a TypedArray holding N samples back to back, or
 *    {data, shape: [N, ...]} (e.g. from readNpy).
 * @param {unknown} calibration
 * @param {{name: string, shape: number[], dtype: string}[]} infos
 */
export function normalizeCalibration(calibration, infos) {
  if (calibration === undefined || calibration === null) return [];
  if (isTyped(calibration)) {
    const info = oneInput(infos, 'a TypedArray calibration batch');
    const shape = sampleShape(info, calibration.length, 'calibration');
    const size = product(shape);
    if (size === 0 || calibration.length % size !== 0 || calibration.length === 0) {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `calibration: ${calibration.length} values is not a whole number of samples of ${fmtShape(shape)} (${size} values each)`);
    }
    const n = calibration.length / size;
    return Array.from({ length: n }, (_, k) => [{ data: calibration.subarray(k * size, (k + 1) * size), shape }]);
  }
  if (Array.isArray(calibration)) {
    return calibration.map((item, k) => {
      const label = `calibration[${k}]`;
      if (Array.isArray(item)) return item;
      if (isTyped(item)) {
        const info = oneInput(infos, `${label}: a bare TypedArray sample`);
        return [{ data: item, shape: sampleShape(info, item.length, label) }];
      }
      if (item && typeof item === 'object' && 'data' in item) {
        oneInput(infos, `${label}: a single {data, shape} sample`);
        return [item];
      }
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: expected an input set ([{data, shape}, ...]), a {data, shape} or a TypedArray`);
    });
  }
  if (typeof calibration === 'object' && 'data' in calibration) {
    return splitBatch(oneInput(infos, 'a {data, shape} calibration batch'), calibration, 'calibration');
  }
  throw new ModelpressError(ErrorCode.BAD_INPUT, 'calibration must be an array of input sets, a TypedArray batch or a {data, shape} batch');
}

const SYNTH = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  float16: Uint16Array,
};

/** Inputs for benchmark(): batch 1 (dynamic dims 1), float inputs pseudo-random in [-1, 1), others zero. */
export function syntheticInputs(infos) {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return (seed / 0x100000000) * 2 - 1;
  };
  return infos.map((info) => {
    const A = SYNTH[info.dtype];
    if (!A) throw new ModelpressError(ErrorCode.UNSUPPORTED, `benchmark: cannot make a ${info.dtype} input for '${info.name}'; pass inputs`);
    const shape = info.shape.map((d) => (d < 0 ? 1 : d));
    const data = new A(product(shape));
    if (info.dtype === 'float32' || info.dtype === 'float64') for (let i = 0; i < data.length; i++) data[i] = rand();
    return info.dtype === 'bool' || info.dtype === 'float16' ? { data, shape, dtype: info.dtype } : { data, shape };
  });
}

function checkCount(name, v, min) {
  if (!Number.isSafeInteger(v) || v < min) throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `benchmark: ${name} must be an integer >= ${min}, got ${v}`);
}

/** {median, p90, mean, min, max} of times in ms. */
export function latencyStats(times) {
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)];
  const mean = s.reduce((a, b) => a + b, 0) / n;
  return { median, p90, mean, min: s[0], max: s[n - 1] };
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A progress callback for the core that never throws into wasm; rethrow() after the call. */
function progressRelay(onProgress) {
  if (onProgress != null && typeof onProgress !== 'function') {
    throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'onProgress must be a function (phase, fraction) => void');
  }
  let error = null;
  return {
    fn: typeof onProgress === 'function'
      ? (phase, fraction) => {
          if (error) return;
          try {
            onProgress(phase, fraction);
          } catch (e) {
            error = { e };
          }
        }
      : undefined,
    rethrow() {
      if (error) throw error.e;
    },
  };
}

/**
 * A loaded model. Get one with `await loadModel(bytes)`; free its wasm
 * memory with dispose().
 */
export class Model {
  #core;
  #build;

  /** @param {import('./model.mjs').CoreModel} core @param {{build: string, version: string}} build */
  constructor(core, build) {
    this.#core = core;
    this.#build = build;
  }

  #live() {
    if (this.#core.disposed) throw new ModelpressError(ErrorCode.DISPOSED, 'this model was disposed');
    return this.#core;
  }

  /** The wasm build this model runs on: {build: 'scalar'|'simd128'|'relaxed-simd', version}. */
  get build() {
    return { ...this.#build };
  }

  /** True after dispose(). */
  get disposed() {
    return this.#core.disposed;
  }

  /** Inputs, outputs, ops, parameters, sizes, runnable (crate/src/inspect.rs Summary, snake_case keys). */
  summary() {
    return this.#live().summary();
  }

  /** [{name, shape, dtype}] of the model's inputs; -1 marks a dynamic dimension. */
  inputInfo() {
    return this.#live().inputInfo();
  }

  /** The model written back unchanged, as .tflite bytes. */
  toBytes() {
    return this.#live().toBytes();
  }

  /**
   * optimize() without the promise: blocks until done (no AbortSignal).
   * @returns {{bytes: Uint8Array, report: object}}
   */
  optimizeSync(recipe = {}, options = {}) {
    const { calibration, onProgress } = options ?? {};
    const core = this.#live();
    const r = validateRecipe(recipe);
    const samples = normalizeCalibration(calibration, calibration == null ? [] : core.inputInfo());
    const relay = progressRelay(onProgress);
    let out;
    try {
      out = core.optimizeWithReport(JSON.stringify(r), samples, relay.fn);
    } catch (e) {
      throw recipeErrorFromCore(e, r);
    }
    relay.rethrow();
    return out;
  }

  /**
   * Apply a recipe. Resolves to {bytes, report}.
   * The signal is checked before the recipe is checked, before the core starts and when it
   * returns; the core's own work is one synchronous call (use createWorkerModel to cut it short).
   * @param {object|string} [recipe]
   * @param {{calibration?: unknown, onProgress?: (phase: string, fraction: number) => void, signal?: AbortSignal}} [options]
   */
  async optimize(recipe = {}, options = {}) {
    const { calibration, onProgress, signal } = options ?? {};
    throwIfAborted(signal, 'optimize');
    const core = this.#live();
    const r = validateRecipe(recipe);
    const samples = normalizeCalibration(calibration, calibration == null ? [] : core.inputInfo());
    const relay = progressRelay(onProgress);
    await nextTask();
    throwIfAborted(signal, 'optimize');
    let out;
    try {
      out = this.#live().optimizeWithReport(JSON.stringify(r), samples, relay.fn);
    } catch (e) {
      throw recipeErrorFromCore(e, r);
    }
    relay.rethrow();
    throwIfAborted(signal, 'optimize');
    return out;
  }

  /** The integer requantization mode of runs without their own: 'exact' (default) or 'fast'. */
  get requantization() {
    return this.#core.requantization;
  }

  /**
   * Integer arithmetic of later runs of int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD / SUB:
   * 'exact' (default; TFLite's reference fixed-point requantization, bit-exact with
   * LiteRT's reference kernels) or 'fast' (single-precision requantization, as XNNPACK,
   * LiteRT's default CPU path, does; outputs may differ by one quantization step).
   * Throws INVALID_ARGUMENT for another value.
   * @param {'exact'|'fast'} mode
   * @returns {number} nodes the mode applies to (0 before the first run has planned the model)
   */
  setRequantization(mode) {
    return this.#live().setRequantization(mode);
  }

  /** run() without the promise. */
  runSync(inputs, options = undefined) {
    return this.#live().run(inputs, { requantization: options?.requantization });
  }

  /**
   * Run the model (subgraph 0) on one set of inputs, in model input order.
   * @param {{data: ArrayBufferView, shape: number[], dtype?: string}[]} inputs
   * @param {{signal?: AbortSignal, requantization?: 'exact'|'fast'}} [options]
   *   requantization: this run's integer arithmetic (default: the model's, see setRequantization)
   * @returns {Promise<{name: string, dtype: string, shape: number[], data: ArrayBufferView}[]>}
   */
  async run(inputs, options = {}) {
    throwIfAborted(options?.signal, 'run');
    return this.#live().run(inputs, { requantization: options?.requantization });
  }

  /**
   * Time run(): `warmup` untimed runs, then `runs` timed ones (performance.now around each run).
   * @param {{runs?: number, warmup?: number, inputs?: object[], requantization?: 'exact'|'fast', signal?: AbortSignal}} [options]
   * @returns {Promise<{median: number, p90: number, mean: number, min: number, max: number, runs: number, warmup: number, build: string, requantization: string, times: number[]}>}
   */
  async benchmark(options = {}) {
    const { runs = 50, warmup = 5, inputs, signal } = options ?? {};
    const requantization = options?.requantization ?? undefined;
    checkCount('runs', runs, 1);
    checkCount('warmup', warmup, 0);
    if (requantization !== undefined) checkRequantization(requantization);
    throwIfAborted(signal, 'benchmark');
    const core = this.#live();
    const infos = core.inputInfo();
    const feed = prepareInputs(infos, inputs ?? syntheticInputs(infos));
    const opts = { requantization };
    const times = [];
    let lastYield = now();
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = now();
      this.#live().run(feed, opts);
      const t1 = now();
      if (i >= warmup) times.push(t1 - t0);
      if (t1 - lastYield > 50) {
        await nextTask();
        throwIfAborted(signal, 'benchmark');
        lastYield = now();
      }
    }
    return { ...latencyStats(times), runs, warmup, build: this.#build.build, requantization: requantization ?? core.requantization, times };
  }

  /**
   * Time every node: one untimed run, then `runs` timed ones (batch 1).
   * @param {object[]} [inputs] default: the synthetic inputs of benchmark()
   * @param {number} [runs] default 10
   * @param {{requantization?: 'exact'|'fast', signal?: AbortSignal}} [options]
   * @returns {Promise<{node: number, op: string, output: string, shape: number[], ms: number}[]>}
   *   in execution order; ms = mean milliseconds per run
   */
  async profile(inputs = undefined, runs = 10, options = {}) {
    throwIfAborted(options?.signal, 'profile');
    const core = this.#live();
    const feed = inputs ?? syntheticInputs(core.inputInfo());
    return core.profile(feed, runs, { requantization: options?.requantization });
  }

  /**
   * Bytes the engine holds for this model: {constants, prepared, peakActivations}
   * (constant tensors kept for running; kernel-ready state such as packed weights;
   * the high-water mark of activation storage so far), or null before the first run.
   * @returns {{constants: number, prepared: number, peakActivations: number} | null}
   */
  memoryInfo() {
    return this.#live().memoryInfo();
  }

  /** Free the wasm memory held by this model. Safe to call twice. */
  dispose() {
    this.#core.dispose();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Model.prototype[Symbol.dispose] = Model.prototype.dispose;
}

