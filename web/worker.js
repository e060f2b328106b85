// The page's worker: owns the wasm engine and the loaded model, so parsing
// and (later) optimizing never block the page.
//
// Protocol (postMessage):
//   worker -> page  {type: 'ready', build: {build, version}} | {type: 'fatal', error}
//   page -> worker  {id, op: 'load', name, bytes: ArrayBuffer}   -> {id, ok, result: summary}
//                   {id, op: 'toBytes'}                          -> {id, ok, result: Uint8Array}
//   failures        {id, ok: false, error: {code, message}}

import { initModelpress, loadModel, buildInfo } from '../js/browser.mjs';

let model = null;

function errorJson(e) {
  return { code: e?.code ?? 'INTERNAL', message: e?.message ?? String(e) };
}

const ops = {
  async load({ bytes }) {
    // Parse first, then replace: a bad file keeps nothing half-loaded.
    const next = await loadModel(new Uint8Array(bytes));
    let summary;
    try {
      summary = next.summary();
    } catch (e) {
      next.dispose();
      throw e;
    }
    model?.dispose();
    model = next;
    return { result: summary };
  },
  async unload() {
    model?.dispose();
    model = null;
    return { result: null };
  },
  async toBytes() {
    if (!model) throw Object.assign(new Error('no model is loaded'), { code: 'INVALID_ARGUMENT' });
    const out = model.toBytes();
    return { result: out, transfer: [out.buffer] };
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

initModelpress()
  .then(() => buildInfo())
  .then((build) => self.postMessage({ type: 'ready', build }))
  .catch((e) => self.postMessage({ type: 'fatal', error: errorJson(e) }));
