// The synchronous Node API the CLI (js/cli.mjs) is built on: loads the
// `--target nodejs` wasm build (pkg/node, synchronously from disk, no fetch);
// `loadModel` returns a CoreModel (js/model.mjs) whose methods are all
// synchronous. The package's public Node entry is js/index.node.mjs (the
// async API shared with browsers).

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ModelpressError, fromWasmError } from './errors.mjs';
import { Model, loadWith } from './model.mjs';
import { setPanicSource } from './errors.mjs';

export { Model, prepareInputs } from './model.mjs';
export { ModelpressError, ErrorCode } from './errors.mjs';

const require = createRequire(import.meta.url);
const GLUE = fileURLToPath(new URL('../pkg/node/modelpress.js', import.meta.url));

let wasm;

/** The wasm-bindgen module of the Node build, loaded on first use. */
function binding() {
  if (wasm) return wasm;
  if (!existsSync(GLUE)) {
    throw new ModelpressError(ErrorCode.NOT_BUILT, `the wasm build is missing (${GLUE}); run \`npm run build\` first`);
  }
  try {
    wasm = require(GLUE);
    setPanicSource(wasm.lastPanicMessage);
  } catch (e) {
    throw fromWasmError(e);
  }
  return wasm;
}

/**
 * Parse model bytes (.tflite). Throws ModelpressError (INVALID_MODEL,
 * UNSUPPORTED_FORMAT, ...) with a message naming what is wrong.
 * @param {Uint8Array|ArrayBuffer} bytes
 * @returns {Model}
 */
export function loadModel(bytes) {
  return loadWith(binding().WasmModel, bytes);
}

/** Version of the Rust core. */
export function coreVersion() {
  return binding().version();
}

/** `{build: 'scalar'|'simd128'|'relaxed-simd', version}` of the loaded wasm. */
export function buildInfo() {
  return binding().buildInfo();
}
