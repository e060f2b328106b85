// The worker side of WorkerModel (js/worker-client.mjs): owns one Model in a
// Web Worker (js/worker.mjs) or a Node worker thread (js/worker.node.mjs).
//
// Protocol (postMessage), one request at a time (the client queues):
//   -> {id, op: 'load', bytes, build?, threads?, requantization?} <- {id, ok, result: {summary, inputInfo, build}}
//   -> {id, op: 'optimize', recipe, calibration}     <- {id, type: 'progress', phase, fraction}* then {id, ok, result: {bytes, report}}
//   -> {id, op: 'run', inputs, options?}              <- {id, ok, result: outputs}
//   -> {id, op: 'benchmark', options}                 <- {id, ok, result: stats}
//   -> {id, op: 'setRequantization', mode}            <- {id, ok, result: nodes affected}
//   -> {id, op: 'profile', inputs?, runs, options}    <- {id, ok, result: [{node, op, output, shape, ms}]}
//   -> {id, op: 'memoryInfo'}                         <- {id, ok, result: {constants, prepared, peakActivations} | null}
//   -> {id, op: 'toBytes'}                            <- {id, ok, result: Uint8Array}
//   -> {id, op: 'dispose'}                            <- {id, ok, result: null}
//   failures: {id, ok: false, error: {name, code, message, ...}} (reviveError on the client)
// Results' buffers are transferred, not copied.

function errorJson(e) {
  if (e && typeof e.toJSON === 'function' && typeof e.code === 'string') return e.toJSON();
  return { name: 'ModelpressError', code: typeof e?.code === 'string' ? e.code : 'INTERNAL', message: e?.message ?? String(e) };
}

/**
 * @param {{post: (msg: object, transfer?: Transferable[]) => void, listen: (fn: (msg: object) => void) => void}} port
 * @param {{initModelpress: Function, loadModel: Function}} api  the runtime of this environment
 */
export function serveModel(port, api) {
  let model = null;

  const ops = {
    async load({ bytes, build, threads, requantization }) {
      await api.initModelpress(build === undefined && threads === undefined ? undefined : { build, threads });
      const next = await api.loadModel(bytes);
      if (requantization !== undefined && requantization !== 'exact') {
        try {
          next.setRequantization(requantization);
        } catch (e) {
          next.dispose();
          throw e;
        }
      }
      model?.dispose();
      model = next;
      return { result: { summary: model.summary(), inputInfo: model.inputInfo(), build: model.build } };
    },
    async optimize({ id, recipe, calibration, progress }) {
      // At most ~100 messages per phase: on a phase change, at the ends, and every 1%.
      let last = { phase: null, fraction: -1 };
      const onProgress = progress
        ? (phase, fraction) => {
            if (phase === last.phase && fraction < 1 && fraction > 0 && fraction - last.fraction < 0.01 && fraction >= last.fraction) return;
            last = { phase, fraction };
            port.post({ id, type: 'progress', phase, fraction });
          }
        : undefined;
      const result = await need().optimize(recipe, { calibration, onProgress });
      return { result, transfer: [result.bytes.buffer] };
    },
    async run({ inputs, options }) {
      const result = await need().run(inputs, { requantization: options?.requantization });
      return { result, transfer: result.map((o) => o.data.buffer) };
    },
    async benchmark({ options }) {
      return { result: await need().benchmark(options) };
    },
    async setRequantization({ mode }) {
      return { result: need().setRequantization(mode) };
    },
    async profile({ inputs, runs, options }) {
      return { result: await need().profile(inputs ?? undefined, runs, options) };
    },
    async memoryInfo() {
      return { result: need().memoryInfo() };
    },
    async toBytes() {
      const result = need().toBytes();
      return { result, transfer: [result.buffer] };
    },
    async dispose() {
      model?.dispose();
      model = null;
      return { result: null };
    },
  };

  function need() {
    if (!model) throw Object.assign(new Error('no model is loaded in this worker'), { code: 'INVALID_ARGUMENT' });
    return model;
  }

  port.listen(async (msg) => {
    const { id, op } = msg ?? {};
    const fn = Object.hasOwn(ops, op) ? ops[op] : null;
    if (!fn) {
      port.post({ id, ok: false, error: { name: 'ModelpressError', code: 'INVALID_ARGUMENT', message: `unknown worker request '${op}'` } });
      return;
    }
    try {
      const { result, transfer = [] } = await fn(msg);
      port.post({ id, ok: true, result }, transfer);
    } catch (e) {
      port.post({ id, ok: false, error: errorJson(e) });
    }
  });
}
