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
    const { build, wasm, module_or_path: mop } = options;
    return { build, wasm: wasm ?? mop };
  }
  return { wasm: options };
}

/**
 * Pick and instantiate the wasm build once (later calls return the same promise).
 * @param {{build?: 'scalar'|'simd128'|'relaxed-simd', wasm?: string|URL|Response|BufferSource|WebAssembly.Module}|string|URL|Response|BufferSource|WebAssembly.Module} [options]
 *   `build` forces a build; `wasm` overrides where its .wasm comes from (default: next to its glue).
 * @returns {Promise<{build: string, version: string}>}
 */
export function initModelpress(options) {
  pending ??= (async () => {
    const { build, wasm } = initOptions(options);
    const chosen = chooseBuild(detectFeatures(), BUILDS, build);
    let exports;
    try {
      exports = await chosen.glue.default(wasm === undefined ? undefined : { module_or_path: wasm });
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
