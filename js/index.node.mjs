// Node entry of the modelpress package (the `node` export): the same async
// API as the browser entry. The wasm is read from disk (js/runtime-node.mjs);
// createWorkerModel runs the model in a worker thread (js/worker.node.mjs).

import { Worker } from 'node:worker_threads';
import { createWorkerModelWith } from './worker-client.mjs';
import { WorkerError } from './errors.mjs';

export { initModelpress, loadModel, loadModelSync, coreVersion, buildInfo, wasmMemoryBytes, detectFeatures } from './runtime-node.mjs';
export { Model } from './api.mjs';
export { WorkerModel } from './worker-client.mjs';
export { prepareInputs } from './model.mjs';
export { validateRecipe } from './recipe.mjs';
export { ModelpressError, RecipeError, AbortError, UnsupportedRuntimeError, WorkerError, ErrorCode, reviveError } from './errors.mjs';

/**
 * Load a model into a worker thread: the Model API with long calls off the
 * main thread; aborting a call terminates the thread; dispose() too.
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|Blob|Response} input
 * @param {{workerUrl?: string|URL, build?: string, signal?: AbortSignal}} [options]
 */
export function createWorkerModel(input, options = {}) {
  const url = options?.workerUrl ?? new URL('./worker.node.mjs', import.meta.url);
  const spawn = () => {
    const w = new Worker(url);
    let failed = false;
    return {
      post: (msg, transfer) => w.postMessage(msg, transfer),
      onMessage: (fn) => w.on('message', fn),
      onError: (fn) => {
        w.on('error', (e) => {
          failed = true;
          fn(new WorkerError(`the modelpress worker thread failed: ${e?.message ?? e}`, { cause: e }));
        });
        w.on('exit', (code) => {
          if (!failed) fn(new WorkerError(`the modelpress worker thread exited (code ${code})`));
        });
      },
      terminate: () => {
        failed = true;
        w.terminate();
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  };
  return createWorkerModelWith(spawn, input, options);
}
