// The page's worker: owns the wasm engine and the models, so parsing,
// optimizing, evaluating and timing never block the page. The page cancels
// work by terminating this worker and starting a fresh one.
//
// Protocol (postMessage):
//   worker -> page  {type: 'ready', build: {build, version}} | {type: 'fatal', error}
//                   {type: 'progress', id, phase, fraction}      (during a request)
//   page -> worker  {id, op, ...args}  ->  {id, ok: true, result} | {id, ok: false, error: {code, message}}
//
// Requests (models live in named slots: 'original', 'optimized'):
//   load      {slot, bytes: ArrayBuffer}           -> {summary, inputInfo}
//   drop      {slot}                               -> null
//   toBytes   {slot}                               -> Uint8Array (the model written back)
//   optimize  {recipe, calibration}                -> {bytes, report, summary, inputInfo}  (fills slot 'optimized')
//   evaluate  {slots, samples}                     -> {[slot]: {predictions: Int32Array} | {error}}
//   bench     {slot, warmup, warmupMs, runs, maxMs, requantization?: 'exact'|'fast'}
//             -> {times: Float64Array, warmup, requantization, int8Nodes} | {unsupported: string}
//             (int8Nodes: the int8 conv / depthwise / fully connected / add nodes the mode applies to;
//             0: the mode makes no difference for this model; null: this engine has no modes)

import { initModelpress, loadModel, buildInfo } from '../js/browser.mjs';

/** @type {Map<string, {model: any, summary: any, inputInfo: any[]}>} */
const slots = new Map();

function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

function errorJson(e) {
  let message = e?.message ?? String(e);
  let code = e?.code ?? 'INTERNAL';
  if (e instanceof RangeError || /out of memory|allocation failed|memory access out of bounds|Cannot allocate/i.test(message)) {
    code = 'OUT_OF_MEMORY';
  }
  return { code, message };
}

// The package's Model API (js/) is evolving: use what this version offers.
// optimizeWithReport(recipe, calibration, onProgress) (first API) or
// optimizeSync / optimize(recipe, {calibration, onProgress}) (later API);
// runSync(inputs) or a synchronous run(inputs).
async function optimizeWith(model, recipe, calibration, onProgress) {
  if (typeof model.optimizeWithReport === 'function') return model.optimizeWithReport(recipe, calibration, onProgress);
  if (typeof model.optimizeSync === 'function') return model.optimizeSync(recipe, { calibration, onProgress });
  const out = await model.optimize(recipe, { calibration, onProgress });
  if (out instanceof Uint8Array) throw fail('UNSUPPORTED', 'this version of the package returns no optimization report');
  return out;
}

// `options` ({requantization}) is this run's own; older versions ignore it.
function runner(model, options = undefined) {
  if (typeof model.runSync === 'function') return (inputs) => model.runSync(inputs, options);
  return (inputs) => {
    const out = model.run(inputs, options);
    if (out && typeof out.then === 'function') throw fail('UNSUPPORTED', 'this version of the package has no synchronous run');
    return out;
  };
}

function slotOf(name) {
  const s = slots.get(name);
  if (!s) throw fail('INVALID_ARGUMENT', `no ${name} model is loaded`);
  return s;
}

async function open(bytes) {
  const model = await loadModel(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  try {
    return { model, summary: model.summary(), inputInfo: model.inputInfo() };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function put(name, entry) {
  slots.get(name)?.model.dispose();
  slots.set(name, entry);
}

/** Progress reporter for request `id`: at most one message per phase every 40 ms. */
function progressFor(id) {
  let lastPhase = '';
  let lastT = 0;
  return (phase, fraction) => {
    const now = performance.now();
    if (phase === lastPhase && fraction > 0 && fraction < 1 && now - lastT < 40) return;
    lastPhase = phase;
    lastT = now;
    self.postMessage({ type: 'progress', id, phase, fraction });
  };
}

/** Deterministic inputs of the right dtype and shape for timing (-1 dims become 1). */
function syntheticInputs(infos) {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return (seed / 0x100000000) * 2 - 1;
  };
  return infos.map((info) => {
    const shape = info.shape.map((d) => (d < 0 ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    switch (info.dtype) {
      case 'float32': {
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = rand();
        return { data, shape };
      }
      case 'int8':
        return { data: Int8Array.from({ length: n }, () => Math.round(rand() * 100)), shape };
      case 'uint8':
        return { data: Uint8Array.from({ length: n }, () => Math.round((rand() + 1) * 100)), shape };
      case 'int16':
        return { data: new Int16Array(n), shape };
      case 'int32':
        return { data: new Int32Array(n), shape };
      case 'int64':
        return { data: new BigInt64Array(n), shape };
      case 'bool':
        return { data: new Uint8Array(n), shape, dtype: 'bool' };
      default:
        throw fail('UNSUPPORTED', `input '${info.name}' has dtype ${info.dtype}, which the page cannot make test inputs for`);
    }
  });
}

/** Convert a float sample to what a quantized input expects (int8/uint8/int16 with scale and zero point). */
function adaptInputs(entry, sample) {
  return sample.map((item, i) => {
    const info = entry.inputInfo[i];
    const q = entry.summary.inputs[i]?.quantization;
    const isFloat = item.data instanceof Float32Array || item.data instanceof Float64Array;
    if (!info || !isFloat || info.dtype === 'float32' || !q?.scale?.length) return item;
    const Ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array }[info.dtype];
    if (!Ctor) return item;
    const [lo, hi] = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767] }[info.dtype];
    const scale = q.scale[0];
    const zp = q.zero_point?.[0] ?? 0;
    const out = new Ctor(item.data.length);
    for (let k = 0; k < out.length; k++) out[k] = Math.min(hi, Math.max(lo, Math.round(item.data[k] / scale) + zp));
    return { data: out, shape: item.shape };
  });
}

function argmax(data) {
  let best = 0;
  let v = data[0];
  for (let k = 1; k < data.length; k++) {
    if (data[k] > v) {
      v = data[k];
      best = k;
    }
  }
  return best;
}

function outputs0Classes(summary) {
  return summary.outputs[0]?.shape?.at(-1) ?? null;
}

/**
 * How many nodes the fast requantization applies to (int8 conv / depthwise / fully connected / add
 * with per-channel float scales, float to int8 quantize), once the model has run; null if this version has no modes.
 * Leaves the model-level mode 'exact' (runs pass their own mode).
 */
function int8Nodes(model) {
  if (typeof model.setRequantization !== 'function') return null;
  const n = model.setRequantization('fast');
  model.setRequantization('exact');
  return n;
}

function cannotRun(summary) {
  if (summary.runnable) return null;
  const list = summary.unsupported ?? [];
  return list.length ? list.slice(0, 3).join('; ') + (list.length > 3 ? ` (+${list.length - 3} more)` : '') : 'the engine cannot run this model';
}

const ops = {
  async load({ slot = 'original', bytes }) {
    // Parse first, then replace: a bad file keeps nothing half-loaded.
    const entry = await open(bytes);
    put(slot, entry);
    return { result: { summary: entry.summary, inputInfo: entry.inputInfo } };
  },

  async drop({ slot }) {
    slots.get(slot)?.model.dispose();
    slots.delete(slot);
    return { result: null };
  },

  async toBytes({ slot = 'original' }) {
    const out = slotOf(slot).model.toBytes();
    return { result: out, transfer: [out.buffer] };
  },

  async optimize({ id, recipe, calibration = [] }) {
    const src = slotOf('original');
    const progress = progressFor(id);
    const { bytes, report } = await optimizeWith(src.model, recipe, calibration, progress);
    progress('load', 0);
    // Load what was written: the optimized model is measured from these exact bytes.
    const entry = await open(bytes);
    put('optimized', entry);
    progress('load', 1);
    return { result: { bytes, report, summary: entry.summary, inputInfo: entry.inputInfo }, transfer: [bytes.buffer] };
  },

  async evaluate({ id, slots: names = ['original', 'optimized'], samples }) {
    const progress = progressFor(id);
    const out = {};
    const total = names.length * samples.length || 1;
    for (const [n, name] of names.entries()) {
      const base = n * samples.length;
      const entry = slots.get(name);
      if (!entry) {
        out[name] = { error: `no ${name} model is loaded` };
        continue;
      }
      const why = cannotRun(entry.summary);
      if (why) {
        out[name] = { error: `cannot run here yet: ${why}` };
        continue;
      }
      const predictions = new Int32Array(samples.length);
      const run = runner(entry.model);
      try {
        for (let k = 0; k < samples.length; k++) {
          const outputs = run(adaptInputs(entry, samples[k]));
          predictions[k] = argmax(outputs[0].data);
          progress('accuracy', (base + k + 1) / total);
        }
        out[name] = { predictions, classes: outputs0Classes(entry.summary) };
      } catch (e) {
        out[name] = { error: e.message };
      }
    }
    return { result: out };
  },

  async bench({ id, slot = 'original', warmup = 3, warmupMs = 0, runs = 30, minRuns = 5, maxMs = 3000, requantization = 'exact' }) {
    const entry = slotOf(slot);
    const why = cannotRun(entry.summary);
    if (why) return { result: { unsupported: why } };
    if (requantization !== 'exact' && typeof entry.model.setRequantization !== 'function') {
      throw fail('UNSUPPORTED', 'this version of the package has no fast requantization');
    }
    const progress = progressFor(id);
    const phase = `latency: ${slot}`;
    const inputs = syntheticInputs(entry.inputInfo);
    const run = runner(entry.model, { requantization });
    progress(phase, 0);
    // Warm-up: at least `warmup` runs and `warmupMs` (the wasm compiler tiers up
    // hot code in the background), at most a third of the time budget.
    const t0 = performance.now();
    let warm = 0;
    while (warm < warmup || performance.now() - t0 < warmupMs) {
      run(inputs);
      warm++;
      if (performance.now() - t0 > maxMs / 3) break;
    }
    const times = [];
    const start = performance.now();
    while (times.length < runs) {
      const a = performance.now();
      run(inputs);
      times.push(performance.now() - a);
      const elapsed = performance.now() - start;
      progress(phase, Math.min(1, Math.max(times.length / runs, elapsed / maxMs)));
      if (elapsed > maxMs && times.length >= minRuns) break;
    }
    progress(phase, 1);
    const arr = Float64Array.from(times);
    return { result: { times: arr, warmup: warm, requantization, int8Nodes: int8Nodes(entry.model) }, transfer: [arr.buffer] };
  },
};

self.onmessage = async ({ data }) => {
  const { id, op } = data ?? {};
  const fn = Object.hasOwn(ops, op) ? ops[op] : null;
  if (!fn) {
    self.postMessage({ id, ok: false, error: { code: 'INVALID_ARGUMENT', message: `unknown request '${op}'` } });
    return;
  }
  try {
    const { result, transfer = [] } = await fn(data);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: errorJson(e) });
  }
};

// Threads: the device's cores (up to 4) where the page is cross-origin
// isolated (scripts/serve.mjs sends COOP/COEP), one thread elsewhere.
initModelpress({ threads: 'auto' })
  .then(() => buildInfo())
  .then((build) => self.postMessage({ type: 'ready', build }))
  .catch((e) => self.postMessage({ type: 'fatal', error: errorJson(e) }));
