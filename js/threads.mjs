// Worker threads for the threaded wasm build (pkg/web-threads: relaxed SIMD +
// atomics + shared memory). Browser only, and only where the page is
// cross-origin isolated (COOP/COEP), which SharedArrayBuffer needs.
//
// startThreads(glueUrl, wasmUrl, workers) instantiates the build on this
// thread and starts `workers` Web Workers (js/thread-worker.mjs), each of which
// instantiates the same compiled module on the same shared memory and enters
// the core's worker loop (crate/src/par.rs). The kernels then split large
// layers over workers + this thread. The thread that calls the core never
// sleeps on an atomic (it spins), so this works on a main thread too.

/** Whether this JS realm can run the threaded build. */
export function threadsAvailable() {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true && typeof Worker === 'function';
}

/**
 * @param {string|URL} glueUrl the build's wasm-bindgen --target web module
 * @param {string|URL} wasmUrl its .wasm
 * @param {number} workers worker threads to start (the caller is one more)
 * @param {{timeoutMs?: number}} [opts]
 * @returns {Promise<{glue: any, threads: number, workers: Worker[], terminate: () => void}>}
 */
export async function startThreads(glueUrl, wasmUrl, workers, opts = {}) {
  if (!threadsAvailable()) {
    throw new Error('threads need SharedArrayBuffer and a cross-origin isolated page (COOP: same-origin, COEP: require-corp)');
  }
  const glue = await import(String(glueUrl));
  const module = await WebAssembly.compileStreaming(fetch(String(wasmUrl)));
  const exports = await glue.default({ module_or_path: module });
  if (!glue.threadsSupported?.()) throw new Error(`${glueUrl} is not a threaded build`);
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
    w.postMessage({ glueUrl: new URL(String(glueUrl), location.href).href, module, memory });
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
  return { glue, threads, workers: list, terminate };
}
