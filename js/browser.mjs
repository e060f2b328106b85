// Browser entry of the modelpress package (the `browser` / `default` export):
// works in a page, in a module Web Worker and in bundlers (Vite, ...).
// The wasm build is picked by feature detection (js/wasm-builds.mjs).

import { createWorkerModelWith } from './worker-client.mjs';
import { WorkerError } from './errors.mjs';

export { initModelpress, loadModel, loadModelSync, coreVersion, buildInfo, wasmMemoryBytes, detectFeatures } from './runtime-web.mjs';
export { Model } from './api.mjs';
export { WorkerModel } from './worker-client.mjs';
export { prepareInputs } from './model.mjs';
export { validateRecipe } from './recipe.mjs';
export { ModelpressError, RecipeError, AbortError, UnsupportedRuntimeError, WorkerError, ErrorCode, reviveError } from './errors.mjs';

/**
 * Load a model into a module Web Worker (js/worker.mjs): the same API as
 * loadModel's Model, with every long call off the calling thread; aborting a
 * call terminates the worker (a new one is started for the next call);
 * dispose() terminates it.
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView|Blob|Response} input
 * @param {{workerUrl?: string|URL, build?: string, threads?: number|'auto', signal?: AbortSignal}} [options]
 *   workerUrl: where js/worker.mjs is served, if not next to this file
 * @returns {Promise<import('./worker-client.mjs').WorkerModel>}
 */
export function createWorkerModel(input, options = {}) {
  const { workerUrl } = options ?? {};
  if (typeof Worker !== 'function') {
    return Promise.reject(new WorkerError('this environment has no Web Worker; use loadModel'));
  }
  const spawn = () => {
    // The literal `new Worker(new URL('./worker.mjs', import.meta.url), {type: 'module'})`
    // is what bundlers look for to bundle the worker.
    const w = workerUrl ? new Worker(workerUrl, { type: 'module' }) : new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
    return {
      post: (msg, transfer) => w.postMessage(msg, transfer),
      onMessage: (fn) => w.addEventListener('message', (e) => fn(e.data)),
      onError: (fn) => {
        w.addEventListener('error', (e) => {
          e.preventDefault?.();
          fn(new WorkerError(`the modelpress worker failed${e.message ? `: ${e.message}` : ' to start (is the worker script served, as JavaScript, at its URL?)'}`));
        });
        w.addEventListener('messageerror', () => fn(new WorkerError('a message from the modelpress worker could not be read')));
      },
      terminate: () => w.terminate(),
    };
  };
  return createWorkerModelWith(spawn, input, options);
}
