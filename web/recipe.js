// Recipes: the presets, the schema of every option the core offers (the
// CLI's --recipe JSON: crate/src/passes/{mod,prune,cluster}.rs,
// quantize/mod.rs, calibrate.rs), the advanced form built from that schema,
// and JSON import with messages that name the bad field.

import { h } from './format.js';

// ------------------------------------------------------------------ presets

/**
 * Presets: `build(hasData)` returns the recipe, or null when the preset
 * cannot run without calibration data.
 */
export const PRESETS = [
  {
    id: 'smallest',
    label: 'Smallest',
    text: 'Prune half the weights, cluster them to 16 shared values, then int8.',
    noData: 'Without data: magnitude pruning, clustering and dynamic range (int8 weights).',
    build: (hasData) =>
      hasData
        ? {
            name: 'smallest',
            prune: { sparsity: 0.5, method: 'obs' },
            cluster: { clusters: 16, scaled: true, preserveSparsity: true, dataAware: true },
            quantize: { mode: 'int8' },
          }
        : {
            name: 'smallest',
            prune: { sparsity: 0.5 },
            cluster: { clusters: 16, scaled: true, preserveSparsity: true },
            quantize: { mode: 'dynamic' },
          },
  },
  {
    id: 'fastest',
    label: 'Fastest',
    text: 'Full-integer int8: weights and activations in int8, for integer kernels and accelerators.',
    noData: 'Needs calibration data (samples or random) to choose activation ranges.',
    build: (hasData) => (hasData ? { name: 'fastest', quantize: { mode: 'int8' } } : null),
  },
  {
    id: 'safe',
    label: 'Safe',
    text: 'Dynamic range: int8 weights, float activations. About 4× smaller weights, little accuracy loss, no data needed.',
    build: () => ({ name: 'safe', quantize: { mode: 'dynamic' } }),
  },
  {
    id: 'half',
    label: 'Half',
    text: 'float16 weights: half the size, practically no accuracy loss, no data needed.',
    build: () => ({ name: 'half', quantize: { mode: 'float16' } }),
  },
];

// ------------------------------------------------------------------ schema

// Field types: select | bool | number | text | list (one string per line) |
// map (lines "pattern = number"). `needsData`: the option value(s) that need
// calibration samples. `show(section, recipe)`: when the field applies.
const isInt = (q) => q.mode === 'int8' || q.mode === 'int16x8';

export const SECTIONS = [
  {
    key: 'prune',
    title: 'Pruning',
    help: 'Set weights to exactly zero (applied first); compresses well, and with the sparse format below, shrinks the file itself.',
    optional: true,
    init: () => ({ sparsity: 0.5 }),
    fields: [
      {
        key: 'sparsity', type: 'number', default: null, min: 0, max: 0.99, step: 0.05, label: 'Sparsity',
        help: 'Fraction of weights set to zero, e.g. 0.5 (leave empty with an N:M pattern, which implies it).',
      },
      {
        key: 'pattern', type: 'text', default: 'unstructured', label: 'Pattern',
        suggestions: ['unstructured', '2:4', '1:4', '4:8', 'block:1x4', 'block:4x4', 'block:1x8'],
        help: 'unstructured (any weight), N:M (keep N of every M along input channels, e.g. 2:4) or block:RxC (zero whole blocks).',
      },
      {
        key: 'scope', type: 'select', default: 'layer', label: 'Scope',
        help: 'layer: each tensor gets the target · global: one threshold for all, so sensitive small layers keep more.',
        options: [
          { value: 'layer', label: 'per layer' },
          { value: 'global', label: 'global' },
        ],
      },
      {
        key: 'method', type: 'select', default: 'magnitude', label: 'Method',
        help: 'magnitude: drop the smallest |w| · obs: data-aware (Optimal Brain Surgeon), adjusts the kept weights to compensate.',
        options: [
          { value: 'magnitude', label: 'magnitude' },
          { value: 'obs', label: 'obs (data-aware)', needsData: true },
        ],
      },
      {
        key: 'sequential', type: 'bool', default: false, label: 'Sequential', show: (p) => p.method === 'obs',
        help: 'obs: prune layer by layer with statistics from the already-pruned model (slower, better at high sparsity).',
      },
      {
        key: 'damping', type: 'number', default: 0.01, min: 0.0001, max: 10, step: 0.001, label: 'Damping', show: (p) => p.method === 'obs',
        help: 'obs: added to the Hessian as a fraction of its mean diagonal (0.01 is usual).',
      },
      {
        key: 'maxSamples', type: 'number', default: 512, min: 1, step: 1, integer: true, label: 'Max samples', show: (p) => p.method === 'obs',
        help: 'obs: at most this many calibration samples are used.',
      },
      {
        key: 'includeDepthwise', type: 'bool', default: false, label: 'Include depthwise',
        help: 'Prune DEPTHWISE_CONV_2D weights too (TFMOT never does; they are small and sensitive).',
      },
      {
        key: 'layers', type: 'map', default: {}, label: 'Per-layer sparsity',
        help: 'One per line, "glob = sparsity" on weight or output names; 0 keeps a layer dense. Overrides Sparsity.',
      },
      {
        key: 'skip', type: 'list', default: [], label: 'Leave alone',
        help: 'One per line: op types or globs on tensor names.',
      },
    ],
  },
  {
    key: 'cluster',
    title: 'Clustering',
    help: 'Replace the weights of each tensor by a few shared values (after pruning); compresses well, the file stays the same size.',
    optional: true,
    init: () => ({ clusters: 16 }),
    fields: [
      {
        key: 'clusters', type: 'number', required: true, default: 16, min: 2, max: 1024, step: 1, integer: true, label: 'Clusters',
        help: 'Distinct values per tensor (or per channel), 2 to 1024; 16 is a common choice.',
      },
      {
        key: 'scaled', type: 'bool', default: false, label: 'Scaled codebook',
        help: 'One codebook per tensor scaled per output channel: with int8 quantization, at most k distinct codes in the whole tensor (best compression).',
      },
      {
        key: 'perChannel', type: 'bool', default: false, label: 'Per channel',
        help: 'k clusters for each output channel instead of for the whole tensor (not with Scaled).',
      },
      {
        key: 'preserveSparsity', type: 'bool', default: false, label: 'Preserve sparsity',
        help: 'Zeros (from pruning) stay exactly zero and do not count towards k.',
      },
      {
        key: 'dataAware', type: 'bool', default: false, label: 'Data-aware', needsData: true,
        help: 'Weight the k-means by how large each weight’s input is on the calibration samples.',
      },
      {
        key: 'entropyPenalty', type: 'number', default: 0, min: 0, max: 100, step: 0.1, label: 'Entropy penalty',
        help: '0 is plain k-means; 0.1 to 1 makes clusters fewer and more unequal: a smaller compressed file for a little more error.',
      },
      {
        key: 'init', type: 'select', default: 'kmeans++', label: 'Initialization',
        help: 'Where the k-means starts: kmeans++ seeding, evenly spaced, at quantiles, or random.',
        options: [
          { value: 'kmeans++', label: 'kmeans++' },
          { value: 'linear', label: 'linear' },
          { value: 'density', label: 'density' },
          { value: 'random', label: 'random' },
        ],
      },
      {
        key: 'seed', type: 'number', default: 0, min: 0, step: 1, integer: true, label: 'Seed',
        help: 'Seed of kmeans++ and random initialization (same seed, same result).',
      },
      {
        key: 'maxIterations', type: 'number', default: 100, min: 1, step: 1, integer: true, label: 'Max iterations',
        help: 'Most k-means (Lloyd) iterations per tensor.',
      },
      {
        key: 'maxSamples', type: 'number', default: 512, min: 1, step: 1, integer: true, label: 'Max samples', show: (c) => c.dataAware,
        help: 'Data-aware: at most this many calibration samples are used.',
      },
      {
        key: 'includeDepthwise', type: 'bool', default: false, label: 'Include depthwise',
        help: 'Cluster DEPTHWISE_CONV_2D weights too (TFMOT leaves them out: accuracy loss).',
      },
      {
        key: 'layers', type: 'map', default: {}, label: 'Per-layer clusters', integerValues: true,
        help: 'One per line, "glob = k" on weight or output names; 0 leaves a layer alone. Overrides Clusters.',
      },
      {
        key: 'skip', type: 'list', default: [], label: 'Leave alone',
        help: 'One per line: op types or globs on tensor names.',
      },
    ],
  },
  {
    key: 'quantize',
    title: 'Quantization',
    help: 'Store numbers in fewer bits (applied last).',
    optional: true,
    init: () => ({ mode: 'dynamic' }),
    fields: [
      {
        key: 'mode', type: 'select', required: true, default: 'dynamic', label: 'Mode',
        help: 'How numbers are stored: int8 weights only (dynamic), float16 weights, or integer weights and activations (int8, int16x8).',
        options: [
          { value: 'dynamic', label: 'dynamic range (int8 weights)' },
          { value: 'float16', label: 'float16 weights' },
          { value: 'int8', label: 'int8 (full integer)', needsData: true },
          { value: 'int16x8', label: 'int16x8 (16-bit activations)', needsData: true },
        ],
      },
      {
        key: 'io', type: 'select', default: 'float', label: 'Input/output type', show: isInt,
        help: 'float keeps float inputs and outputs (QUANTIZE/DEQUANTIZE at the edges); int8/uint8 make the model take and return integers.',
        options: [
          { value: 'float', label: 'float' },
          { value: 'int8', label: 'int8' },
          { value: 'uint8', label: 'uint8' },
        ],
      },
      {
        key: 'calibration.method', type: 'select', default: 'minmax', label: 'Calibration method', show: isInt,
        help: 'How activation ranges are chosen from the samples: observed min/max, a percentile (clips outliers), or the range with the least squared error.',
        options: [
          { value: 'minmax', label: 'minmax' },
          { value: 'percentile', label: 'percentile' },
          { value: 'mse', label: 'mse' },
        ],
      },
      {
        key: 'calibration.percentile', type: 'number', default: 99.99, min: 50, max: 100, step: 0.01, label: 'Percentile',
        show: (q) => isInt(q) && q.calibration?.method === 'percentile',
        help: 'The share of |values| kept inside the range (percentile method), e.g. 99.99.',
      },
      {
        key: 'int8Only', type: 'bool', default: false, label: 'Integer ops only', show: isInt,
        help: 'Fail (listing them) instead of leaving ops without an integer kernel in float.',
      },
      {
        key: 'perChannel', type: 'bool', default: true, label: 'Per-channel weights', show: (q) => q.mode !== 'float16',
        help: 'One scale per output channel where the op allows it (more accurate than one per tensor).',
      },
      {
        key: 'minElements', type: 'number', default: 1024, min: 0, step: 1, integer: true, label: 'Minimum weight size', show: (q) => q.mode === 'dynamic',
        help: 'Dynamic range: weight tensors with fewer elements stay float (the converter uses 1024).',
      },
      {
        key: 'skip', type: 'list', default: [], label: 'Keep float',
        help: 'One per line: op types (FULLY_CONNECTED) or globs on output/weight tensor names (*fc2*).',
      },
    ],
  },
  {
    key: null,
    title: 'Output',
    help: 'How the file is written.',
    fields: [
      {
        key: 'name', type: 'text', default: null, label: 'Recipe name',
        help: 'Used in the download’s name: <model>.<name>.tflite.',
      },
      {
        key: 'sparseFormat', type: 'bool', default: false, label: 'Sparse format',
        help: 'Store pruned weights in TFLite’s sparse format behind DENSIFY ops when that is smaller (LiteRT’s XNNPACK refuses it for int8 FULLY_CONNECTED).',
      },
      {
        key: 'externalBuffers', type: 'bool', default: false, label: 'External buffers',
        help: 'Store weights after the flatbuffer (the layout for models over 2 GB; chosen automatically when needed).',
      },
    ],
  }
];

// ------------------------------------------------------------------ paths

function getPath(obj, path) {
  let o = obj;
  for (const k of path.split('.')) {
    if (o === null || o === undefined) return undefined;
    o = o[k];
  }
  return o;
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k];
  }
  const last = keys.at(-1);
  if (value === undefined) {
    delete o[last];
    // drop emptied parents (e.g. calibration: {})
    if (keys.length > 1 && Object.keys(o).length === 0) setPath(obj, keys.slice(0, -1).join('.'), undefined);
  } else {
    o[last] = value;
  }
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ------------------------------------------------------------------ data needs

/** What in `recipe` needs calibration samples, as phrases ([] if nothing). */
export function dataNeeds(recipe) {
  const out = [];
  const q = recipe?.quantize;
  if (q && isInt(q)) out.push(`${q.mode} quantization (activation ranges)`);
  if (recipe?.prune?.method === 'obs') out.push('data-aware pruning (obs)');
  if (recipe?.cluster?.dataAware) out.push('data-aware clustering');
  return out;
}

// ------------------------------------------------------------------ import

const KNOWN_TOP = new Set(['name', 'externalBuffers', 'sparseFormat', 'prune', 'cluster', 'quantize']);

/**
 * Check a parsed recipe against the schema: unknown keys and wrong types are
 * errors naming the field (as the core's deny_unknown_fields). Values inside
 * range are left to the core, which names the field too.
 * @returns {object} a clean copy
 */
export function checkRecipe(r) {
  const bad = (m) => {
    throw Object.assign(new Error(m), { code: 'INVALID_ARGUMENT' });
  };
  if (!r || typeof r !== 'object' || Array.isArray(r)) bad('a recipe is a JSON object, e.g. {"quantize": {"mode": "int8"}}');
  for (const k of Object.keys(r)) {
    if (!KNOWN_TOP.has(k)) bad(`unknown field '${k}' (fields: ${[...KNOWN_TOP].join(', ')})`);
  }
  const out = {};
  for (const sec of SECTIONS) {
    const src = sec.key ? r[sec.key] : r;
    if (sec.key) {
      if (src === undefined || src === null) continue;
      if (typeof src !== 'object' || Array.isArray(src)) bad(`'${sec.key}' must be an object`);
      const allowed = new Set(sec.fields.map((f) => f.key.split('.')[0]));
      for (const k of Object.keys(src)) {
        if (!allowed.has(k)) bad(`unknown field '${sec.key}.${k}' (fields: ${[...allowed].join(', ')})`);
      }
      if (src.calibration !== undefined) {
        if (typeof src.calibration !== 'object' || src.calibration === null) bad(`'${sec.key}.calibration' must be an object`);
        for (const k of Object.keys(src.calibration)) {
          if (!['method', 'percentile'].includes(k)) bad(`unknown field '${sec.key}.calibration.${k}' (fields: method, percentile)`);
        }
      }
    }
    const dst = sec.key ? {} : out;
    for (const f of sec.fields) {
      const v = getPath(src, f.key);
      const where = sec.key ? `${sec.key}.${f.key}` : f.key;
      if (v === undefined || v === null) {
        if (f.required) bad(`'${where}' is required`);
        continue;
      }
      switch (f.type) {
        case 'select':
          if (!f.options.some((o) => o.value === v)) bad(`'${where}' must be one of ${f.options.map((o) => o.value).join(', ')}; got ${JSON.stringify(v)}`);
          break;
        case 'bool':
          if (typeof v !== 'boolean') bad(`'${where}' must be true or false; got ${JSON.stringify(v)}`);
          break;
        case 'number':
          if (typeof v !== 'number' || !Number.isFinite(v)) bad(`'${where}' must be a number; got ${JSON.stringify(v)}`);
          if (f.integer && !Number.isInteger(v)) bad(`'${where}' must be an integer; got ${v}`);
          break;
        case 'text':
          if (typeof v !== 'string') bad(`'${where}' must be a string; got ${JSON.stringify(v)}`);
          break;
        case 'list':
          if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`'${where}' must be a list of strings`);
          break;
        case 'map':
          if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'number')) bad(`'${where}' must be an object of pattern -> number`);
          break;
      }
      setPath(dst, f.key, structuredClone(v));
    }
    if (sec.key) out[sec.key] = dst;
  }
  return out;
}

/** Which preset (id) produced this recipe, or null. */
export function presetOf(recipe, hasData) {
  for (const p of PRESETS) {
    const r = p.build(hasData);
    if (r && same(r, recipe)) return p.id;
  }
  return null;
}

// ------------------------------------------------------------------ form

/**
 * Build the advanced form into `root`. `state.recipe` is the source of
 * truth; the form writes into it and calls `onChange()` after each edit.
 * Returns {refresh(hasData)} to re-read the recipe into the controls.
 */
export function buildForm(root, state, onChange) {
  const controls = []; // {sec, f, el, wrap, sectionBox, enable}
  const sectionBoxes = [];
  let uid = 0;
  const id = (s) => `adv-${s}-${++uid}`;

  for (const sec of SECTIONS) {
    const fs = h('fieldset', { className: 'adv-section' });
    const legend = h('legend');
    let enable = null;
    if (sec.optional) {
      const eid = id(`${sec.key}-on`);
      enable = h('input', { type: 'checkbox', id: eid, dataset: { section: sec.key } });
      legend.append(h('span', { className: 'check' }, enable, h('label', { for: eid, text: sec.title })));
      enable.addEventListener('change', () => {
        if (enable.checked) state.recipe[sec.key] = state.recipe[sec.key] ?? sec.init();
        else delete state.recipe[sec.key];
        onChange('form');
      });
    } else {
      legend.textContent = sec.title;
    }
    fs.append(legend, h('p', { className: 'help section-help', text: sec.help }));
    const body = h('div', { className: 'adv-fields' });
    fs.append(body);
    sectionBoxes.push({ sec, fs, body, enable });

    for (const f of sec.fields) {
      const cid = id(`${sec.key ?? 'out'}-${f.key.replace(/\W/g, '')}`);
      const hid = `${cid}-help`;
      let el;
      const common = { id: cid, 'aria-describedby': hid, dataset: { field: `${sec.key ?? ''}.${f.key}` } };
      switch (f.type) {
        case 'select':
          el = h('select', common, f.options.map((o) => h('option', { value: o.value, text: o.label })));
          break;
        case 'bool':
          el = h('input', { ...common, type: 'checkbox' });
          break;
        case 'number':
          el = h('input', { ...common, type: 'number', inputmode: f.integer ? 'numeric' : 'decimal', min: f.min, max: f.max, step: f.step ?? 'any' });
          break;
        case 'text': {
          const list = f.suggestions ? h('datalist', { id: `${cid}-list` }, f.suggestions.map((s) => h('option', { value: s }))) : null;
          el = h('input', { ...common, type: 'text', list: list ? `${cid}-list` : undefined, autocomplete: 'off', spellcheck: 'false' });
          if (list) body.append(list);
          break;
        }
        case 'list':
        case 'map':
          el = h('textarea', { ...common, rows: 2, spellcheck: 'false', placeholder: f.type === "map" ? (f.integerValues ? "*conv1* = 8" : "*conv1* = 0.3") : "FULLY_CONNECTED" });
          break;
      }
      const label = h('label', { for: cid, text: f.label });
      const help = h('p', { className: 'help', id: hid, text: f.help });
      const wrap = h('div', { className: `field field-${f.type}` });
      if (f.type === 'bool') wrap.append(h('span', { className: 'check' }, el, label), help);
      else wrap.append(label, el, help);
      body.append(wrap);
      const ctl = { sec, f, el, wrap, help, hint: null };
      controls.push(ctl);
      const evt = f.type === 'bool' || f.type === 'select' ? 'change' : 'change';
      el.addEventListener(evt, () => {
        const target = sec.key ? state.recipe[sec.key] : state.recipe;
        if (!target) return;
        let v;
        const err = (m) => {
          el.setAttribute('aria-invalid', 'true');
          ctl.help.textContent = `${m} — ${f.help}`;
        };
        el.removeAttribute('aria-invalid');
        ctl.help.textContent = f.help;
        switch (f.type) {
          case 'select':
            v = el.value;
            break;
          case 'bool':
            v = el.checked;
            break;
          case 'number':
            if (el.value.trim() === '') v = f.required ? f.default : undefined;
            else {
              v = Number(el.value);
              if (!Number.isFinite(v) || (f.integer && !Number.isInteger(v))) return err(`not ${f.integer ? 'an integer' : 'a number'}`);
            }
            break;
          case 'text':
            v = el.value.trim() || undefined;
            break;
          case 'list':
            v = el.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
            break;
          case 'map': {
            v = {};
            for (const line of el.value.split('\n').map((s) => s.trim()).filter(Boolean)) {
              const m = /^(.+?)\s*[=:]\s*([-+.\deE]+)$/.exec(line);
              if (!m || !Number.isFinite(Number(m[2]))) return err(`"${line}" is not "pattern = number"`);
              v[m[1].trim()] = Number(m[2]);
            }
            break;
          }
        }
        if (v === undefined || (!f.required && same(v, f.default))) setPath(target, f.key, undefined);
        else setPath(target, f.key, v);
        onChange('form');
      });
    }
    root.append(fs);
  }

  function refresh(hasData) {
    for (const { sec, fs, body, enable } of sectionBoxes) {
      const on = !sec.key || !!state.recipe[sec.key];
      if (enable) enable.checked = on;
      body.hidden = !on;
      fs.classList.toggle('off', !on);
    }
    for (const ctl of controls) {
      const { sec, f, el, wrap } = ctl;
      const target = sec.key ? state.recipe[sec.key] : state.recipe;
      if (!target) continue;
      const v = getPath(target, f.key) ?? f.default;
      wrap.hidden = f.show ? !f.show(target, state.recipe) : false;
      switch (f.type) {
        case 'select':
          el.value = v;
          for (const o of el.options) {
            const opt = f.options.find((x) => x.value === o.value);
            o.disabled = !!opt?.needsData && !hasData;
            o.textContent = opt.label + (o.disabled ? ' — needs data' : '');
          }
          break;
        case 'bool':
          el.checked = !!v;
          el.disabled = !!f.needsData && !hasData && !v;
          break;
        case 'number':
          el.value = v === null || v === undefined ? '' : String(v);
          break;
        case 'text':
          el.value = v ?? '';
          break;
        case 'list':
          el.value = (v ?? []).join('\n');
          break;
        case 'map':
          el.value = Object.entries(v ?? {}).map(([k, x]) => `${k} = ${x}`).join('\n');
          break;
      }
      const needs = f.needsData && !hasData;
      ctl.help.textContent = f.help + (needs && f.type === 'bool' ? ' (Needs calibration data: add samples under Data.)' : '');
    }
  }

  return { refresh };
}
