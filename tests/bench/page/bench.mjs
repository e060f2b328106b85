// The in-page half of the benchmark (tests/bench/run.mjs drives it through
// Playwright). One page runs one runtime: window.benchInit(runtime) once,
// then per model window.benchLoad(job) (load, first run, warm-up),
// window.benchTime(n) one or more times (the driver interleaves the runtimes'
// rounds), window.benchUnload(); and window.benchGemm(...) for
// modelpress builds that export a GEMM micro-benchmark.
//
// Timing: performance.now() (5 us resolution in a cross-origin-isolated
// page) around one inference = copy the input in, run, read the first
// output back into a JS typed array (and free the runtime's tensors).
// Every runtime is timed the same way.

const PEERS = '/peers';
const log = (msg) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
};

function errText(e) {
  if (e === undefined || e === null) return String(e);
  if (typeof e === 'number') return `wasm abort/exception pointer ${e}`;
  const code = e.code ? ` [${e.code}]` : '';
  const msg = String(e.message ?? e).split('\n    at ')[0];
  return `${msg}${code}`.replace(/\s+/g, ' ').trim().slice(0, 400);
}

// ---- inputs ----------------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic input: floats in [lo, hi]; quantized with the tensor's params for integer inputs. */
export function makeInput({ shape, dtype, quant, range = [-1, 1], seed = 1 }) {
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const [lo, hi] = range;
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = lo + (hi - lo) * rnd();
  if (dtype === 'float32') return f;
  const { scale = 1 / 255, zeroPoint = 0 } = quant ?? {};
  const q = (x, min, max) => Math.min(max, Math.max(min, Math.round(x / scale) + zeroPoint));
  if (dtype === 'int8') return Int8Array.from(f, (x) => q(x, -128, 127));
  if (dtype === 'uint8') return Uint8Array.from(f, (x) => q(x, 0, 255));
  if (dtype === 'int32') return Int32Array.from(f, (x) => Math.round(x));
  throw new Error(`no input generator for dtype ${dtype}`);
}

function outputSample(arr) {
  const view = arr.length > 4096 ? arr.subarray(0, 4096) : arr;
  return { dtype: arr.constructor.name, length: arr.length, values: Array.from(view, Number) };
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

// ---- runtimes ----------------------------------------------------------------
// Each adapter: init() -> info; load(bytes, job) -> handle; run(handle, input)
// -> first output as a typed array (may return a promise); dispose(handle).
// Optional: configure(handle) right after the timed load (modelpress: the
// requantization mode of the -fast variants); memory(handle) after the
// warm-up runs (modelpress: WasmModel.memoryInfo()).

/**
 * Import and instantiate the modelpress build in pkg/`dir`; with `threads` > 1
 * (the threaded build) this thread plus `threads - 1` workers (js/threads.mjs).
 * Also used by the development tools (tests/bench/lib/devpage.mjs).
 */
async function loadModelpress(dir, threads = 1) {
  const glue = await import(`/pkg/${dir}/modelpress.js`);
  const wasm = `/pkg/${dir}/modelpress_bg.wasm`;
  if (threads > 1) {
    const { startThreads } = await import('/js/threads.mjs');
    await startThreads(glue, wasm, threads - 1);
  } else {
    await glue.default({ module_or_path: wasm });
  }
  return glue;
}
window.loadModelpress = loadModelpress;

const adapters = {
  modelpress: (rt) => {
    let glue;
    return {
      async init() {
        glue = await loadModelpress(rt.pkgDir, rt.threads);
        const info = glue.buildInfo();
        const exportsList = Object.keys(glue);
        return { ...info, exports: exportsList };
      },
      glue: () => glue,
      load(bytes) {
        return new glue.WasmModel(bytes);
      },
      configure(m) {
        if (!rt.requant) return;
        if (typeof m.setRequantization !== 'function') throw new Error(`this build has no setRequantization: cannot run with ${rt.requant} requantization (rebuild pkg/)`);
        m.setRequantization(rt.requant);
      },
      memory(m) {
        return typeof m.memoryInfo === 'function' ? m.memoryInfo() ?? null : null;
      },
      run(m, input) {
        const outs = m.run([{ data: input.data, shape: input.shape }]);
        return outs[0].data;
      },
      dispose(m) {
        m.free();
      },
      panic() {
        try {
          return glue?.lastPanicMessage?.() || '';
        } catch {
          return '';
        }
      },
    };
  },

  litert: (rt) => {
    let lr;
    return {
      async init() {
        lr = await import(`${PEERS}/@litertjs/core/dist/index.js`);
        const dir = `${PEERS}/@litertjs/core/wasm/`;
        const relaxed = await lr.supportsFeature('relaxedSimd');
        let path = dir;
        let file;
        if (rt.variant === 'compat') {
          path = `${dir}litert_wasm_compat_internal.js`;
          file = 'litert_wasm_compat_internal';
        } else if (rt.threads > 1) {
          file = 'litert_wasm_threaded_internal';
        } else {
          file = relaxed ? 'litert_wasm_internal' : 'litert_wasm_compat_internal';
        }
        await lr.loadLiteRt(path, rt.threads > 1 && rt.variant !== 'compat' ? { threads: true } : {});
        return { build: file, relaxedSimdSupported: relaxed };
      },
      async load(bytes) {
        const opts = { accelerator: 'wasm' };
        if (rt.threads > 1) opts.cpuOptions = { numThreads: rt.threads };
        return lr.loadAndCompile(bytes, opts);
      },
      async run(m, input) {
        const t = new lr.Tensor(input.data, input.shape);
        let outs;
        try {
          outs = await m.run([t]);
        } finally {
          t.delete();
        }
        const data = outs[0].toTypedArray().slice();
        for (const o of outs) o.delete();
        return data;
      },
      dispose(m) {
        m.delete();
      },
    };
  },

  tfjs: (rt) => {
    return {
      async init() {
        await loadScript(`${PEERS}/@tensorflow/tfjs-core/dist/tf-core.min.js`);
        await loadScript(`${PEERS}/@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js`);
        await loadScript(`${PEERS}/@tensorflow/tfjs-tflite/dist/tf-tflite.min.js`);
        window.tflite.setWasmPath(`${PEERS}/@tensorflow/tfjs-tflite/wasm/`);
        await window.tf.setBackend('cpu');
        // The TFLite wasm itself loads with the first model: load a tiny one
        // here so that init holds the wasm start-up and load() the model only.
        let warmError;
        if (rt.warmModel) {
          try {
            const m = await window.tflite.loadTFLiteModel((await fetchBytes(rt.warmModel)).buffer, { numThreads: rt.threads });
            m.modelRunner?.cleanUp?.();
          } catch (e) {
            warmError = errText(e); // then the first model's load holds the wasm start-up
          }
        }
        return { tfjsCore: window.tf.version_core, warmError };
      },
      async load(bytes) {
        return window.tflite.loadTFLiteModel(bytes.slice().buffer, { numThreads: rt.threads });
      },
      run(m, input) {
        const tf = window.tf;
        const dtype = input.dtype === 'float32' ? 'float32' : 'int32';
        const x = tf.tensor(dtype === 'float32' ? input.data : Int32Array.from(input.data), input.shape, dtype);
        let out;
        try {
          out = m.predict(x);
        } finally {
          x.dispose();
        }
        const first = out instanceof tf.Tensor ? out : Array.isArray(out) ? out[0] : Object.values(out)[0];
        const data = first.dataSync();
        if (out instanceof tf.Tensor) out.dispose();
        else tf.dispose(Array.isArray(out) ? out : Object.values(out));
        return data;
      },
      dispose(m) {
        m.modelRunner?.cleanUp?.();
      },
    };
  },

  ort: (rt) => {
    let ort;
    return {
      async init() {
        ort = await import(`${PEERS}/onnxruntime-web/dist/ort.wasm.min.mjs`);
        ort.env.wasm.wasmPaths = `${PEERS}/onnxruntime-web/dist/`;
        ort.env.wasm.numThreads = rt.threads;
        ort.env.wasm.proxy = false;
        ort.env.logLevel = 'error';
        // The wasm starts with the first session: start it on a tiny model here.
        let warmError;
        if (rt.warmModel) {
          try {
            const s = await ort.InferenceSession.create(await fetchBytes(rt.warmModel), { executionProviders: ['wasm'] });
            await s.release();
          } catch (e) {
            warmError = errText(e);
          }
        }
        return { build: 'ort-wasm-simd-threaded', version: ort.env.versions?.web ?? ort.env.versions?.common, warmError };
      },
      async load(bytes) {
        const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
        return s;
      },
      inputSpec(s, fallback) {
        const meta = s.inputMetadata?.[0];
        const name = s.inputNames[0];
        if (!meta?.shape) return { ...fallback, name };
        const shape = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
        const dtype = meta.type === 'uint8' ? 'uint8' : meta.type === 'int8' ? 'int8' : 'float32';
        return { ...fallback, name, shape, dtype };
      },
      async run(s, input) {
        const t = new ort.Tensor(input.dtype, input.data, input.shape);
        const res = await s.run({ [input.name]: t });
        const first = res[s.outputNames[0]];
        const data = first.data.slice();
        for (const v of Object.values(res)) v.dispose?.();
        return data;
      },
      async dispose(s) {
        await s.release();
      },
    };
  },
};

let current = null; // {rt, adapter}

window.benchInit = async (rt) => {
  const adapter = adapters[rt.kind](rt);
  const t0 = performance.now();
  const info = await adapter.init();
  const initMs = performance.now() - t0;
  current = { rt, adapter };
  log(`init ${rt.id}: ${initMs.toFixed(1)} ms`);
  return {
    initMs,
    info,
    env: {
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    },
  };
};

const isThenable = (x) => x !== null && typeof x === 'object' && typeof x.then === 'function';

let loaded = null; // {handle, call} of the model benchLoad prepared

/**
 * Load a model, run it once (first run) and job.warmup times; keep it for benchTime.
 * job: {url, fixedUrl?, input: {shape, dtype, quant, range}, warmup, seed}
 * -> {loadMs, firstMs, output, notes, ...} or {unsupported, stage, notes}
 */
window.benchLoad = async (job) => {
  const { adapter } = current;
  if (loaded) await window.benchUnload();
  const notes = [];
  // Load, then one inference (some runtimes only check shapes/types there).
  const attempt = async (url) => {
    const bytes = await fetchBytes(url);
    let handle;
    let loadMs;
    try {
      const t0 = performance.now();
      handle = await adapter.load(bytes, job);
      loadMs = performance.now() - t0;
    } catch (e) {
      return { error: errText(e), stage: 'load' };
    }
    try {
      adapter.configure?.(handle);
    } catch (e) {
      try {
        await adapter.dispose(handle);
      } catch {}
      return { error: errText(e), stage: 'load', loadMs };
    }
    const input = adapter.inputSpec ? adapter.inputSpec(handle, job.input) : job.input;
    const inp = { ...input, data: makeInput({ ...input, seed: job.seed }) };
    const call = () => adapter.run(handle, inp);
    try {
      const t0 = performance.now();
      let out = call();
      if (isThenable(out)) out = await out;
      const firstMs = performance.now() - t0;
      return { handle, loadMs, firstMs, out, call, input };
    } catch (e) {
      const panic = adapter.panic?.();
      try {
        await adapter.dispose(handle);
      } catch {}
      return { error: errText(e) + (panic ? ` (panic: ${panic.slice(0, 200)})` : ''), stage: 'run', loadMs };
    }
  };
  let a = await attempt(job.url);
  if (a.error && job.fixedUrl) {
    // LiteRT.js refuses a -1 batch in shape_signature: retry on the same
    // file with the batch fixed to 1.
    const first = a;
    a = await attempt(job.fixedUrl);
    if (a.error) {
      const same = a.error === first.error && a.stage === first.stage;
      return { unsupported: a.error, stage: a.stage, loadMs: a.loadMs, notes: same ? ['same error with the batch fixed to 1'] : [`as shipped (${first.stage}): ${first.error}`], fatal: true };
    }
    notes.push(`refuses the -1 batch (at ${first.stage}): ran the file with its shape_signature batch set to 1`);
    a.asShippedError = first.error;
  }
  if (a.error) return { unsupported: a.error, stage: a.stage, loadMs: a.loadMs, notes, fatal: true };
  const { handle, loadMs, firstMs, out, call, input, asShippedError } = a;
  if (current.rt.kind === 'tfjs' && input.dtype !== 'float32') {
    notes.push(`tfjs has no ${input.dtype} tensors: the input goes in as int32 and tfjs-tflite converts it (with a console warning) on every run`);
  }
  const output = outputSample(out);
  try {
    for (let i = 0; i < job.warmup; i++) {
      const r = call();
      if (isThenable(r)) await r;
    }
  } catch (e) {
    try {
      await adapter.dispose(handle);
    } catch {}
    return { unsupported: `failed during warm-up: ${errText(e)}`, stage: 'run', loadMs, notes, fatal: true };
  }
  loaded = { handle, call };
  let memory = null;
  try {
    memory = adapter.memory?.(handle) ?? null;
  } catch (e) {
    notes.push(`memoryInfo failed: ${errText(e)}`);
  }
  return { loadMs, firstMs, output, inputShape: input.shape, inputDtype: input.dtype, notes, asShippedError, memory };
};

/** n timed runs of the loaded model -> ms per run (throws on failure). */
window.benchTime = async (n) => {
  const { call } = loaded;
  const times = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = call();
    if (isThenable(r)) await r;
    times[i] = performance.now() - t0;
  }
  return times;
};

window.benchUnload = async () => {
  if (!loaded) return;
  const { handle } = loaded;
  loaded = null;
  await current.adapter.dispose(handle);
};

/**
 * GEMM micro-benchmark of a modelpress build, if its wasm exports one.
 * Contract looked for (any export whose name contains "gemm", e.g.
 * benchGemmI8 / benchGemmF32): fn(m, k, n, iters) runs `iters` GEMMs of
 * [m x k] x [k x n] on buffers it owns (packing outside the timed loop) and
 * returns either a number (a checksum; JS times the call) or an object
 * {ms?, macs?, kernel?} (its own timing / description).
 */
window.benchGemm = async ({ shapes, minMs = 200 }) => {
  const glue = current.adapter.glue?.();
  if (!glue) return { available: false, reason: 'not a modelpress page' };
  const fns = Object.keys(glue).filter((k) => /gemm/i.test(k) && typeof glue[k] === 'function');
  if (!fns.length) return { available: false, reason: 'no export whose name contains "gemm"' };
  const results = [];
  for (const name of fns) {
    const fn = glue[name];
    const kind = /i8|int8|q8|s8/i.test(name) ? 'int8' : /f32|float/i.test(name) ? 'float32' : 'unknown';
    for (const s of shapes) {
      try {
        fn(s.m, s.k, s.n, 1); // warm-up (packing, first-touch)
        let iters = 1;
        let ms = 0;
        let ret;
        for (;;) {
          const t0 = performance.now();
          ret = fn(s.m, s.k, s.n, iters);
          ms = performance.now() - t0;
          if (ms >= minMs || iters >= 1 << 20) break;
          iters *= Math.max(2, Math.min(16, Math.ceil(minMs / Math.max(ms, 0.05))));
        }
        if (ret && typeof ret === 'object' && typeof ret.ms === 'number') ms = ret.ms;
        const macs = ret && typeof ret === 'object' && typeof ret.macs === 'number' ? ret.macs : s.m * s.k * s.n * iters;
        results.push({ fn: name, kind, ...s, iters, ms, gmacPerS: macs / ms / 1e6, kernel: ret?.kernel });
      } catch (e) {
        results.push({ fn: name, kind, ...s, error: errText(e) });
      }
    }
  }
  return { available: true, fns, results };
};

window.benchReady = true;
