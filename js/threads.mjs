// Worker threads for the threaded wasm build (pkg/web-threads: relaxed SIMD +
// atomics + shared memory). Browser only, and only where the page is
// cross-origin isolated (COOP/COEP), which SharedArrayBuffer needs.
//
// startThreads(glue, wasm, workers) instantiates the build (its wasm-bindgen
// glue module, pkg/web-threads/modelpress.js) on this thread and starts
// `workers` Web Workers (js/thread-worker.mjs, which imports the same glue),
// each of which instantiates the same compiled module on the same shared
// memory and enters the core's worker loop (crate/src/par.rs). The kernels then split large
// layers over workers + this thread. The thread that calls the core never
// sleeps on an atomic (it spins), so this works on a main thread too.

/** Whether this JS realm can run the threaded build. */
export function threadsAvailable() {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true && typeof Worker === 'function';
}

/** Compile a .wasm given as a URL/string, Response, bytes or a Module. */
async function compile(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof Response) return WebAssembly.compileStreaming(wasm);
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return WebAssembly.compile(wasm);
  return WebAssembly.compileStreaming(fetch(String(wasm)));
}

/**
 * @param {any} glue the threaded build's glue module (pkg/web-threads/modelpress.js)
 * @param {string|URL|Response|BufferSource|WebAssembly.Module} [wasm] its .wasm (default: next to the glue)
 * @param {number} workers worker threads to start (the caller is one more)
 * @param {{timeoutMs?: number}} [opts]
 * @returns {Promise<{exports: any, threads: number, workers: Worker[], terminate: () => void}>}
 */
export async function startThreads(glue, wasm, workers, opts = {}) {
  if (!threadsAvailable()) {
    throw new Error('threads need SharedArrayBuffer and a cross-origin isolated page (COOP: same-origin, COEP: require-corp)');
  }
  const module = await compile(wasm ?? new URL('../pkg/web-threads/modelpress_bg.wasm', import.meta.url));
  const exports = await glue.default({ module_or_path: module });
  if (!glue.threadsSupported?.()) throw new Error('not the threaded wasm build');
  const memory = exports.memory;
  const started = [];
  const list = [];
  for (let i = 0; i < workers; i++) {
    const w = new Worker(new URL('./thread-worker.mjs', import.meta.url), { type: 'module', name: `modelpress-thread-${i + 1}` });
    list.push(w);
    started.push(
      new Promise((resolve, reject) => {
        w.onmessage = (e) => (e.data?.error ? reject(new Error(`thread ${i + 1}: ${e.data.error}`)) : resolve());
        w.onerror = (e) => reject(new Error(`thread ${i + 1}: ${e.message ?? 'failed to start'}`));
      }),
    );
    w.postMessage({ module, memory });
  }
  const terminate = () => list.forEach((w) => w.terminate());
  try {
    await Promise.all(started);
    // A worker posts before it enters the loop; wait until all are inside.
    const deadline = performance.now() + (opts.timeoutMs ?? 10000);
    while (glue.threadsStarted() < workers) {
      if (performance.now() > deadline) throw new Error(`only ${glue.threadsStarted()} of ${workers} threads started`);
      await new Promise((r) => setTimeout(r, 1));
    }
  } catch (e) {
    terminate();
    throw e;
  }
  const threads = glue.threadsEnable();
  return { exports, threads, workers: list, terminate };
}
