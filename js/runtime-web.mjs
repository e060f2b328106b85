// The browser runtime (page or Web Worker): picks a wasm build by feature
// detection (js/wasm-builds.mjs), instantiates it once, and loads models.
// js/browser.mjs re-exports this and adds createWorkerModel; js/worker.mjs
// uses this directly.

import { ErrorCode, ModelpressError, fromWasmError, setPanicSource } from './errors.mjs';
import { BUILDS } from './wasm-builds.mjs';
import { chooseBuild, detectFeatures } from './wasm-features.mjs';
import { loadWith } from './model.mjs';
import { Model, readModelBytes } from './api.mjs';

let state = null; // {glue, memory, info}
let pending = null;

function initOptions(options) {
  if (options === undefined || options === null) return {};
  // The old form: initModelpress(source) with a URL, string, Response, BufferSource or WebAssembly.Module.
  if (Object.getPrototypeOf(options) === Object.prototype) {
    const { build, wasm, module_or_path: mop, threads } = options;
    return { build, wasm: wasm ?? mop, threads };
  }
  return { wasm: options };
}

/** Threads asked for: a count, or 'auto' (the device's cores, at most 4). */
function threadCount(threads) {
  if (threads === undefined || threads === null) return 1;
  if (threads === 'auto') return Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
  const n = Number(threads);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, `threads must be 'auto' or an integer from 1 to 64, got ${JSON.stringify(threads)}`);
  }
  return n;
}

/**
 * Pick and instantiate the wasm build once (later calls return the same promise).
 * @param {{build?: 'scalar'|'simd128'|'relaxed-simd'|'relaxed-simd-threads', wasm?: string|URL|Response|BufferSource|WebAssembly.Module, threads?: number|'auto'}|string|URL|Response|BufferSource|WebAssembly.Module} [options]
 *   `build` forces a build; `wasm` overrides where its .wasm comes from (default: next to its glue);
 *   `threads` (default 1): with more than 1, the threaded build runs large layers on that many
 *   threads (Web Workers on shared memory) where the page is cross-origin isolated and has relaxed
 *   SIMD; elsewhere the single-thread choice stands (`threads` in the result says what is in use).
 * @returns {Promise<{build: string, version: string, threads: number}>}
 */
export function initModelpress(options) {
  pending ??= (async () => {
    const { build, wasm, threads } = initOptions(options);
    const features = detectFeatures();
    let n = threadCount(threads ?? (build === 'relaxed-simd-threads' ? 'auto' : undefined));
    const threaded = BUILDS.find((b) => b.threaded);
    const wantThreads = build === 'relaxed-simd-threads' || (build === undefined && n > 1 && threaded?.needs.every((f) => features[f]));
    const chosen = wantThreads ? chooseBuild(features, BUILDS, 'relaxed-simd-threads') : chooseBuild(features, BUILDS.filter((b) => !b.threaded), build);
    let exports;
    try {
      if (chosen.threaded) {
        const { startThreads } = await import('./threads.mjs');
        ({ exports } = await startThreads(chosen.glue, wasm, Math.max(1, n - 1)));
      } else {
        exports = await chosen.glue.default(wasm === undefined ? undefined : { module_or_path: wasm });
      }
    } catch (e) {
      throw new ModelpressError(ErrorCode.NOT_BUILT, `cannot load the ${chosen.name} wasm build: ${e?.message ?? e}`, { cause: e });
    }
    setPanicSource(chosen.glue.lastPanicMessage);
    state = { glue: chosen.glue, memory: exports.memory, info: chosen.glue.buildInfo() };
    return { ...state.info };
  })().catch((e) => {
    pending = null;
    throw fromWasmError(e);
  });
  return pending;
}

function ready(what) {
  if (!state) throw new ModelpressError(ErrorCode.NOT_READY, `${what} needs the wasm instance: await initModelpress() (or loadModel) first`);
  return state;
}

/**
 * Parse model bytes (.tflite).
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|Blob|Response} input
 * @returns {Promise<Model>}
 */
export async function loadModel(input) {
  const bytes = await readModelBytes(input);
  await initModelpress();
  return loadModelSync(bytes);
}

/** loadModel() for bytes, without the promise; the wasm must be initialized (await initModelpress()). */
export function loadModelSync(bytes) {
  const s = ready('loadModelSync');
  return new Model(loadWith(s.glue.WasmModel, bytes), s.info);
}

/** Version of the Rust core. */
export async function coreVersion() {
  await initModelpress();
  return state.glue.version();
}

/** `{build: 'scalar'|'simd128'|'relaxed-simd', version}` of the wasm build in use. */
export async function buildInfo() {
  await initModelpress();
  return { ...state.info };
}

/** Size of the wasm linear memory in bytes (it grows, never shrinks; 0 before init). */
export function wasmMemoryBytes() {
  return state?.memory?.buffer.byteLength ?? 0;
}

export { detectFeatures, BUILDS };
