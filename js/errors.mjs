// Errors of the modelpress package: one class with a stable `code`.
//
// Codes coming from the Rust core (crate/src/error.rs, `Error::code`):
//   INVALID_MODEL       the bytes are not a model we can read (corrupt, truncated, wrong file)
//   UNSUPPORTED_FORMAT  a recognized format we do not read (ONNX, PNG, zip, ...)
//   UNSUPPORTED_OPS     the engine cannot run some ops of the model
//   BAD_INPUT           run() inputs do not fit the model
//   EXEC_ERROR          a node failed while running
//   UNSUPPORTED         a model feature or option that is not supported
//   INVALID_ARGUMENT    a bad request (e.g. an invalid recipe)
// Codes added by the JS layer:
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

/** Rebuild a ModelpressError from its toJSON() form (e.g. after postMessage). */
export function reviveError(obj) {
  if (obj instanceof Error) return obj;
  return new ModelpressError(obj?.code ?? ErrorCode.INTERNAL, obj?.message ?? 'unknown error');
}
