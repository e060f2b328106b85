// The page side of web/worker.js: requests with promises and progress
// callbacks, and cancel = terminate the worker and start a fresh one.

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
    this.code = 'CANCELLED';
  }
}

export class EngineClient {
  /**
   * @param {{onReady?: (build) => void, onFatal?: (error) => void, onCrash?: (message: string) => void}} hooks
   */
  constructor(hooks = {}) {
    this.hooks = hooks;
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
    this.build = null;
    this.ready = null;
  }

  get started() {
    return this.worker !== null;
  }

  /** Start the worker (idempotent). Resolves with the build info once the wasm is ready. */
  start() {
    if (this.worker) return this.ready;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker = worker;
    let resolveReady;
    let rejectReady;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.ready.catch(() => {}); // observed by callers that care
    worker.onmessage = ({ data }) => {
      if (worker !== this.worker) return;
      if (data?.type === 'ready') {
        this.build = data.build;
        resolveReady(data.build);
        this.hooks.onReady?.(data.build);
        return;
      }
      if (data?.type === 'fatal') {
        const err = Object.assign(new Error(data.error.message), { code: data.error.code });
        rejectReady(err);
        this.hooks.onFatal?.(err);
        return;
      }
      const p = this.pending.get(data?.id);
      if (!p) return;
      if (data.type === 'progress') {
        p.onProgress?.(data.phase, data.fraction);
        return;
      }
      this.pending.delete(data.id);
      if (data.ok) p.resolve(data.result);
      else p.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      if (worker !== this.worker) return;
      const msg = ev.message || 'the engine failed to load (is the wasm build there? run `npm run build`)';
      const err = Object.assign(new Error(msg), { code: /memory/i.test(msg) ? 'OUT_OF_MEMORY' : 'INTERNAL' });
      rejectReady(err);
      this.#rejectAll(err);
      this.#kill();
      this.hooks.onCrash?.(msg);
    };
    worker.onmessageerror = () => {
      this.#rejectAll(Object.assign(new Error('a message from the engine could not be read'), { code: 'INTERNAL' }));
    };
    return this.ready;
  }

  #kill() {
    this.worker?.terminate();
    this.worker = null;
    this.ready = null;
  }

  #rejectAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Terminate the worker (stopping whatever it is doing); pending requests reject with CancelledError. */
  cancel(reason = 'cancelled') {
    this.#kill();
    this.#rejectAll(new CancelledError(reason));
  }

  /** Cancel, then start a fresh worker. */
  restart(reason) {
    this.cancel(reason);
    return this.start();
  }

  /**
   * @param {string} op
   * @param {object} [args]
   * @param {{transfer?: Transferable[], onProgress?: (phase: string, fraction: number) => void}} [opts]
   */
  request(op, args = {}, { transfer = [], onProgress } = {}) {
    this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...args, id, op }, transfer);
    });
  }
}
