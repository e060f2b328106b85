// WorkerModel: the Model API with the model living in a worker (a module Web
// Worker in browsers, a worker thread in Node), so long calls never block the
// calling thread. Requests run one at a time, in call order. Aborting the
// running request terminates the worker (the only way to stop a synchronous
// wasm call); the next request starts a new worker and loads the model into it
// again (the bytes are kept here for that). dispose() terminates the worker,
// which releases all of its memory.

import { AbortError, ErrorCode, ModelpressError, WorkerError, reviveError } from './errors.mjs';
import { normalizeCalibration, readModelBytes } from './api.mjs';
import { checkRequantization } from './model.mjs';
import { validateRecipe } from './recipe.mjs';

const disposedError = () => new ModelpressError(ErrorCode.DISPOSED, 'this model was disposed');
const clone = (v) => (typeof structuredClone === 'function' ? structuredClone(v) : JSON.parse(JSON.stringify(v)));

/**
 * @typedef {object} WorkerPort  what a spawn function returns
 * @property {(msg: object, transfer?: Transferable[]) => void} post
 * @property {(fn: (msg: object) => void) => void} onMessage
 * @property {(fn: (err: Error) => void) => void} onError  worker crashed or could not start
 * @property {() => void} terminate
 * @property {() => void} [ref]    Node: keep the process alive while requests are pending
 * @property {() => void} [unref]
 */

export class WorkerModel {
  #spawn;
  #bytes;
  #build;
  #threads;
  #conn = null;
  #queue = [];
  #current = null;
  #nextId = 1;
  #disposed = false;
  #info = null; // {summary, inputInfo, build}
  #requant = 'exact'; // the model-level mode, set again in a new worker

  /** Use createWorkerModel(). @param {() => WorkerPort} spawn @param {Uint8Array} bytes */
  constructor(spawn, bytes, build, threads) {
    this.#spawn = spawn;
    this.#bytes = bytes;
    this.#build = build;
    this.#threads = threads;
  }

  /** Start the worker and load the model in it. */
  async _start(signal) {
    await this.#call('load', {}, { signal });
    return this;
  }

  // ---------------------------------------------------------------- connection

  #open() {
    let port;
    try {
      port = this.#spawn();
    } catch (e) {
      throw new WorkerError(`cannot start the modelpress worker: ${e?.message ?? e}`, { cause: e });
    }
    const conn = { port, pending: new Map(), dead: false, error: null, ready: null };
    port.onMessage((msg) => {
      if (conn.dead) return;
      const p = conn.pending.get(msg?.id);
      if (!p) return;
      if (msg.type === 'progress') {
        p.progress?.(msg.phase, msg.fraction);
        return;
      }
      conn.pending.delete(msg.id);
      if (conn.pending.size === 0) port.unref?.();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(reviveError(msg.error));
    });
    port.onError((err) => this.#kill(conn, err instanceof ModelpressError ? err : new WorkerError(`the modelpress worker failed: ${err?.message ?? err}`, { cause: err })));
    port.unref?.();
    conn.request = (op, payload, transfer, progress) =>
      new Promise((resolve, reject) => {
        if (conn.dead) {
          reject(conn.error);
          return;
        }
        const id = this.#nextId++;
        conn.pending.set(id, { resolve, reject, progress });
        port.ref?.();
        try {
          port.post({ ...payload, id, op, progress: !!progress }, transfer ?? []);
        } catch (e) {
          conn.pending.delete(id);
          reject(new ModelpressError(ErrorCode.INVALID_ARGUMENT, `cannot send ${op} to the worker: ${e?.message ?? e}`, { cause: e }));
        }
      });
    return conn;
  }

  #kill(conn, error) {
    if (!conn || conn.dead) return;
    conn.dead = true;
    conn.error = error;
    try {
      conn.port.terminate();
    } catch {
      // already gone
    }
    for (const p of conn.pending.values()) p.reject(error);
    conn.pending.clear();
    if (this.#conn === conn) this.#conn = null;
  }

  /** A worker with the model loaded (a new one after an abort or a crash). */
  #connect() {
    if (this.#conn && !this.#conn.dead) return this.#conn.ready;
    const conn = this.#open();
    this.#conn = conn;
    const copy = new Uint8Array(this.#bytes); // a copy, transferred to the worker
    conn.ready = conn.request('load', { bytes: copy, build: this.#build, threads: this.#threads, requantization: this.#requant }, [copy.buffer]).then(
      (info) => {
        this.#info = info;
        return conn;
      },
      (e) => {
        this.#kill(conn, e);
        throw e;
      },
    );
    return conn.ready;
  }

  // ---------------------------------------------------------------- queue

  #call(op, payload, { signal, onProgress, transfer } = {}) {
    return new Promise((resolve, reject) => {
      if (this.#disposed) return reject(disposedError());
      if (signal?.aborted) return reject(new AbortError(`${op} was aborted`, { cause: signal.reason }));
      const job = { op, payload, transfer, onProgress, signal, resolve, reject, done: false, progressError: null, onAbort: null };
      if (signal) {
        job.onAbort = () => this.#abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  #settle(job, error, value) {
    if (job.done) return;
    job.done = true;
    if (job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    const i = this.#queue.indexOf(job);
    if (i >= 0) this.#queue.splice(i, 1);
    if (error) job.reject(error);
    else job.resolve(value);
  }

  #abort(job) {
    if (job.done) return;
    const err = new AbortError(`${job.op === 'load' ? 'loading the model' : job.op} was aborted`, { cause: job.signal?.reason });
    if (this.#current === job) this.#kill(this.#conn, err); // the running request: stop the worker
    this.#settle(job, err);
  }

  async #pump() {
    if (this.#current || this.#disposed) return;
    const job = this.#queue.shift();
    if (!job) return;
    this.#current = job;
    try {
      const conn = await this.#connect();
      if (job.done) return;
      let value = this.#info;
      if (job.op !== 'load') {
        const progress = job.onProgress
          ? (phase, fraction) => {
              if (job.progressError) return;
              try {
                job.onProgress(phase, fraction);
              } catch (e) {
                job.progressError = { e };
              }
            }
          : undefined;
        value = await conn.request(job.op, job.payload, job.transfer, progress);
        if (job.progressError) throw job.progressError.e;
      }
      this.#settle(job, null, value);
    } catch (e) {
      this.#settle(job, e);
    } finally {
      this.#current = null;
      this.#pump();
    }
  }

  // ---------------------------------------------------------------- the Model API

  #loaded() {
    if (this.#disposed) throw disposedError();
    return this.#info;
  }

  /** The wasm build the worker runs: {build, version}. */
  get build() {
    return { ...this.#info.build };
  }

  get disposed() {
    return this.#disposed;
  }

  /** The summary, read when the model was loaded (no round trip). */
  summary() {
    return clone(this.#loaded().summary);
  }

  inputInfo() {
    return clone(this.#loaded().inputInfo);
  }

  /** @returns {Promise<Uint8Array>} */
  toBytes() {
    return this.#call('toBytes', {});
  }

  /**
   * Apply a recipe in the worker. Resolves to {bytes, report}; onProgress is called
   * from the worker's progress messages; aborting terminates the worker.
   */
  async optimize(recipe = {}, options = {}) {
    const { calibration, onProgress, signal } = options ?? {};
    if (onProgress != null && typeof onProgress !== 'function') {
      throw new ModelpressError(ErrorCode.INVALID_ARGUMENT, 'onProgress must be a function (phase, fraction) => void');
    }
    const r = validateRecipe(recipe);
    const samples = normalizeCalibration(calibration, calibration == null ? [] : this.#loaded().inputInfo);
    return this.#call('optimize', { recipe: r, calibration: samples }, { signal, onProgress: onProgress ?? undefined });
  }

  /** The integer requantization mode of runs without their own: 'exact' (default) or 'fast'. */
  get requantization() {
    return this.#requant;
  }

  /**
   * Integer arithmetic of later runs ('exact' or 'fast', see Model#setRequantization).
   * Resolves to the number of nodes the mode applies to (0 before the first run).
   */
  async setRequantization(mode) {
    checkRequantization(mode);
    const n = await this.#call('setRequantization', { mode });
    this.#requant = mode;
    return n;
  }

  /** Run the model in the worker; options.requantization: this run's integer arithmetic. */
  run(inputs, options = {}) {
    const requantization = options?.requantization ?? undefined;
    try {
      if (requantization !== undefined) checkRequantization(requantization);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('run', { inputs, options: { requantization } }, { signal: options?.signal });
  }

  /** benchmark() in the worker (times measured there, around each run). */
  benchmark(options = {}) {
    const { signal, ...rest } = options ?? {};
    return this.#call('benchmark', { options: rest }, { signal });
  }

  /** profile() in the worker: per-node mean ms over `runs` runs. */
  profile(inputs = undefined, runs = 10, options = {}) {
    const { signal, ...rest } = options ?? {};
    return this.#call('profile', { inputs, runs, options: rest }, { signal });
  }

  /** memoryInfo() of the model in the worker ({constants, prepared, peakActivations} bytes, or null before the first run). */
  memoryInfo() {
    return this.#call('memoryInfo', {});
  }

  /** Terminate the worker (releasing all its memory); pending calls reject with DISPOSED. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    const err = disposedError();
    this.#kill(this.#conn, err);
    for (const job of [...this.#queue]) this.#settle(job, err);
    if (this.#current) this.#settle(this.#current, err);
  }
}

if (typeof Symbol.dispose === 'symbol') {
  WorkerModel.prototype[Symbol.dispose] = WorkerModel.prototype.dispose;
}

/**
 * Shared by the entries: read the bytes (own copy), start the worker, load the model.
 * @param {() => WorkerPort} spawn
 */
export async function createWorkerModelWith(spawn, input, options = {}) {
  const { build, threads, signal } = options ?? {};
  const view = await readModelBytes(input);
  // Our own copy (new Uint8Array(view) copies; Buffer#slice would not): the caller may reuse
  // theirs, and loads into a new worker after an abort need it.
  const bytes = new Uint8Array(view);
  const m = new WorkerModel(spawn, bytes, build, threads);
  try {
    return await m._start(signal);
  } catch (e) {
    m.dispose();
    throw e;
  }
}
