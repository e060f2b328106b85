// The modelpress page: open a .tflite, see it, pick a recipe, give data,
// optimize in a worker (cancellable), see what changed, measure it, download.
// All model work happens in worker.js; this module only does the UI.

import { EngineClient } from './client.js';
import { PRESETS, buildForm, checkRecipe, dataNeeds, presetOf } from './recipe.js';
import { DEFAULT_PREP, DataError, filesFromDrop, isArrayFile, isImageFile, prepare, randomSource, readLabels, readSource } from './data.js';
import { barChart, histogram } from './charts.js';
import { $, db, fmtFloat, h, kib, median, ms, num, pct, quantStr, quantile, saveBytes, shapeStr, slug, tr } from './format.js';

const els = {
  drop: $('drop-zone'),
  pick: $('pick-button'),
  input: $('file-input'),
  status: $('status'),
  error: $('error'),
  summary: $('summary'),
  name: $('model-name'),
  badge: $('runnable-badge'),
  facts: $('facts'),
  unsupported: $('unsupported'),
  unsupportedList: $('unsupported-list'),
  io: $('io-table').tBodies[0],
  ops: $('op-histogram').tBodies[0],
  layers: $('layers').tBodies[0],
  layersCount: $('layers-count'),
  build: $('build-info'),
  benchToggle: $('bench-toggle'),
  benchPanel: $('bench-panel'),
  benchRun: $('bench-run'),
  benchCancel: $('bench-cancel'),
  benchProgress: $('bench-progress'),
  benchTable: $('bench-table').tBodies[0],
  benchHist: $('bench-hist'),
  benchDevice: $('bench-device'),
  benchRequant: $('bench-requant'),
  recipePanel: $('recipe-panel'),
  presetList: $('preset-list'),
  advanced: $('advanced'),
  advancedForm: $('advanced-form'),
  recipeJson: $('recipe-json'),
  recipeExport: $('recipe-export'),
  recipeImport: $('recipe-import'),
  recipeFile: $('recipe-file'),
  dataPanel: $('data-panel'),
  dataWhy: $('data-why'),
  dataFile: $('data-file'),
  calibMax: $('calib-max'),
  prep: $('image-prep'),
  prepNote: $('prep-note'),
  runPanel: $('run-panel'),
  run: $('run-button'),
  cancel: $('cancel-button'),
  runNote: $('run-note'),
  phases: $('phases'),
  results: $('results'),
  resultFile: $('result-file'),
  downloadModel: $('download-model'),
  downloadReport: $('download-report'),
  sizeChart: $('size-chart'),
  sizeFacts: $('size-facts'),
  fidelity: $('fidelity'),
  fidelityNote: $('fidelity-note'),
  latencyTable: $('latency-table').tBodies[0],
  latencyHist: $('latency-hist'),
  latencyAgain: $('latency-again'),
  requant: $('requant'),
  device: $('device'),
  resultLayers: $('result-layers').tBodies[0],
  resultNotes: $('result-notes'),
};

const LATENCY = { warmup: 3, warmupMs: 150, runs: 50, minRuns: 5, maxMs: 3000 };
const BENCH = { warmup: 5, warmupMs: 500, runs: 50, minRuns: 5, maxMs: 5000 };
const MAX_EVAL = 1000;

const state = {
  model: null, // {name, stem, blob, summary, inputInfo}
  recipe: PRESETS.find((p) => p.id === 'safe').build(false),
  preset: 'safe',
  prep: { ...DEFAULT_PREP },
  data: {
    calib: { source: null, prepared: null, error: null, seq: 0 },
    eval: { source: null, prepared: null, error: null, labels: null, labelsName: null, seq: 0 },
  },
  result: null, // {recipe, fileName, bytes, report, summary, accuracy, latency}
  busy: null, // null | 'load' | 'run' | 'bench'
  benchMode: false,
  benchRows: [],
  /** Integer arithmetic of the latency measurements: 'exact' | 'fast'. */
  requant: 'exact',
  loadSeq: 0,
};

// ------------------------------------------------------------------ engine

const engine = new EngineClient({
  onReady: (b) => {
    els.build.textContent = `modelpress ${b.version} · ${b.build} wasm build${b.threads > 1 ? ` on ${b.threads} threads` : ''} · engine ready`;
    if (!state.model && !state.busy && !els.status.textContent) setStatus('Ready. Open a .tflite model.');
  },
  onFatal: (e) => {
    showError(`The engine could not start: ${e.message}`);
    els.build.textContent = 'The engine failed to load.';
  },
  onCrash: (msg) => {
    showError(`The engine stopped: ${friendly({ message: msg, code: /memory/i.test(msg) ? 'OUT_OF_MEMORY' : 'INTERNAL' })}. It was restarted.`);
    recoverEngine();
  },
});

// Requests wait for `gate`: after a restart, the model is loaded back first.
let gate = Promise.resolve();
function req(op, args, opts) {
  return gate.then(() => engine.request(op, args, opts));
}

/** Restart the worker and load the models back (after a cancel or a crash). */
function recoverEngine() {
  if (engine.started) engine.cancel('restart');
  engine.start();
  const m = state.model;
  const result = state.result;
  const seq = state.loadSeq;
  gate = (async () => {
    if (!m) return;
    try {
      const bytes = await m.blob.arrayBuffer();
      if (seq !== state.loadSeq) return;
      await engine.request('load', { slot: 'original', bytes }, { transfer: [bytes] });
      if (result?.bytes && state.result === result) {
        await engine.request('load', { slot: 'optimized', bytes: result.bytes.slice().buffer });
      }
    } catch (e) {
      if (e.code !== 'CANCELLED' && seq === state.loadSeq) showError(`Could not reload ${m.name} after the restart: ${friendly(e)}`);
    }
  })();
  return gate;
}

function friendly(e) {
  const msg = e?.message ?? String(e);
  if (e?.code === 'OUT_OF_MEMORY' || e instanceof RangeError || /out of memory|allocation failed|Array buffer allocation/i.test(msg)) {
    return `out of memory (${msg}). The model or the data is too large for this tab: wasm memory is at most 4 GiB, often less on phones. Try a smaller model or fewer samples`;
  }
  return msg;
}

const isFatal = (e) => e?.code === 'INTERNAL' || e?.code === 'OUT_OF_MEMORY';

// ------------------------------------------------------------------ status

function setStatus(text) {
  els.status.textContent = text;
}

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = false;
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
}

function deviceLine() {
  const b = engine.build;
  const threads = self.crossOriginIsolated && typeof SharedArrayBuffer === 'function';
  return [
    navigator.userAgent,
    `${navigator.hardwareConcurrency ?? '?'} logical cores`,
    `wasm build: ${b ? b.build : 'not loaded'}`,
    threads
      ? `threads: available (cross-origin isolated; ${b?.threads > 1 ? `int8 conv and depthwise layers run on ${b.threads} threads` : 'this build runs one thread'})`
      : 'threads: not available (the page is not cross-origin isolated; one thread)',
  ].join(' · ');
}

// ------------------------------------------------------------------ summary

function fact(dl, name, value, id) {
  dl.append(h('dt', { text: name }), h('dd', { text: value, id }));
}

function renderSummary(name, s) {
  els.name.textContent = name;
  els.badge.textContent = s.runnable ? 'runs in this browser' : 'cannot run here yet';
  els.badge.className = `badge ${s.runnable ? 'ok' : 'warn'}`;
  els.facts.replaceChildren();
  fact(els.facts, 'Format', `${s.format} (schema version ${s.schema_version})${s.description ? `, “${s.description}”` : ''}`);
  fact(els.facts, 'Size', `${num(s.bytes)} bytes (${kib(s.bytes)})`, 'fact-bytes');
  fact(els.facts, 'gzip -9', `${num(s.gzip_bytes)} bytes (${s.bytes ? ((100 * s.gzip_bytes) / s.bytes).toFixed(1) : 0}%)`, 'fact-gzip');
  fact(els.facts, 'Parameters', num(s.parameters), 'fact-parameters');
  const wd = Object.entries(s.weight_dtypes);
  fact(els.facts, 'Weights', wd.length ? wd.map(([d, n]) => `${d}: ${num(n)}`).join(', ') : 'none');
  fact(els.facts, 'Subgraphs', String(s.subgraphs.length));
  if (s.signatures.length) fact(els.facts, 'Signatures', s.signatures.map((g) => g.key).join(', '));
  if (s.metadata.length) fact(els.facts, 'Metadata', s.metadata.join(', '));
  fact(els.facts, 'Runs here', s.runnable ? 'yes' : `no: ${s.unsupported.length} unsupported`, 'fact-runnable');

  els.unsupportedList.replaceChildren(...s.unsupported.map((u) => h('li', { text: u })));
  els.unsupported.hidden = s.runnable;

  els.io.replaceChildren(
    ...s.inputs.map((t, i) => tr([`input ${i}`, t.name, shapeStr(t.shape_signature ?? t.shape), t.dtype, quantStr(t.quantization)], { header: true })),
    ...s.outputs.map((t, i) => tr([`output ${i}`, t.name, shapeStr(t.shape_signature ?? t.shape), t.dtype, quantStr(t.quantization)], { header: true })),
  );
  els.ops.replaceChildren(
    ...Object.entries(s.op_histogram)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([op, n]) => tr([op, num(n)], { numeric: [1] })),
  );
  const rows = s.layers.map((l) => {
    const w = l.weight;
    return tr(
      [l.index, l.op, w ? shapeStr(w.shape) : '–', w ? w.dtype + (w.per_channel ? ' per-channel' : '') + (w.sparse ? ' sparse' : '') : '–', num(l.params), w ? w.name : '–'],
      { numeric: [0, 4] },
    );
  });
  els.layers.replaceChildren(...rows);
  els.layersCount.textContent = `(${s.layers.length} ops, ${s.layers.filter((l) => l.weight).length} with weights)`;
}

// ------------------------------------------------------------------ opening models

function stemOf(fileName) {
  return fileName.replace(/\.tflite$/i, '') || 'model';
}

function resetModel() {
  state.model = null;
  state.result = null;
  for (const id of ['summary', 'recipePanel', 'dataPanel', 'runPanel', 'results']) els[id].hidden = true;
  els.phases.hidden = true;
}

/**
 * Open model bytes (a File, or a Blob from the examples).
 * @param {Blob} blob
 * @param {string} name
 */
async function openModel(blob, name) {
  const seq = ++state.loadSeq;
  if (state.busy === 'run' || state.busy === 'bench') {
    // Stop the work on the old model; the new one is loaded into a fresh worker.
    runSeq++;
    engine.cancel('superseded');
    engine.start();
    state.busy = null;
  }
  clearError();
  setStatus(`Reading ${name}…`);
  state.busy = 'load';
  try {
    if (blob.size === 0) throw Object.assign(new Error('the file is empty'), { code: 'INVALID_MODEL' });
    let bytes;
    try {
      bytes = await blob.arrayBuffer();
    } catch (e) {
      throw Object.assign(new Error(`the browser could not read it (${e.message})`), { code: e instanceof RangeError ? 'OUT_OF_MEMORY' : 'INVALID_MODEL' });
    }
    setStatus(`Parsing ${name} (${num(bytes.byteLength)} bytes)…`);
    const { summary, inputInfo } = await req('load', { slot: 'original', bytes }, { transfer: [bytes] });
    if (seq !== state.loadSeq) return;
    req('drop', { slot: 'optimized' }).catch(() => {});
    resetModel();
    state.model = { name, stem: stemOf(name), blob, summary, inputInfo };
    renderSummary(name, summary);
    els.summary.hidden = state.benchMode;
    setStatus(`Loaded ${name}.`);
    state.busy = null;
    await reprepareAll();
    if (seq !== state.loadSeq) return;
    showModelPanels();
    if (state.benchMode) runBench();
  } catch (e) {
    if (seq !== state.loadSeq || e.code === 'CANCELLED') return;
    resetModel();
    setStatus('');
    showError(`Could not open ${name}: ${friendly(e)}`);
    if (isFatal(e)) recoverEngine();
  } finally {
    if (seq === state.loadSeq && state.busy === 'load') state.busy = null;
    updateRunState();
  }
}

function showModelPanels() {
  const bench = state.benchMode;
  els.summary.hidden = bench || !state.model;
  els.benchPanel.hidden = !bench;
  for (const id of ['recipePanel', 'dataPanel', 'runPanel']) els[id].hidden = bench || !state.model;
  els.results.hidden = bench || !state.result;
  refreshRecipe();
}

const EXAMPLES = {
  digits: {
    model: 'examples/digits_cnn_float32.tflite',
    calib: 'examples/digits_calib32.npy',
    eval: 'examples/digits_test100.npy',
    labels: 'examples/digits_test100_labels.npy',
  },
  mlp: { model: 'examples/tiny_mlp.tflite' },
};

async function fetchFile(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new File([await r.blob()], url.split('/').pop());
}

async function openExample(id) {
  const ex = EXAMPLES[id];
  clearError();
  setStatus('Fetching the example…');
  try {
    const file = await fetchFile(ex.model);
    // Data first, so it is prepared against the model as soon as it loads.
    clearData('calib');
    clearData('eval');
    if (ex.calib) state.data.calib.source = await readSource([{ file: await fetchFile(ex.calib) }]);
    if (ex.eval) state.data.eval.source = await readSource([{ file: await fetchFile(ex.eval) }]);
    if (ex.labels) {
      const lf = await fetchFile(ex.labels);
      state.data.eval.labels = await readLabels(lf);
      state.data.eval.labelsName = lf.name;
    }
    if (ex.calib) selectPreset('smallest');
    await openModel(file, file.name);
  } catch (e) {
    showError(`Could not open the example: ${friendly(e)}`);
    setStatus('');
  }
}

// ------------------------------------------------------------------ recipe UI

let form;

function hasData() {
  return (state.data.calib.prepared?.count ?? 0) > 0;
}

function renderPresets() {
  els.presetList.replaceChildren();
  const items = [...PRESETS, { id: 'custom', label: 'Custom', text: 'Your own settings: open Advanced options, or import a recipe JSON.' }];
  for (const p of items) {
    const id = `preset-${p.id}`;
    const input = h('input', { type: 'radio', name: 'preset', value: p.id, id, 'aria-describedby': `${id}-text` });
    input.addEventListener('change', () => {
      if (!input.checked) return;
      if (p.id === 'custom') {
        state.preset = null;
        els.advanced.open = true;
        refreshRecipe();
        return;
      }
      selectPreset(p.id);
    });
    const note = h('span', { className: 'preset-note', id: `${id}-note` });
    els.presetList.append(
      h('div', { className: 'preset' }, input, h('label', { for: id }, h('span', { className: 'preset-name', text: p.label }), h('span', { className: 'preset-text', id: `${id}-text`, text: p.text }), note)),
    );
  }
}

function selectPreset(id) {
  const p = PRESETS.find((x) => x.id === id);
  const r = p?.build(hasData());
  if (!r) return false;
  state.recipe = r;
  state.preset = id;
  refreshRecipe();
  return true;
}

function refreshRecipe() {
  const data = hasData();
  // A preset follows the data: with samples it uses the data-aware variant.
  if (state.preset) {
    const p = PRESETS.find((x) => x.id === state.preset);
    const r = p.build(data);
    if (r) state.recipe = r;
    else {
      state.preset = 'safe';
      state.recipe = PRESETS.find((x) => x.id === 'safe').build(data);
      setStatus(`${p.label} needs calibration data; switched to Safe.`);
    }
  }
  for (const p of PRESETS) {
    const input = $(`preset-${p.id}`);
    const note = $(`preset-${p.id}-note`);
    const r = p.build(data);
    input.disabled = !r || state.busy === 'run';
    input.checked = state.preset === p.id;
    note.textContent = !data && p.noData ? p.noData : '';
    input.closest('.preset').classList.toggle('disabled', !r);
  }
  const custom = $('preset-custom');
  custom.checked = !state.preset;
  custom.disabled = state.busy === 'run';
  form.refresh(data);
  els.recipeJson.textContent = JSON.stringify(state.recipe, null, 2);
  const needs = dataNeeds(state.recipe);
  els.dataWhy.textContent = data
    ? 'Samples are loaded: every method is available.'
    : 'Without samples, only the methods that need none are offered: dynamic range and float16 quantization, magnitude pruning, plain clustering. int8 needs samples to choose activation ranges; data-aware pruning and clustering need them to weigh the weights; fidelity is measured on them.';
  if (needs.length && !data) els.runNote.textContent = `This recipe needs calibration samples for ${needs.join(', ')}. Add samples under Data (or random ones as a last resort), or pick Safe or Half.`;
  else els.runNote.textContent = `Writes ${outputName()}; the original is not changed.`;
  updateRunState();
}

function outputName() {
  const stem = state.model?.stem ?? 'model';
  return `${stem}.${slug(state.recipe.name ?? state.preset ?? 'custom')}.tflite`;
}

function updateRunState() {
  const busy = state.busy === 'run' || state.busy === 'bench';
  const needs = dataNeeds(state.recipe).length > 0 && !hasData();
  els.run.disabled = !state.model || busy || state.busy === 'load' || needs;
  els.cancel.disabled = state.busy !== 'run';
  els.benchRun.disabled = !state.model || busy || state.busy === 'load';
  els.benchCancel.disabled = state.busy !== 'bench';
  els.latencyAgain.disabled = !state.result || busy;
  els.downloadModel.disabled = !state.result;
  els.downloadReport.disabled = !state.result;
  els.pick.disabled = false;
}

function exportRecipe() {
  const name = slug(state.recipe.name ?? state.preset ?? 'recipe', 'recipe');
  saveBytes(new TextEncoder().encode(JSON.stringify(state.recipe, null, 2) + '\n'), `${name}.recipe.json`, 'application/json');
  setStatus(`Saved ${name}.recipe.json.`);
}

async function importRecipe(file) {
  clearError();
  try {
    let parsed;
    try {
      parsed = JSON.parse(await file.text());
    } catch (e) {
      throw new Error(`not valid JSON (${e.message})`);
    }
    const r = checkRecipe(parsed);
    state.recipe = r;
    state.preset = presetOf(r, hasData());
    if (!state.preset) els.advanced.open = true;
    refreshRecipe();
    setStatus(`Imported the recipe from ${file.name}.`);
  } catch (e) {
    showError(`Could not import ${file.name}: ${e.message}`);
  }
}

// ------------------------------------------------------------------ data UI

const SLOT_EL = { calib: $('calib-set'), eval: $('eval-set') };

function clearData(slot) {
  const d = state.data[slot];
  d.source = null;
  d.prepared = null;
  d.error = null;
  d.seq++;
  if (slot === 'eval') {
    d.labels = null;
    d.labelsName = null;
  }
}

async function reprepare(slot) {
  const d = state.data[slot];
  const seq = ++d.seq;
  d.prepared = null;
  d.error = null;
  if (d.source && state.model) {
    renderDataStatus(slot, 'Preparing…');
    try {
      const prepared = await prepare(d.source, state.model.inputInfo, state.prep, {
        onProgress: (f) => seq === d.seq && renderDataStatus(slot, `Preparing… ${Math.round(f * 100)}%`),
      });
      if (seq !== d.seq) return;
      d.prepared = prepared;
    } catch (e) {
      if (seq !== d.seq) return;
      d.error = e instanceof DataError ? e.message : friendly(e);
    }
  }
  renderDataStatus(slot);
}

async function reprepareAll() {
  await Promise.all([reprepare('calib'), reprepare('eval')]);
  refreshRecipe();
}

function sourceDesc(src, prepared) {
  const s = prepared?.samples?.[0];
  const shape = s ? ` (${s.map((x) => `${x.dtype ?? ''} ${shapeStr(x.shape)}`.trim()).join(', ')} each)` : '';
  return `${num(prepared?.count ?? 0)} sample${prepared?.count === 1 ? '' : 's'} from ${src.name}${shape}`;
}

function evalSet() {
  const ev = state.data.eval;
  const cal = state.data.calib;
  const prepared = ev.source ? ev.prepared : cal.prepared;
  if (!prepared) return null;
  const labels = ev.labels ?? prepared.labels ?? null;
  if (!labels) return null;
  if (labels.length !== prepared.count) {
    return { error: `${num(labels.length)} labels for ${num(prepared.count)} samples: they must match one to one` };
  }
  const n = Math.min(prepared.count, MAX_EVAL);
  return { samples: prepared.samples.slice(0, n), labels: labels.subarray(0, n), held: !!ev.source, capped: prepared.count > n };
}

function renderDataStatus(slot, busyText) {
  const d = state.data[slot];
  const box = SLOT_EL[slot];
  const status = box.querySelector('[data-role=status]');
  const previews = box.querySelector('[data-role=previews]');
  status.classList.toggle('bad', !!d.error);
  let text;
  if (busyText) text = busyText;
  else if (d.error) text = d.error;
  else if (slot === 'calib') {
    if (!d.source) text = 'No samples.';
    else if (!d.prepared) text = state.model ? 'Not prepared.' : `${d.source.name}: open a model to use it.`;
    else {
      const used = Math.min(d.prepared.count, calibMax());
      text = `${sourceDesc(d.source, d.prepared)}; ${num(used)} used for calibration.${d.prepared.note ? ` ${cap(d.prepared.note)}.` : ''}`;
    }
  } else {
    const parts = [];
    if (d.source && d.prepared) parts.push(`${sourceDesc(d.source, d.prepared)}.`);
    if (d.source?.classNames && !d.labels) {
      const names = d.source.classNames;
      const shown = names.slice(0, 8).map((n) => `${n} = ${/^\d+$/.test(n) ? Number(n) : names.indexOf(n)}`);
      parts.push(`Labels from ${names.length} folder names: ${shown.join(', ')}${names.length > 8 ? ', …' : ''}.`);
    }
    else if (d.source) parts.push(`${d.source.name}: not prepared.`);
    if (d.labels) parts.push(`${num(d.labels.length)} labels from ${d.labelsName}.`);
    const ev = evalSet();
    if (ev?.error) {
      text = parts.concat(ev.error + '.').join(' ');
      status.classList.add('bad');
    } else if (ev) {
      parts.push(`Accuracy will be measured on ${num(ev.samples.length)} ${ev.held ? 'evaluation' : 'calibration'} samples${ev.held ? '' : ' (optimistic: the same samples calibrate the model)'}${ev.capped ? ` (the first ${MAX_EVAL})` : ''}.`);
      text = parts.join(' ');
    } else {
      parts.push('No labels: accuracy is not measured.');
      text = parts.join(' ');
    }
  }
  status.textContent = text;
  box.querySelector('[data-act=clear]').disabled = !(d.source || d.labels);
  previews.replaceChildren();
  for (const [k, img] of (d.prepared?.previews ?? []).entries()) {
    const c = h('canvas', { width: img.width, height: img.height, className: img.width < 64 ? 'pixelated' : '', role: 'img', 'aria-label': `sample ${k + 1} as the model sees it` });
    c.getContext('2d').putImageData(img, 0, 0);
    previews.append(c);
  }
  const images = state.data.calib.source?.kind === 'images' || state.data.eval.source?.kind === 'images';
  els.prep.hidden = !images;
  els.prepNote.textContent = [state.data.calib, state.data.eval].map((x) => x.source?.kind === 'images' && x.prepared?.note).filter(Boolean)[0] ?? '';
  if (slot === 'calib' && !busyText) renderDataStatus('eval');
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function calibMax() {
  const v = Math.floor(Number(els.calibMax.value));
  return Number.isFinite(v) && v >= 1 ? v : 256;
}

let pendingData = null; // {slot, act}

function openDataPicker(slot, act) {
  pendingData = { slot, act };
  const input = els.dataFile;
  input.value = '';
  input.toggleAttribute('webkitdirectory', act === 'folder');
  input.multiple = act === 'images' || act === 'folder';
  input.accept = act === 'images' ? 'image/*' : act === 'arrays' || act === 'labels' ? '.npy,.npz' : '';
  input.click();
}

async function takeData(slot, act, items) {
  if (!items.length) return;
  clearError();
  const d = state.data[slot];
  try {
    if (act === 'labels') {
      d.labels = await readLabels(items[0].file);
      d.labelsName = items[0].file.name;
      renderDataStatus(slot);
      return;
    }
    const src = await readSource(items);
    if (slot === 'calib') clearData('calib');
    else {
      d.source = null;
      d.prepared = null;
    }
    d.source = src;
    await reprepare(slot);
    if (src.skipped) setStatus(`${src.skipped} file(s) that are not images were skipped.`);
    refreshRecipe();
  } catch (e) {
    d.error = e instanceof DataError ? e.message : friendly(e);
    renderDataStatus(slot);
  }
}

function wireDataSlot(slot) {
  const box = SLOT_EL[slot];
  box.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const act = b.dataset.act;
    if (act === 'clear') {
      clearData(slot);
      renderDataStatus(slot);
      refreshRecipe();
    } else if (act === 'random') {
      clearData('calib');
      state.data.calib.source = randomSource();
      await reprepare('calib');
      refreshRecipe();
    } else {
      openDataPicker(slot, act);
    }
  });
  box.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types?.includes('Files')) return;
    e.preventDefault();
    box.classList.add('dragging');
  });
  box.addEventListener('dragleave', () => box.classList.remove('dragging'));
  box.addEventListener('drop', async (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    e.stopPropagation();
    box.classList.remove('dragging');
    endDrag();
    const items = await filesFromDrop(e.dataTransfer);
    const labels = slot === 'eval' && items.length === 1 && isArrayFile(items[0].file) && state.data.eval.source === null && /label/i.test(items[0].file.name);
    takeData(slot, labels ? 'labels' : 'images', items);
  });
}

// ------------------------------------------------------------------ progress

const PHASE_LABELS = {
  prune: 'Pruning',
  'prune: statistics': 'Pruning: input statistics',
  cluster: 'Clustering',
  'cluster: statistics': 'Clustering: input statistics',
  calibrate: 'Calibration',
  quantize: 'Quantization',
  sparse: 'Sparse encoding',
  report: 'Report (fidelity)',
  load: 'Loading the result',
  accuracy: 'Accuracy (both models)',
  'latency: original': 'Latency: original',
  'latency: optimized': 'Latency: optimized',
};

class Phases {
  constructor(host, planned) {
    this.host = host;
    this.rows = new Map();
    host.replaceChildren();
    host.hidden = false;
    for (const p of planned) this.row(p);
  }

  row(phase) {
    let r = this.rows.get(phase);
    if (r) return r;
    const label = PHASE_LABELS[phase] ?? cap(phase);
    const bar = h('progress', { max: 1, value: 0, 'aria-label': label });
    const pctEl = h('span', { className: 'phase-pct', text: 'waiting' });
    const el = h('div', { className: 'phase pending' }, h('span', { className: 'phase-name', text: label }), bar, pctEl);
    // Sub-phases ("prune: statistics") go before their parent's row.
    const parent = this.rows.get(phase.split(':')[0]);
    if (parent && parent !== r) this.host.insertBefore(el, parent.el);
    else this.host.append(el);
    r = { el, bar, pctEl, done: false };
    this.rows.set(phase, r);
    return r;
  }

  update(phase, fraction) {
    const r = this.row(phase);
    const f = Math.max(0, Math.min(1, Number(fraction) || 0));
    r.bar.value = f;
    r.el.classList.remove('pending');
    r.el.classList.add('active');
    r.pctEl.textContent = f >= 1 ? 'done' : `${Math.round(f * 100)}%`;
    if (f >= 1) {
      r.el.classList.replace('active', 'done');
      r.done = true;
    }
  }

  /** Mark phases as done (when the step that contains them finished). */
  finish(phases) {
    for (const p of phases ?? this.rows.keys()) {
      const r = this.rows.get(p);
      if (r && !r.el.classList.contains('pending')) this.update(p, 1);
      else if (r) {
        r.el.classList.replace('pending', 'skipped');
        r.pctEl.textContent = 'not needed';
      }
    }
  }

  stop(text) {
    for (const r of this.rows.values()) {
      if (!r.done) {
        r.el.classList.add('stopped');
        r.pctEl.textContent = text;
      }
    }
  }
}

function planPhases(recipe, withAccuracy) {
  const p = [];
  if (recipe.prune) p.push('prune');
  if (recipe.cluster) p.push('cluster');
  const q = recipe.quantize;
  if (q?.mode === 'int8' || q?.mode === 'int16x8') p.push('calibrate');
  if (q) p.push('quantize');
  if (recipe.sparseFormat) p.push('sparse');
  p.push('report', 'load');
  if (withAccuracy) p.push('accuracy');
  p.push('latency: original', 'latency: optimized');
  return p;
}

// ------------------------------------------------------------------ run

let runSeq = 0;

function cancelWork() {
  if (state.busy !== 'run' && state.busy !== 'bench') return;
  runSeq++;
  engine.cancel('cancelled');
  recoverEngine();
}

async function runOptimize() {
  if (!state.model || state.busy) return;
  const recipe = structuredClone(state.recipe);
  const needs = dataNeeds(recipe);
  if (needs.length && !hasData()) return;
  const model = state.model;
  const token = ++runSeq;
  const ev = evalSet();
  const evOk = ev && !ev.error ? ev : null;
  clearError();
  state.busy = 'run';
  // A new run replaces the previous result (the optimized model is dropped).
  state.result = null;
  els.results.hidden = true;
  req('drop', { slot: 'optimized' }).catch(() => {});
  refreshRecipe();
  const phases = new Phases(els.phases, planPhases(recipe, !!evOk));
  const onProgress = (p, f) => token === runSeq && phases.update(p, f);
  setStatus(`Optimizing ${model.name}…`);
  const t0 = performance.now();
  try {
    const calibration = hasData() ? state.data.calib.prepared.samples.slice(0, calibMax()) : [];
    const res = await req('optimize', { recipe, calibration }, { onProgress });
    if (token !== runSeq) return;
    phases.finish(['prune', 'prune: statistics', 'cluster', 'cluster: statistics', 'calibrate', 'quantize', 'sparse', 'report', 'load']);
    state.result = {
      recipe,
      preset: state.preset,
      fileName: outputName(),
      bytes: res.bytes,
      report: res.report,
      summary: res.summary,
      random: state.data.calib.source?.kind === 'random' && calibration.length > 0,
      calibSamples: calibration.length,
      accuracy: null,
      latency: {},
    };
    els.results.hidden = false;
    renderResults();
    setStatus(`Optimized ${model.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s; measuring…`);
    if (evOk) {
      const out = await req('evaluate', { samples: evOk.samples }, { onProgress });
      if (token !== runSeq) return;
      state.result.accuracy = accuracyOf(out, evOk);
      renderFidelity();
    }
    await measureLatency(token, onProgress);
    if (token !== runSeq) return;
    phases.finish();
    setStatus(`Done: ${state.result.fileName}, ${num(state.result.bytes.length)} bytes (was ${num(model.summary.bytes)}).`);
  } catch (e) {
    if (token !== runSeq && e.code !== 'CANCELLED') return;
    if (e.code === 'CANCELLED') {
      phases.stop('cancelled');
      if (e.message !== 'superseded') setStatus('Cancelled. The engine was restarted and the model reloaded; you can run again.');
    } else {
      phases.stop('failed');
      showError(`Optimization failed: ${friendly(e)}`);
      setStatus('');
      if (isFatal(e)) recoverEngine();
    }
  } finally {
    if (token === runSeq || state.busy === 'run') state.busy = null;
    refreshRecipe();
  }
}

function accuracyOf(out, ev) {
  const res = { samples: ev.samples.length, held: ev.held };
  for (const slot of ['original', 'optimized']) {
    const o = out[slot];
    if (!o || o.error) {
      res[slot] = { error: o?.error ?? 'not measured' };
      continue;
    }
    let ok = 0;
    for (let k = 0; k < o.predictions.length; k++) if (o.predictions[k] === ev.labels[k]) ok++;
    res[slot] = { accuracy: ok / o.predictions.length, correct: ok };
  }
  if (out.original?.predictions && out.optimized?.predictions) {
    let same = 0;
    for (let k = 0; k < out.original.predictions.length; k++) if (out.original.predictions[k] === out.optimized.predictions[k]) same++;
    res.agreement = same / out.original.predictions.length;
  }
  return res;
}

async function measureLatency(token, onProgress) {
  const r = state.result;
  const requantization = state.requant; // both models with the same arithmetic
  for (const slot of ['original', 'optimized']) {
    try {
      const out = await req('bench', { slot, ...LATENCY, requantization }, { onProgress });
      if (token !== runSeq) return;
      r.latency[slot] = latencyStats(out);
    } catch (e) {
      if (e.code === 'CANCELLED' || isFatal(e)) throw e;
      if (token !== runSeq) return;
      r.latency[slot] = { error: e.message };
    }
    renderLatency();
  }
}

function latencyStats(out) {
  if (out.unsupported) return { unsupported: out.unsupported };
  const times = Array.from(out.times);
  const sorted = [...times].sort((a, b) => a - b);
  return {
    times,
    runs: times.length,
    warmup: out.warmup,
    median: median(sorted),
    p90: quantile(sorted, 0.9),
    min: sorted[0],
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    requantization: out.requantization ?? 'exact',
    int8Nodes: out.int8Nodes ?? null,
  };
}

const REQUANT_LABELS = { exact: 'exact (TFLite reference)', fast: 'fast (XNNPACK-style fp32)' };

/** The "integer arithmetic" cell of a latency row: the mode, or why it does not apply. */
function requantCell(l) {
  const mode = REQUANT_LABELS[l.requantization] ?? l.requantization;
  if (l.int8Nodes === 0) return h('span', { title: `Measured with ${l.requantization} arithmetic; this model has no int8 conv, depthwise, fully connected, add or quantize layer, so it makes no difference` }, `${l.requantization}: n/a (no int8 layers)`);
  const n = l.int8Nodes ? `; applies to ${l.int8Nodes} int8 conv / depthwise / fully connected / add / quantize layer${l.int8Nodes === 1 ? '' : 's'}` : '';
  return h('span', { title: `Integer arithmetic: ${mode}${n}` }, mode);
}

async function latencyAgain() {
  if (!state.result || state.busy) return;
  const token = ++runSeq;
  state.busy = 'run';
  updateRunState();
  const phases = new Phases(els.phases, ['latency: original', 'latency: optimized']);
  try {
    state.result.latency = {};
    renderLatency();
    await measureLatency(token, (p, f) => token === runSeq && phases.update(p, f));
    setStatus('Latency measured again.');
  } catch (e) {
    if (e.code === 'CANCELLED') {
      phases.stop('cancelled');
      setStatus('Cancelled.');
    } else showError(`Latency measurement failed: ${friendly(e)}`);
  } finally {
    if (token === runSeq || state.busy === 'run') state.busy = null;
    refreshRecipe();
  }
}

// ------------------------------------------------------------------ results

function renderResults() {
  const r = state.result;
  const rep = r.report;
  els.resultFile.textContent = `${r.fileName}: ${num(r.bytes.length)} bytes, made with the ${r.preset ? `${cap(r.preset)} preset` : 'custom recipe'} (the recipe is in the report).`;
  els.downloadModel.textContent = `Download ${r.fileName}`;
  drawSizeChart();
  els.sizeFacts.replaceChildren();
  const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}× smaller` : '');
  const change = (before, after) => {
    const d = after - before;
    const rel = before ? `${d <= 0 ? '' : '+'}${((100 * d) / before).toFixed(1)}%` : '';
    return `${num(before)} → ${num(after)} bytes (${rel}${d < 0 ? `, ${ratio(before, after)}` : ''})`;
  };
  fact(els.sizeFacts, 'File', change(rep.input.bytes, rep.output.bytes), 'size-raw');
  fact(els.sizeFacts, 'gzip -9', change(rep.input.gzipBytes, rep.output.gzipBytes), 'size-gzip');
  renderFidelity();
  renderLatency();
  renderResultLayers();
  // Notes: ops left float, warnings.
  els.resultNotes.replaceChildren();
  const notes = [];
  if (r.random) notes.push('Calibrated on random data: activation ranges are guesses; accuracy may be poor. Give real samples when you can.');
  notes.push(...(rep.warnings ?? []));
  if (notes.length) {
    els.resultNotes.append(h('h3', { text: 'Notes' }), h('ul', { className: 'notes' }, notes.map((n) => h('li', { text: n }))));
  }
  if (rep.floatOps?.length) {
    els.resultNotes.append(h('h3', { text: 'Ops left in float' }), h('ul', { className: 'notes' }, rep.floatOps.map((n) => h('li', { text: n }))));
  }
  const s = r.summary;
  if (!s.runnable) {
    els.resultNotes.append(h('p', { className: 'warning', text: `The optimized model cannot run in this browser yet: ${s.unsupported.join('; ')}. It is still a valid .tflite for LiteRT.` }));
  }
}

function drawSizeChart() {
  const rep = state.result?.report;
  if (!rep || els.results.hidden) return;
  barChart(
    els.sizeChart,
    [
      { label: 'original', value: rep.input.bytes, text: kib(rep.input.bytes), cls: 'orig' },
      { label: 'original, gzip', value: rep.input.gzipBytes, text: kib(rep.input.gzipBytes), cls: 'orig light' },
      { label: 'optimized', value: rep.output.bytes, text: kib(rep.output.bytes), cls: 'opt' },
      { label: 'optimized, gzip', value: rep.output.gzipBytes, text: kib(rep.output.gzipBytes), cls: 'opt light' },
    ],
    `Size: original ${num(rep.input.bytes)} bytes (gzip ${num(rep.input.gzipBytes)}), optimized ${num(rep.output.bytes)} bytes (gzip ${num(rep.output.gzipBytes)})`,
  );
}

function renderFidelity() {
  const r = state.result;
  const f = r.report.fidelity;
  const dl = els.fidelity;
  dl.replaceChildren();
  if (f) {
    fact(dl, 'Output SQNR', db(f.outputSqnrDb), 'fid-sqnr');
    fact(dl, 'Output cosine', f.outputCosine.toFixed(6), 'fid-cosine');
    if (f.top1Agreement !== null && f.top1Agreement !== undefined) fact(dl, 'Top-1 agreement', pct(f.top1Agreement), 'fid-top1');
    fact(dl, 'Samples', `${f.samples} calibration sample${f.samples === 1 ? '' : 's'}`);
  } else {
    fact(dl, 'Output SQNR', '–', 'fid-sqnr');
  }
  const a = r.accuracy;
  if (a) {
    const acc = (x) => (x?.error ? x.error : `${pct(x.accuracy)} (${x.correct} of ${a.samples})`);
    fact(dl, 'Accuracy, original', acc(a.original), 'acc-original');
    fact(dl, 'Accuracy, optimized', acc(a.optimized), 'acc-optimized');
    if (a.agreement !== undefined) fact(dl, 'Same prediction', pct(a.agreement), 'acc-agreement');
  }
  const notes = [];
  if (f) notes.push(`Fidelity compares the optimized model’s outputs with the original’s on the calibration samples (${f.method}).`);
  else notes.push('Fidelity is measured on calibration samples: add some under Data to see output SQNR, cosine and top-1 agreement.');
  if (a) notes.push(`Accuracy: both models run in this browser on ${a.samples} ${a.held ? 'evaluation' : 'calibration'} samples against their labels.`);
  else notes.push('Add labels under Data to measure accuracy.');
  els.fidelityNote.textContent = notes.join(' ');
}

function renderLatency() {
  const r = state.result;
  if (!r) return;
  const rows = [];
  const series = [];
  for (const [slot, label, cls] of [
    ['original', 'original', 'orig'],
    ['optimized', 'optimized', 'opt'],
  ]) {
    const l = r.latency[slot];
    if (!l) rows.push(tr([label, 'measuring…', '', '', '', ''], { header: true, numeric: [1, 2, 3, 4] }));
    else if (l.unsupported || l.error) {
      const why = l.unsupported ? `cannot run here yet: ${l.unsupported}` : `could not run: ${l.error}`;
      rows.push(h('tr', {}, h('th', { scope: 'row', text: label }), h('td', { colSpan: 5, className: 'cannot', text: why })));
    } else {
      rows.push(tr([label, ms(l.median), ms(l.p90), ms(l.min), String(l.runs), requantCell(l)], { header: true, numeric: [1, 2, 3, 4] }));
      series.push({ name: label, times: l.times, cls });
    }
  }
  const o = r.latency.original;
  const p = r.latency.optimized;
  if (o?.median && p?.median) {
    const sp = o.median / p.median;
    rows.push(tr(['speed-up', `${sp.toFixed(2)}×`, '', '', '', ''], { header: true, numeric: [1], className: 'speedup' }));
  }
  els.latencyTable.replaceChildren(...rows);
  if (series.length && !els.results.hidden) histogram(els.latencyHist, series, `Latency histogram: ${series.map((s) => `${s.name} median ${ms(r.latency[s.name].median)}`).join(', ')}`);
  else els.latencyHist.replaceChildren();
  els.device.textContent = deviceLine();
}

function renderResultLayers() {
  const layers = state.result.report.layers ?? [];
  const scored = layers.filter((l) => Number.isFinite(l.sqnrDb) && l.sqnrDb < 199.5).sort((a, b) => a.sqnrDb - b.sqnrDb);
  const worst = new Set(scored.slice(0, Math.min(3, Math.ceil(layers.length / 4))).map((l) => l.index));
  els.resultLayers.replaceChildren(
    ...layers.map((l) => {
      const bad = worst.has(l.index);
      const op = h('span', {}, l.op, bad ? h('span', { className: 'tag worst-tag', text: 'worst' }) : null);
      const dtype = l.weightDtypeBefore && l.weightDtypeBefore !== l.weightDtype ? `${l.weightDtypeBefore} → ${l.weightDtype}` : (l.weightDtype ?? '–');
      return tr(
        [
          l.index,
          op,
          h('span', { className: 'wname', text: `${l.weight ?? '–'} ${shapeStr(l.weightShape)}` }),
          dtype + (l.perChannel ? ' /ch' : ''),
          pct(l.sparsity ?? 0),
          num(l.uniqueValues ?? 0),
          db(l.sqnrDb),
          l.cosine === null || l.cosine === undefined ? '–' : l.cosine.toFixed(5),
        ],
        { numeric: [0, 4, 5, 6, 7], className: bad ? 'worst' : undefined },
      );
    }),
  );
}

function downloadModel() {
  const r = state.result;
  if (!r) return;
  saveBytes(r.bytes, r.fileName);
  setStatus(`Saved ${r.fileName} (${num(r.bytes.length)} bytes).`);
}

function downloadReport() {
  const r = state.result;
  if (!r) return;
  const strip = (l) =>
    l && l.times ? { median: l.median, p90: l.p90, min: l.min, mean: l.mean, runs: l.runs, warmup: l.warmup, requantization: l.requantization, int8Nodes: l.int8Nodes, timesMs: l.times } : l ?? null;
  const full = {
    ...r.report,
    model: state.model?.name,
    file: r.fileName,
    recipe: r.recipe,
    calibrationSamples: r.calibSamples,
    accuracy: r.accuracy
      ? {
          samples: r.accuracy.samples,
          heldOut: r.accuracy.held,
          original: r.accuracy.original?.accuracy ?? r.accuracy.original,
          optimized: r.accuracy.optimized?.accuracy ?? r.accuracy.optimized,
          agreement: r.accuracy.agreement ?? null,
        }
      : null,
    latency: { original: strip(r.latency.original), optimized: strip(r.latency.optimized) },
    device: deviceLine(),
  };
  const name = r.fileName.replace(/\.tflite$/, '.report.json');
  saveBytes(new TextEncoder().encode(JSON.stringify(full, null, 2) + '\n'), name, 'application/json');
  setStatus(`Saved ${name}.`);
}

/** The integer arithmetic of the next latency measurements (both selects show it). */
function setRequant(mode) {
  state.requant = mode === 'fast' ? 'fast' : 'exact';
  els.requant.value = state.requant;
  els.benchRequant.value = state.requant;
}

// ------------------------------------------------------------------ bench only

function setBenchMode(on, { push = true } = {}) {
  state.benchMode = on;
  els.benchToggle.checked = on;
  document.body.classList.toggle('bench-mode', on);
  if (push) {
    const u = new URL(location.href);
    if (on) u.searchParams.set('bench', '');
    else u.searchParams.delete('bench');
    history.replaceState(null, '', u.toString().replace('bench=', 'bench').replace('bench&', 'bench&'));
  }
  els.benchDevice.textContent = deviceLine();
  if (state.model) showModelPanels();
  else els.benchPanel.hidden = !on;
  if (on && state.model && !state.benchRows.some((r) => r.model === state.model.name && r.bytes === state.model.summary.bytes && r.requantization === state.requant)) runBench();
}

async function runBench() {
  if (!state.model || state.busy) return;
  const m = state.model;
  const token = ++runSeq;
  state.busy = 'bench';
  updateRunState();
  clearError();
  const phases = new Phases(els.benchProgress, ['latency: original']);
  setStatus(`Measuring ${m.name}…`);
  try {
    const requantization = state.requant;
    const out = await req('bench', { slot: 'original', ...BENCH, requantization }, { onProgress: (p, f) => token === runSeq && phases.update(p, f) });
    if (token !== runSeq) return;
    const st = latencyStats(out);
    state.benchRows.push({ model: m.name, bytes: m.summary.bytes, requantization, ...st });
    renderBench();
    setStatus(st.unsupported ? `${m.name} cannot run here yet.` : `${m.name}: median ${ms(st.median)}, p90 ${ms(st.p90)} (${requantization} integer arithmetic).`);
    els.benchProgress.hidden = true;
  } catch (e) {
    if (e.code === 'CANCELLED') {
      phases.stop('cancelled');
      setStatus('Cancelled.');
    } else {
      showError(`Measuring failed: ${friendly(e)}`);
      if (isFatal(e)) recoverEngine();
    }
  } finally {
    if (token === runSeq || state.busy === 'bench') state.busy = null;
    updateRunState();
  }
}

function renderBench() {
  els.benchTable.replaceChildren(
    ...state.benchRows.map((r) =>
      r.unsupported
        ? h('tr', {}, h('th', { scope: 'row', text: r.model }), h('td', { className: 'num', text: kib(r.bytes) }), h('td', { colSpan: 5, className: 'cannot', text: `cannot run here yet: ${r.unsupported}` }))
        : tr([r.model, kib(r.bytes), ms(r.median), ms(r.p90), ms(r.min), String(r.runs), requantCell(r)], { header: true, numeric: [1, 2, 3, 4, 5] }),
    ),
  );
  const series = state.benchRows
    .filter((r) => r.times)
    .slice(-2)
    .map((r, i) => ({ name: r.model, times: r.times, cls: i === 0 ? 'orig' : 'opt' }));
  if (series.length) histogram(els.benchHist, series, `Latency histogram of ${series.map((s) => s.name).join(' and ')}`);
  els.benchDevice.textContent = deviceLine();
}

// ------------------------------------------------------------------ drag and drop

let dragDepth = 0;
function endDrag() {
  dragDepth = 0;
  els.drop.classList.remove('dragging');
  document.body.classList.remove('dragging');
}

function wireDrop() {
  window.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types?.includes('Files')) return;
    e.preventDefault();
    dragDepth++;
    els.drop.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) endDrag();
  });
  window.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types?.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault(); // never let the browser navigate to the file
    endDrag();
    const files = [...e.dataTransfer.files];
    const f = files[0];
    // With a model open, images and arrays dropped anywhere are calibration data.
    if (state.model && !state.benchMode && files.every((x) => isImageFile(x) || isArrayFile(x)) && !/\.tflite$/i.test(f.name)) {
      filesFromDrop(e.dataTransfer).then((items) => takeData('calib', 'images', items));
      els.dataPanel.scrollIntoView({ block: 'nearest' });
      return;
    }
    openModel(f, f.name);
  });
}

// ------------------------------------------------------------------ wiring

function wire() {
  els.pick.addEventListener('click', () => els.input.click());
  els.input.addEventListener('change', () => {
    const f = els.input.files?.[0];
    els.input.value = ''; // so choosing the same file again fires 'change'
    if (f) openModel(f, f.name);
  });
  for (const b of document.querySelectorAll('[data-example]')) b.addEventListener('click', () => openExample(b.dataset.example));
  wireDrop();

  renderPresets();
  form = buildForm(els.advancedForm, state, () => {
    state.preset = presetOf(state.recipe, hasData());
    refreshRecipe();
  });
  els.recipeExport.addEventListener('click', exportRecipe);
  els.recipeImport.addEventListener('click', () => els.recipeFile.click());
  els.recipeFile.addEventListener('change', () => {
    const f = els.recipeFile.files?.[0];
    els.recipeFile.value = '';
    if (f) importRecipe(f);
  });

  wireDataSlot('calib');
  wireDataSlot('eval');
  els.dataFile.addEventListener('change', () => {
    const files = [...(els.dataFile.files ?? [])];
    const p = pendingData;
    els.dataFile.value = '';
    if (p && files.length) takeData(p.slot, p.act, files.map((file) => ({ file, relPath: file.webkitRelativePath })));
  });
  els.calibMax.addEventListener('change', () => renderDataStatus('calib'));
  for (const [id, key] of [
    ['prep-range', 'range'],
    ['prep-mean', 'mean'],
    ['prep-std', 'std'],
    ['prep-order', 'order'],
    ['prep-fit', 'fit'],
  ]) {
    $(id).addEventListener('change', async () => {
      state.prep[key] = $(id).value;
      await reprepareAll();
    });
  }

  els.run.addEventListener('click', runOptimize);
  els.cancel.addEventListener('click', () => cancelWork());
  els.benchCancel.addEventListener('click', () => cancelWork());
  els.benchRun.addEventListener('click', runBench);
  els.latencyAgain.addEventListener('click', latencyAgain);
  for (const sel of [els.requant, els.benchRequant]) {
    sel.addEventListener('change', () => {
      setRequant(sel.value);
      // Measure again with the new arithmetic (when idle; else the next measurement uses it).
      if (state.busy) return;
      if (state.benchMode) runBench();
      else if (state.result) latencyAgain();
    });
  }
  els.downloadModel.addEventListener('click', downloadModel);
  els.downloadReport.addEventListener('click', downloadReport);
  els.benchToggle.addEventListener('change', () => setBenchMode(els.benchToggle.checked));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.busy && state.busy !== 'load') cancelWork();
  });

  let resizeTimer;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (state.result) {
        drawSizeChart();
        renderLatency();
      }
      if (state.benchRows.length) renderBench();
    }, 100);
  }).observe(document.body);
}

wire();
refreshRecipe();
const params = new URL(location.href).searchParams;
if (params.has('bench')) setBenchMode(true, { push: false });
// ?example=digits|mlp opens a bundled example (with ?bench: measures it at once).
if (Object.hasOwn(EXAMPLES, params.get('example') ?? '')) openExample(params.get('example'));
// The engine (worker + wasm) loads after the first paint: the drop zone works at once,
// and a model opened before the engine is ready waits for it.
requestAnimationFrame(() => setTimeout(() => engine.start(), 0));

// Offline: once loaded, the page (and the engine) keep working without a
// network. Service workers need a secure context (localhost or HTTPS).
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('./sw.js').catch(() => {
      // not fatal: the page works online without it
    });
  });
}
