// The modelpress page (minimal version): open a .tflite, show its summary,
// download it back (identity). All model work happens in worker.js.

const $ = (id) => document.getElementById(id);
const els = {
  drop: $('drop-zone'),
  pick: $('pick-button'),
  input: $('file-input'),
  status: $('status'),
  error: $('error'),
  summary: $('summary'),
  name: $('model-name'),
  facts: $('facts'),
  unsupported: $('unsupported'),
  unsupportedList: $('unsupported-list'),
  io: $('io-table').tBodies[0],
  ops: $('op-histogram').tBodies[0],
  layers: $('layers').tBodies[0],
  download: $('download-identity'),
  build: $('build-info'),
};

// ------------------------------------------------------------ worker bridge

let worker;
let nextId = 1;
const pending = new Map();

function startWorker() {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => {
    if (data?.type === 'ready') {
      els.build.textContent = `engine ${data.build.version} (${data.build.build} wasm)`;
      if (!current) setStatus('Ready. Open a .tflite model.');
      return;
    }
    if (data?.type === 'fatal') {
      showError(`The engine could not start: ${data.error.message}`);
      setStatus('');
      return;
    }
    const p = pending.get(data?.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else p.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
  };
  worker.onerror = (ev) => {
    ev.preventDefault?.();
    const msg = ev.message || 'the worker failed to load (is the wasm build there? run `npm run build`)';
    for (const p of pending.values()) p.reject(Object.assign(new Error(msg), { code: 'INTERNAL' }));
    pending.clear();
    showError(`The engine stopped: ${msg}`);
    // Start a fresh worker so the page keeps working.
    worker.terminate();
    current = null;
    startWorker();
  };
}

function request(op, payload = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...payload }, transfer);
  });
}

// ------------------------------------------------------------ rendering

const num = (n) => Number(n).toLocaleString('en-US');
const shapeStr = (s) => `[${s.join(', ')}]`;

function fmtFloat(x) {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
}

function quantStr(q) {
  if (!q) return '–';
  if (q.scale.length === 1) return `scale ${fmtFloat(q.scale[0])}, zero point ${q.zero_point[0] ?? 0}`;
  return `per-channel, axis ${q.quantized_dimension} (${q.scale.length} scales)`;
}

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

function row(tbody, cells, numeric = []) {
  const tr = document.createElement('tr');
  cells.forEach((c, k) => {
    const td = document.createElement(k === 0 && tbody.parentElement.id === 'io-table' ? 'th' : 'td');
    if (td.tagName === 'TH') td.scope = 'row';
    td.textContent = String(c);
    if (numeric.includes(k)) td.className = 'num';
    tr.append(td);
  });
  tbody.append(tr);
}

function fact(name, value, id) {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (id) dd.id = id;
  els.facts.append(dt, dd);
}

function renderSummary(name, s) {
  els.name.textContent = name;
  els.facts.replaceChildren();
  fact('Format', `${s.format} (schema version ${s.schema_version})`);
  fact('Size', `${num(s.bytes)} bytes`, 'fact-bytes');
  fact('gzip -9', `${num(s.gzip_bytes)} bytes (${s.bytes ? ((100 * s.gzip_bytes) / s.bytes).toFixed(1) : 0}%)`, 'fact-gzip');
  fact('Parameters', num(s.parameters), 'fact-parameters');
  const wd = Object.entries(s.weight_dtypes);
  fact('Weights', wd.length ? wd.map(([d, n]) => `${d}: ${num(n)}`).join(', ') : 'none');
  fact('Subgraphs', String(s.subgraphs.length));
  if (s.signatures.length) fact('Signatures', s.signatures.map((g) => g.key).join(', '));
  if (s.metadata.length) fact('Metadata', s.metadata.join(', '));
  fact('Runnable here', s.runnable ? 'yes' : `no (${s.unsupported.length} unsupported)`, 'fact-runnable');

  els.unsupportedList.replaceChildren(
    ...s.unsupported.map((u) => {
      const li = document.createElement('li');
      li.textContent = u;
      return li;
    }),
  );
  els.unsupported.hidden = s.runnable;

  els.io.replaceChildren();
  s.inputs.forEach((t, i) => row(els.io, [`input ${i}`, t.name, shapeStr(t.shape_signature ?? t.shape), t.dtype, quantStr(t.quantization)]));
  s.outputs.forEach((t, i) => row(els.io, [`output ${i}`, t.name, shapeStr(t.shape_signature ?? t.shape), t.dtype, quantStr(t.quantization)]));

  els.ops.replaceChildren();
  Object.entries(s.op_histogram)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .forEach(([op, n]) => row(els.ops, [op, num(n)], [1]));

  els.layers.replaceChildren();
  for (const l of s.layers) {
    const w = l.weight;
    row(
      els.layers,
      [l.index, l.op, num(l.params), w ? w.dtype + (w.per_channel ? ' per-channel' : '') + (w.sparse ? ' sparse' : '') : '–', w ? shapeStr(w.shape) : '–', w ? w.name : '–'],
      [0, 2],
    );
  }
  els.summary.hidden = false;
}

// ------------------------------------------------------------ actions

let current = null; // {name, stem}
let loadSeq = 0;

function stemOf(fileName) {
  return fileName.replace(/\.tflite$/i, '') || 'model';
}

async function openFile(file) {
  if (!file) return;
  const seq = ++loadSeq;
  clearError();
  setStatus(`Reading ${file.name}…`);
  els.download.disabled = true;
  try {
    const bytes = await file.arrayBuffer();
    setStatus(`Parsing ${file.name} (${num(bytes.byteLength)} bytes)…`);
    const summary = await request('load', { name: file.name, bytes }, [bytes]);
    if (seq !== loadSeq) return; // a newer file was opened meanwhile
    current = { name: file.name, stem: stemOf(file.name) };
    renderSummary(file.name, summary);
    els.download.disabled = false;
    setStatus(`Loaded ${file.name}.`);
  } catch (e) {
    if (seq !== loadSeq) return;
    current = null;
    els.summary.hidden = true;
    setStatus('');
    showError(`Could not open ${file.name}: ${e.message}`);
  }
}

async function downloadIdentity() {
  if (!current) return;
  const { stem } = current;
  els.download.disabled = true;
  try {
    const bytes = await request('toBytes');
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${stem}.identity.tflite`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`Saved ${stem}.identity.tflite (${num(bytes.byteLength)} bytes).`);
  } catch (e) {
    showError(`Could not write the model: ${e.message}`);
  } finally {
    els.download.disabled = !current;
  }
}

els.pick.addEventListener('click', () => els.input.click());
els.input.addEventListener('change', () => {
  const f = els.input.files?.[0];
  els.input.value = ''; // so choosing the same file again fires 'change'
  openFile(f);
});
els.download.addEventListener('click', downloadIdentity);

// Drag and drop: anywhere on the page, highlighted on the drop zone.
let dragDepth = 0;
window.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types?.includes('Files')) return;
  e.preventDefault();
  dragDepth++;
  els.drop.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) els.drop.classList.remove('dragging');
});
window.addEventListener('dragover', (e) => {
  if (!e.dataTransfer?.types?.includes('Files')) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('drop', (e) => {
  if (!e.dataTransfer?.files?.length) return;
  e.preventDefault(); // never let the browser navigate to the file
  dragDepth = 0;
  els.drop.classList.remove('dragging');
  openFile(e.dataTransfer.files[0]);
});

startWorker();
