// Browser entry of the modelpress package: loads the `--target web` wasm build
// (pkg/web) and exposes `loadModel`. Works in a page or a (module) Web Worker.

import init, { WasmModel, version, buildInfo as wasmBuildInfo, lastPanicMessage } from '../pkg/web/modelpress.js';
import { setPanicSource } from './errors.mjs';
import { fromWasmError } from './errors.mjs';
import { Model, loadWith } from './model.mjs';

export { Model, prepareInputs } from './model.mjs';
export { ModelpressError, ErrorCode, reviveError } from './errors.mjs';

let ready;

/**
 * Fetch and instantiate the wasm once. Optional `source`: a URL, Response,
 * BufferSource or WebAssembly.Module (defaults to modelpress_bg.wasm next to the glue).
 */
export function initModelpress(source) {
  setPanicSource(lastPanicMessage);
  ready ??= init(source === undefined ? undefined : { module_or_path: source }).catch((e) => {
    ready = undefined;
    throw fromWasmError(e);
  });
  return ready;
}

/**
 * Parse model bytes (.tflite).
 * @param {Uint8Array|ArrayBuffer} bytes
 * @returns {Promise<Model>}
 */
export async function loadModel(bytes) {
  await initModelpress();
  return loadWith(WasmModel, bytes);
}

/** Version of the Rust core. */
export async function coreVersion() {
  await initModelpress();
  return version();
}

/** `{build, version}` of the loaded wasm. */
export async function buildInfo() {
  await initModelpress();
  return wasmBuildInfo();
}
