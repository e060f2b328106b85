// The Node runtime of the public entry (js/index.node.mjs): the wasm is read
// from disk and instantiated synchronously (no fetch), with the --target web
// glue of pkg/web (its initSync takes the bytes; its exports give the wasm
// memory, which memory checks read). Node 20+ always has WebAssembly SIMD, so
// this is the simd128 build. (The CLI's synchronous API, js/node.mjs, uses the
// --target nodejs build in pkg/node.)

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ModelpressError, fromWasmError, setPanicSource } from './errors.mjs';
import { loadWith } from './model.mjs';
import { Model, readModelBytes } from './api.mjs';

const GLUE_URL = new URL('../pkg/web/modelpress.js', import.meta.url);
const WASM_URL = new URL('../pkg/web/modelpress_bg.wasm', import.meta.url);

const glue = existsSync(fileURLToPath(GLUE_URL)) ? await import(GLUE_URL.href) : null;
let state = null; // {memory, info}

function init() {
  if (state) return state;
  if (!glue || !existsSync(fileURLToPath(WASM_URL))) {
    throw new ModelpressError(ErrorCode.NOT_BUILT, `the wasm build is missing (${fileURLToPath(WASM_URL)}); run \`npm run build\` first`);
  }
  try {
    const exports = glue.initSync({ module: readFileSync(WASM_URL) });
    setPanicSource(glue.lastPanicMessage);
    state = { memory: exports.memory, info: glue.buildInfo() };
  } catch (e) {
    throw fromWasmError(e);
  }
  return state;
}

/**
 * Instantiate the wasm (synchronously, from disk; done on first use anyway).
 * Options are accepted for symmetry with the browser entry: `build` may only name the build in use.
 * @returns {Promise<{build: string, version: string}>}
 */
export async function initModelpress(options) {
  const s = init();
  const want = options && Object.getPrototypeOf(options) === Object.prototype ? options.build : undefined;
  if (want !== undefined && want !== s.info.build) {
    throw new ModelpressError(ErrorCode.UNSUPPORTED_RUNTIME, `the Node entry has only the ${s.info.build} build, not '${want}'`);
  }
  return { ...s.info };
}

/**
 * Parse model bytes (.tflite).
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|Blob|Response} input
 * @returns {Promise<Model>}
 */
export async function loadModel(input) {
  return loadModelSync(await readModelBytes(input));
}

/** loadModel() for bytes, without the promise. */
export function loadModelSync(bytes) {
  const s = init();
  return new Model(loadWith(glue.WasmModel, bytes), s.info);
}

/** Version of the Rust core. */
export async function coreVersion() {
  init();
  return glue.version();
}

/** `{build, version}` of the wasm build in use. */
export async function buildInfo() {
  return { ...init().info };
}

/** Size of the wasm linear memory in bytes (it grows, never shrinks; 0 before init). */
export function wasmMemoryBytes() {
  return state?.memory?.buffer.byteLength ?? 0;
}

/** Features of this JS engine's WebAssembly (for symmetry with the browser entry). */
export { detectFeatures } from './wasm-features.mjs';
