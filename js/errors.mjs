// Errors of the modelpress package: `ModelpressError` with a stable `code`,
// and a few subclasses for the cases callers branch on.
//
// Codes coming from the Rust core (crate/src/error.rs, `Error::code`):
//   INVALID_MODEL       the bytes are not a model we can read (corrupt, truncated, wrong file)
//   UNSUPPORTED_FORMAT  a recognized format we do not read (ONNX, PNG, zip, ...)
//   UNSUPPORTED_OPS     the engine cannot run some ops of the model
//   BAD_INPUT           run() inputs (or calibration samples) do not fit the model
//   EXEC_ERROR          a node failed while running
//   UNSUPPORTED         a model feature or option that is not supported
//   INVALID_ARGUMENT    a bad request (e.g. an option the model cannot take)
// Codes added by the JS layer:
//   INVALID_RECIPE      a recipe with a bad field (RecipeError: .field, .allowed)
//   ABORTED             cancelled through an AbortSignal (AbortError, name 'AbortError')
//   UNSUPPORTED_RUNTIME this JS engine cannot run any of the package's wasm builds
//   WORKER_ERROR        the Web Worker (or worker thread) failed or could not start (WorkerError)
//   NOT_READY           a synchronous call before initModelpress() finished (browser)
//   BAD_NPY             a .npy file we cannot read or write
//   NOT_BUILT           the wasm build (pkg/) is missing
//   DISPOSED            a Model used after dispose()
//   INTERNAL            a bug: a panic in the wasm core or an unexpected exception

export const ErrorCode = Object.freeze({
  INVALID_MODEL: 'INVALID_MODEL',
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  UNSUPPORTED_OPS: 'UNSUPPORTED_OPS',
  BAD_INPUT: 'BAD_INPUT',
  EXEC_ERROR: 'EXEC_ERROR',
  UNSUPPORTED: 'UNSUPPORTED',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_RECIPE: 'INVALID_RECIPE',
  ABORTED: 'ABORTED',
  UNSUPPORTED_RUNTIME: 'UNSUPPORTED_RUNTIME',
  WORKER_ERROR: 'WORKER_ERROR',
  NOT_READY: 'NOT_READY',
  BAD_NPY: 'BAD_NPY',
  NOT_BUILT: 'NOT_BUILT',
  DISPOSED: 'DISPOSED',
  INTERNAL: 'INTERNAL',
});

const KNOWN = new Set(Object.values(ErrorCode));

export class ModelpressError extends Error {
  /**
   * @param {string} code one of ErrorCode
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ModelpressError';
    this.code = code;
  }

  /** A plain object that survives postMessage / JSON. */
  toJSON() {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** A recipe field with a wrong type or value. `field` is a dotted path ('quantize.mode'). */
export class RecipeError extends ModelpressError {
  /**
   * @param {string} message
   * @param {{field?: string, allowed?: readonly unknown[], cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(ErrorCode.INVALID_RECIPE, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecipeError';
    this.field = options.field ?? '';
    this.allowed = options.allowed ? [...options.allowed] : undefined;
  }

  toJSON() {
    return { ...super.toJSON(), field: this.field, allowed: this.allowed };
  }
}

/** A call cancelled through its AbortSignal (name 'AbortError', as fetch's). */
export class AbortError extends ModelpressError {
  constructor(message = 'the operation was aborted', options) {
    super(ErrorCode.ABORTED, message, options);
    this.name = 'AbortError';
  }
}

/** The JS engine lacks what every available wasm build needs (e.g. SIMD). */
export class UnsupportedRuntimeError extends ModelpressError {
  /** @param {string} message @param {{missing?: string[], cause?: unknown}} [options] */
  constructor(message, options = {}) {
    super(ErrorCode.UNSUPPORTED_RUNTIME, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UnsupportedRuntimeError';
    this.missing = options.missing ?? [];
  }

  toJSON() {
    return { ...super.toJSON(), missing: this.missing };
  }
}

/** The worker of a WorkerModel crashed or could not be started. */
export class WorkerError extends ModelpressError {
  constructor(message, options) {
    super(ErrorCode.WORKER_ERROR, message, options);
    this.name = 'WorkerError';
  }
}

let panicSource = null;

/** Register the core's `lastPanicMessage` so trapped panics carry their text. */
export function setPanicSource(fn) {
  panicSource = typeof fn === 'function' ? fn : null;
}

/** True when `e` came out of the wasm core as a trapped panic (the instance may be unusable). */
export function isWasmTrap(e) {
  return typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
}

/**
 * Turn anything thrown by the wasm bindings into a ModelpressError.
 * Core errors are JS `Error`s with a `code` property; a Rust panic surfaces as
 * a `WebAssembly.RuntimeError` ("unreachable").
 */
export function fromWasmError(e) {
  if (e instanceof ModelpressError) return e;
  if (isWasmTrap(e)) {
    let detail = e.message;
    try {
      const p = panicSource?.();
      if (p) detail = p;
    } catch {
      // the instance may be unusable; keep the trap's own message
    }
    return new ModelpressError(ErrorCode.INTERNAL, `internal error in the wasm core (${detail}); please report it with the model file`, { cause: e });
  }
  if (e && typeof e === 'object' && typeof e.code === 'string' && KNOWN.has(e.code)) {
    return new ModelpressError(e.code, String(e.message), { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ModelpressError(ErrorCode.INTERNAL, `internal error: ${msg}`, { cause: e });
}

/** Rebuild an error from its toJSON() form (e.g. after postMessage), with its subclass. */
export function reviveError(obj) {
  if (obj instanceof Error) return obj;
  const code = obj?.code ?? ErrorCode.INTERNAL;
  const message = obj?.message ?? 'unknown error';
  switch (code) {
    case ErrorCode.INVALID_RECIPE:
      return new RecipeError(message, { field: obj.field, allowed: obj.allowed });
    case ErrorCode.ABORTED:
      return new AbortError(message);
    case ErrorCode.UNSUPPORTED_RUNTIME:
      return new UnsupportedRuntimeError(message, { missing: obj.missing });
    case ErrorCode.WORKER_ERROR:
      return new WorkerError(message);
    default:
      return new ModelpressError(KNOWN.has(code) ? code : ErrorCode.INTERNAL, message);
  }
}

/** Throw an AbortError if `signal` is aborted. */
export function throwIfAborted(signal, what = 'the operation') {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`, { cause: signal.reason });
}
