// `CoreModel`: the synchronous wrapper over the wasm `WasmModel` handle. The
// CLI uses it through js/node.mjs; the public async `Model` (js/api.mjs) is
// built on it. It maps core errors to ModelpressError, checks run() inputs
// against the model's inputs with messages that name the input, and frees the
// handle.

import { ErrorCode, ModelpressError, fromWasmError, isWasmTrap } from './errors.mjs';
import { dtypeOfArray } from './npy.mjs';

const fmtShape = (s) => `[${s.join(',')}]`;

/** A view of model bytes given as a Uint8Array, an (Shared)ArrayBuffer or another ArrayBufferView (no copy). */
export function toUint8(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (typeof SharedArrayBuffer === 'function' && bytes instanceof SharedArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'model bytes must be a Uint8Array or an ArrayBuffer');
}

/**
 * Check inputs against the model's input descriptions and convert what can be
 * converted losslessly enough (float64 -> float32). Throws BAD_INPUT naming
 * the input, what it expected and what it got.
 * @param {{name: string, shape: number[], dtype: string}[]} infos  from inputInfo() (-1 = any size)
 * @param {{data: ArrayBufferView, shape: number[], dtype?: string}[]} inputs
 * @returns {{data: ArrayBufferView, shape: number[]}[]}
 */
export function prepareInputs(infos, inputs) {
  if (!Array.isArray(inputs)) {
    throw new ModelpressError(ErrorCode.BAD_INPUT, 'inputs must be an array of {data, shape}');
  }
  if (inputs.length !== infos.length) {
    const names = infos.map((i) => i.name).join(', ');
    throw new ModelpressError(ErrorCode.BAD_INPUT, `the model has ${infos.length} input${infos.length === 1 ? '' : 's'} (${names}), got ${inputs.length}`);
  }
  return inputs.map((item, i) => {
    const info = infos[i];
    const label = `input ${i} '${info.name}'`;
    const data = item?.data;
    const shape = item?.shape;
    if (!ArrayBuffer.isView(data) || data instanceof DataView) {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: data must be a TypedArray`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    let got;
    try {
      got = item.dtype ?? dtypeOfArray(data);
    } catch {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: unsupported data array ${data.constructor.name}`);
    }
    const want = info.dtype;
    const expected = `${want} ${fmtShape(info.shape)}`;
    const gotDesc = `${got} ${fmtShape(shape)}`;
    let out = data;
    if (got !== want) {
      if (want === 'float32' && got === 'float64') {
        out = Float32Array.from(data);
      } else if (want === 'bool' && got === 'uint8') {
        out = data;
      } else {
        throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: dtype mismatch: expected ${expected}, got ${gotDesc}`);
      }
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape ${fmtShape(shape)} has ${n} elements but data has ${data.length}`);
    }
    const ok =
      shape.length === info.shape.length &&
      shape.every((d, k) => {
        const e = info.shape[k];
        if (e < 0 || e === d) return true;
        // A leading batch N > 1 for a model with batch 1: the core runs it item by item.
        return k === 0 && e === 1 && d >= 1;
      });
    if (!ok) {
      throw new ModelpressError(ErrorCode.BAD_INPUT, `${label}: shape mismatch: expected ${expected}, got ${gotDesc}`);
    }
    return { data: out, shape: [...shape] };
  });
}

/** The integer requantization modes of run() (WasmModel.setRequantization). */
export const REQUANTIZATION_MODES = Object.freeze(['exact', 'fast']);

/** Check a requantization mode; throws INVALID_ARGUMENT naming the bad value. */
export function checkRequantization(mode) {
  if (typeof mode === 'string' && REQUANTIZATION_MODES.includes(mode)) return mode;
  let got;
  try {
    got = typeof mode === 'string' ? JSON.stringify(mode) : mode === undefined ? 'undefined' : typeof mode === 'bigint' ? `${mode}n` : JSON.stringify(mode) ?? String(mode);
  } catch {
    got = String(mode);
  }
  throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `requantization must be "exact" or "fast", got ${got}`);
}

function recipeJson(recipe) {
  if (typeof recipe === 'string') return recipe;
  if (recipe && typeof recipe === 'object' && !Array.isArray(recipe)) return JSON.stringify(recipe);
  throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'recipe must be an object');
}

export class CoreModel {
  #h;
  #broken = false;
  /** The model-level requantization mode (setRequantization). */
  #requant = 'exact';
  /** The mode the wasm handle is set to ('exact' is the core's default). */
  #handleRequant = 'exact';

  /** @param {object} handle a wasm-bindgen `WasmModel` */
  constructor(handle) {
    this.#h = handle;
  }

  #call(fn) {
    if (!this.#h) throw new ModelpressError(ErrorCode.DISPOSED, 'this model was disposed');
    if (this.#broken) {
      throw new ModelpressError(ErrorCode.INTERNAL, 'this model is unusable after an internal error; load it again');
    }
    try {
      return fn(this.#h);
    } catch (e) {
      if (isWasmTrap(e)) this.#broken = true;
      throw fromWasmError(e);
    }
  }

  /** Everything `modelpress inspect` shows (crate/src/inspect.rs `Summary`, snake_case keys). */
  summary() {
    return this.#call((h) => h.summary());
  }

  /** `[{name, shape, dtype}]` of subgraph 0's inputs; -1 marks a dynamic dimension. */
  inputInfo() {
    return this.#call((h) => h.inputInfo());
  }

  /** The model written back unchanged (identity round trip), as .tflite bytes. */
  toBytes() {
    return this.#call((h) => h.toBytes());
  }

  /**
   * Apply a recipe and return the new model's .tflite bytes.
   * @param {object|string} [recipe] a recipe object (or its JSON); `{}` is the identity
   */
  optimize(recipe = {}) {
    const json = recipeJson(recipe);
    return this.#call((h) => h.optimize(json));
  }

  /**
   * Apply a recipe with calibration samples and a progress callback.
   * @param {object|string} [recipe] e.g. `{quantize: {mode: 'int8', io: 'float'}}`
   * @param {{data: ArrayBufferView, shape: number[], dtype?: string}[][]} [calibration]
   *   samples, each one set of model inputs (checked like run() inputs)
   * @param {(phase: string, fraction: number) => void} [onProgress]
   * @returns {{bytes: Uint8Array, report: object}}
   */
  optimizeWithReport(recipe = {}, calibration = [], onProgress = undefined) {
    const json = recipeJson(recipe);
    if (!Array.isArray(calibration)) {
      throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'calibration must be an array of input sets');
    }
    const infos = calibration.length ? this.inputInfo() : [];
    const samples = calibration.map((set, k) => {
      try {
        return prepareInputs(infos, set);
      } catch (e) {
        throw new ModelpressError(e.code ?? ErrorCode.BAD_INPUT, `calibration sample ${k}: ${e.message}`);
      }
    });
    const cb = typeof onProgress === 'function' ? onProgress : undefined;
    return this.#call((h) => {
      if (typeof h.optimizeWithReport !== 'function') {
        throw new ModelpressError(ErrorCode.UNSUPPORTED, 'this wasm build has no optimizeWithReport; rebuild with `npm run build`');
      }
      return h.optimizeWithReport(json, samples.length ? samples : undefined, cb);
    });
  }

  /** The integer requantization mode of later runs: 'exact' (default) or 'fast'. */
  get requantization() {
    return this.#requant;
  }

  /**
   * Integer requantization of later runs of int8 CONV_2D / DEPTHWISE_CONV_2D /
   * FULLY_CONNECTED nodes: 'exact' (default; TFLite's reference fixed-point
   * arithmetic, bit-exact with LiteRT's reference kernels) or 'fast' (single
   * precision, as XNNPACK does; outputs may differ by one quantization step).
   * Throws INVALID_ARGUMENT for another value.
   * @param {'exact'|'fast'} mode
   * @returns {number} nodes the mode applies to (0 before the first run has planned the model)
   */
  setRequantization(mode) {
    const n = this.#setHandle(checkRequantization(mode));
    this.#requant = mode;
    return n;
  }

  #setHandle(mode) {
    return this.#call((h) => {
      if (typeof h.setRequantization !== 'function') {
        if (mode === 'exact') return 0;
        throw new ModelpressError(ErrorCode.UNSUPPORTED, 'this wasm build has no fast requantization; rebuild with `npm run build`');
      }
      const n = h.setRequantization(mode);
      this.#handleRequant = mode;
      return n;
    });
  }

  /** Set the handle to `mode` (a run's own option) or else to the model-level mode, if it differs. */
  #useRequantization(mode) {
    const want = mode ?? this.#requant;
    if (want !== this.#handleRequant) this.#setHandle(want);
  }

  /**
   * Run the model (subgraph 0).
   * @param {{data: ArrayBufferView, shape: number[], dtype?: string}[]} inputs in model input order
   * @param {{requantization?: 'exact'|'fast'}} [options] the requantization of this run
   *   (default: the model's, see setRequantization; later runs go back to the model's)
   * @returns {{name: string, dtype: string, shape: number[], data: ArrayBufferView}[]}
   */
  run(inputs, options = undefined) {
    const mode = options?.requantization ?? undefined;
    if (mode !== undefined) checkRequantization(mode);
    const prepared = prepareInputs(this.inputInfo(), inputs);
    this.#useRequantization(mode);
    return this.#call((h) => h.run(prepared));
  }

  /**
   * Time every node: one untimed run, then `runs` timed ones (batch 1).
   * @param {{data: ArrayBufferView, shape: number[], dtype?: string}[]} inputs
   * @param {number} [runs]
   * @param {{requantization?: 'exact'|'fast'}} [options]
   * @returns {{node: number, op: string, output: string, shape: number[], ms: number}[]} in execution order, ms the mean
   */
  profile(inputs, runs = 10, options = undefined) {
    if (!Number.isSafeInteger(runs) || runs < 1) {
      throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `profile: runs must be an integer >= 1, got ${runs}`);
    }
    const mode = options?.requantization ?? undefined;
    if (mode !== undefined) checkRequantization(mode);
    const prepared = prepareInputs(this.inputInfo(), inputs);
    this.#useRequantization(mode);
    return this.#call((h) => {
      if (typeof h.profile !== 'function') {
        throw new ModelpressError(ErrorCode.UNSUPPORTED, 'this wasm build has no profile; rebuild with `npm run build`');
      }
      return h.profile(prepared, runs);
    });
  }

  /**
   * Bytes the engine holds: `{constants, prepared, peakActivations}` (constant tensors
   * kept for running, kernel-ready state such as packed weights, and the high-water
   * mark of activation storage so far), or null before the first run.
   */
  memoryInfo() {
    return this.#call((h) => (typeof h.memoryInfo === 'function' ? h.memoryInfo() ?? null : null));
  }

  get disposed() {
    return !this.#h;
  }

  /** Free the wasm memory held by this model. Safe to call twice. */
  dispose() {
    const h = this.#h;
    this.#h = null;
    if (h) {
      try {
        h.free();
      } catch {
        // after a trap the handle may already be gone; nothing to free
      }
    }
  }
}

if (typeof Symbol.dispose === 'symbol') {
  CoreModel.prototype[Symbol.dispose] = CoreModel.prototype.dispose;
}

/** The old name of CoreModel (js/node.mjs exports it as `Model`). */
export { CoreModel as Model };

/** Load model bytes with a given `WasmModel` class (from the node or web build). */
export function loadWith(WasmModel, bytes) {
  const u8 = toUint8(bytes);
  let handle;
  try {
    handle = new WasmModel(u8);
  } catch (e) {
    throw fromWasmError(e);
  }
  return new CoreModel(handle);
}
