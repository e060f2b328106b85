// The `modelpress` command line: inspect, run, optimize.
// Exit codes: 0 success, 1 bad input (unreadable/invalid file, mismatched
// input), 2 bad usage (unknown command or option, missing argument).

import { parseArgs } from 'node:util';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ModelpressError } from './errors.mjs';
import { readNpy, readNpz, writeNpy } from './npy.mjs';
import { inflateRawSync } from 'node:zlib';

const PKG = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

class UsageError extends Error {
  constructor(message, command) {
    super(message);
    this.command = command;
  }
}

/** An input problem reported as `error: <message>` with exit code 1. */
class InputError extends Error {}

/** Calibration data that does not fit the model (reported after the recipe's own checks). */
class CalibrationMismatch extends InputError {}

const HELP = {
  main: `modelpress ${PKG.version}: inspect, run and optimize TFLite models (nothing is uploaded anywhere)

usage: modelpress <command> [options]

commands:
  inspect MODEL [--json]                             show what is in a model
  run MODEL --input X.npy [--input ...] --output-dir DIR
                                                     run a model on .npy inputs
  optimize MODEL -o OUT [--recipe R.json]            write an optimized model

options:
  -h, --help       show this help (or: modelpress <command> --help)
  -V, --version    print the version

exit codes: 0 success, 1 bad input (missing, invalid or mismatched file), 2 bad usage
`,
  inspect: `usage: modelpress inspect MODEL [--json]

Show a model's format, size (and gzip -9 size), inputs and outputs (name,
shape, dtype, quantization), op histogram, parameter count, weight dtypes,
subgraphs, signatures, metadata, per-layer table, and whether the modelpress
engine can run it (or which ops it cannot).

options:
  --json       print the summary object as JSON instead of tables
  -h, --help   show this help
`,
  run: `usage: modelpress run MODEL --input X.npy [--input X2.npy ...] --output-dir DIR [--requant exact|fast]

Run a model on NumPy .npy inputs (one --input per model input, in model input
order) and write DIR/output_<i>.npy for every output (DIR is created).
A float64 array given for a float32 input is converted; any other dtype or
shape mismatch is an error. A leading batch N > 1 for a model with batch 1
runs the model once per item and stacks the outputs.

options:
  -i, --input FILE        a .npy input (repeat for several inputs)
  -d, --output-dir DIR    where to write output_<i>.npy
      --requant MODE      integer arithmetic of int8 conv / depthwise / fully
                          connected layers: exact (default; TFLite's reference
                          kernels, bit for bit) or fast (single-precision
                          requantization as XNNPACK does; may differ by one
                          quantization step)
  -h, --help              show this help
`,
  optimize: `usage: modelpress optimize MODEL -o OUT [--recipe R.json] [--quantize MODE [--io TYPE] [--calib X.npy|X.npz]] [--report R.json]

Write an optimized copy of MODEL to OUT. Without a recipe (or with {}) this is
the identity transform: the model is read and written back. OUT is written to
a temporary file in the same folder and renamed, so a failure never leaves a
partial file; OUT must differ from MODEL.

options:
  -o, --output FILE    the .tflite file to write
  -r, --recipe FILE    a JSON recipe (default: {}); the options below override it
  -q, --quantize MODE  post-training quantization: dynamic, float16, int8, int16x8
      --io TYPE        model input/output type of int8 models: float (default), int8, uint8
  -c, --calib FILE     calibration samples (int8, int16x8): a .npy whose first axis
                       is the sample (N, ...input shape without its batch of 1), or a
                       .npz with one such array per model input (named like the inputs,
                       or arr_0, arr_1, ... in input order)
                       or 'random' (32 random samples in [-1, 1]: a last resort; the
                       report warns loudly)
      --calib-method M activation ranges from calibration: minmax (default),
                       percentile, mse
      --percentile P   percentile for --calib-method percentile (default 99.99)
      --int8-only      fail (listing them) if some ops have no integer kernel,
                       instead of leaving them float between DEQUANTIZE/QUANTIZE
      --skip PATTERN   keep layers float: an op type (e.g. FULLY_CONNECTED) or a
                       glob on tensor names (e.g. '*fc1*'); repeatable
      --prune S        prune to sparsity S (fraction of zeros, e.g. 0.5)
      --prune-pattern P  unstructured (default), N:M (e.g. 2:4), block:RxC
      --prune-scope S  layer (top-k per tensor, default) or global (one threshold)
      --prune-method M magnitude (default) or obs (data-aware; needs --calib)
      --cluster K      cluster weights to K values per tensor
      --cluster-init I kmeans++ (default), linear, density, random
      --cluster-per-channel  K values per output channel instead of per tensor
      --preserve-sparsity    zeros stay zero (not counted in K)
      --sparse-format  store pruned weights in TFLite's sparse format (+ DENSIFY)
      --report FILE    write the optimization report (sizes, per-layer table,
                       fidelity) as JSON
  -h, --help           show this help

Order: prune -> cluster -> quantize. Every flag maps to a recipe field (see README).
`,
};

const OPTIONS = {
  inspect: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  run: {
    input: { type: 'string', short: 'i', multiple: true },
    'output-dir': { type: 'string', short: 'd' },
    requant: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  optimize: {
    output: { type: 'string', short: 'o' },
    recipe: { type: 'string', short: 'r' },
    quantize: { type: 'string', short: 'q' },
    io: { type: 'string' },
    calib: { type: 'string', short: 'c' },
    'calib-method': { type: 'string' },
    percentile: { type: 'string' },
    'int8-only': { type: 'boolean' },
    prune: { type: 'string' },
    'prune-pattern': { type: 'string' },
    'prune-scope': { type: 'string' },
    'prune-method': { type: 'string' },
    cluster: { type: 'string' },
    'cluster-init': { type: 'string' },
    'cluster-per-channel': { type: 'boolean' },
    'preserve-sparsity': { type: 'boolean' },
    'sparse-format': { type: 'boolean' },
    skip: { type: 'string', multiple: true },
    report: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
};

function parse(command, args) {
  try {
    return parseArgs({ args, options: OPTIONS[command], allowPositionals: true, strict: true });
  } catch (e) {
    if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      const m = /option '([^']+)'/i.exec(e.message);
      const name = m && (/--[\w-]+/.exec(m[1])?.[0] ?? m[1]);
      let msg = e.message.split('. ')[0];
      if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && name) msg = `unknown option '${name}'`;
      else if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && name) {
        msg = /argument missing/.test(e.message) ? `option '${name}' needs a value` : `option '${name}' takes no value`;
      }
      throw new UsageError(msg, command);
    }
    throw e;
  }
}

function onePositional(command, positionals, what = 'MODEL') {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`, command);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, command);
  return positionals[0];
}

async function readInputFile(file, what) {
  try {
    const st = await fsp.stat(file);
    if (st.isDirectory()) throw new InputError(`${file}: is a directory, not a ${what}`);
    return await fsp.readFile(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (e?.code === 'ENOENT') throw new InputError(`${file}: no such file`);
    if (e?.code === 'EACCES') throw new InputError(`${file}: permission denied`);
    throw new InputError(`${file}: cannot read (${e?.message ?? e})`);
  }
}

let nodeApi;
async function api() {
  nodeApi ??= await import('./node.mjs');
  return nodeApi;
}

async function loadModelFile(file) {
  const bytes = await readInputFile(file, 'model file');
  const { loadModel } = await api();
  try {
    return loadModel(bytes);
  } catch (e) {
    if (e instanceof ModelpressError && e.code !== 'NOT_BUILT' && e.code !== 'INTERNAL') {
      throw new InputError(`${file}: ${e.message}`);
    }
    throw e;
  }
}

// ---------------------------------------------------------------- formatting

const num = (n) => Number(n).toLocaleString('en-US');
const shapeStr = (s) => `[${s.join(',')}]`;

function shownShape(t) {
  const sig = t.shape_signature;
  return sig && sig.length === t.shape.length ? sig : t.shape;
}

function fmtFloat(x) {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
}

function quantStr(q) {
  if (!q) return '-';
  if (q.scale.length === 1) return `scale ${fmtFloat(q.scale[0])}, zero point ${q.zero_point[0] ?? 0}`;
  const zps = [...new Set(q.zero_point)];
  const zp = zps.length === 1 ? `zero point ${zps[0]}` : 'per-channel zero points';
  return `per-channel on axis ${q.quantized_dimension} (${q.scale.length} scales, ${zp})`;
}

function table(header, rows, rightAlign = []) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, k) => Math.max(...all.map((r) => r[k].length)));
  return all
    .map((r) =>
      r
        .map((c, k) => (k === r.length - 1 && !rightAlign.includes(k) ? c : rightAlign.includes(k) ? c.padStart(widths[k]) : c.padEnd(widths[k])))
        .join('  ')
        .trimEnd(),
    )
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Human-readable report of a summary object. */
export function formatSummary(s, title) {
  const out = [];
  const kv = [];
  kv.push(['format', `${s.format} (schema version ${s.schema_version})`]);
  if (s.description) kv.push(['description', s.description]);
  const pct = s.bytes ? ` (${((100 * s.gzip_bytes) / s.bytes).toFixed(1)}%)` : '';
  kv.push(['size', `${num(s.bytes)} bytes; gzip -9: ${num(s.gzip_bytes)} bytes${pct}`]);
  kv.push(['parameters', num(s.parameters)]);
  const wd = Object.entries(s.weight_dtypes);
  kv.push(['weights', wd.length ? wd.map(([d, n]) => `${d}: ${num(n)} (${num(s.weight_bytes[d] ?? 0)} bytes)`).join('; ') : 'none']);
  kv.push([
    'subgraphs',
    `${s.subgraphs.length}: ` + s.subgraphs.map((g) => `#${g.index}${g.name ? ` ${g.name}` : ''} (${num(g.ops)} ops, ${num(g.tensors)} tensors)`).join('; '),
  ]);
  kv.push([
    'signatures',
    s.signatures.length
      ? s.signatures.map((g) => `${g.key} -> subgraph ${g.subgraph} (in: ${g.inputs.join(', ') || '-'}; out: ${g.outputs.join(', ') || '-'})`).join('; ')
      : 'none',
  ]);
  kv.push(['metadata', s.metadata.length ? s.metadata.join(', ') : 'none']);
  kv.push(['runnable', s.runnable ? 'yes' : `no: ${s.unsupported.length} op${s.unsupported.length === 1 ? '' : 's'} not supported by the engine`]);
  const w = Math.max(...kv.map(([k]) => k.length));
  out.push(title);
  for (const [k, v] of kv) out.push(`  ${k.padEnd(w)}  ${v}`);
  if (!s.runnable) for (const u of s.unsupported) out.push(`  ${''.padEnd(w)}    ${u}`);

  const io = (ts) => table(['#', 'name', 'shape', 'dtype', 'quantization'], ts.map((t, i) => [i, t.name, shapeStr(shownShape(t)), t.dtype, quantStr(t.quantization)]));
  out.push('', `inputs (${s.inputs.length})`, io(s.inputs));
  out.push('', `outputs (${s.outputs.length})`, io(s.outputs));

  const hist = Object.entries(s.op_histogram).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = hist.reduce((a, [, n]) => a + n, 0);
  out.push('', `ops (${num(total)} in all subgraphs, ${hist.length} kinds)`);
  if (hist.length) out.push(table(['op', 'count'], hist.map(([op, n]) => [op, num(n)]), [1]));

  out.push('', `layers of subgraph 0 (${s.layers.length})`);
  if (s.layers.length) {
    out.push(
      table(
        ['#', 'op', 'params', 'weight dtype', 'weight shape', 'weight'],
        s.layers.map((l) => [
          l.index,
          l.op,
          num(l.params),
          l.weight ? l.weight.dtype + (l.weight.per_channel ? ' per-channel' : '') + (l.weight.sparse ? ' sparse' : '') : '-',
          l.weight ? shapeStr(l.weight.shape) : '-',
          l.weight ? l.weight.name : '-',
        ]),
        [0, 2],
      ),
    );
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- commands

async function cmdInspect(args, io) {
  const { values, positionals } = parse('inspect', args);
  if (values.help) { io.out(HELP.inspect); return 0; }
  const file = onePositional('inspect', positionals);
  const model = await loadModelFile(file);
  try {
    const s = model.summary();
    io.out(values.json ? JSON.stringify(s, null, 2) + '\n' : formatSummary(s, file));
  } finally {
    model.dispose();
  }
  return 0;
}

async function cmdRun(args, io) {
  const { values, positionals } = parse('run', args);
  if (values.help) { io.out(HELP.run); return 0; }
  const file = onePositional('run', positionals);
  const inputs = values.input ?? [];
  if (inputs.length === 0) throw new UsageError('missing --input (one .npy per model input)', 'run');
  const outDir = values['output-dir'];
  if (!outDir) throw new UsageError('missing --output-dir', 'run');
  const requant = values.requant ?? 'exact';
  if (!['exact', 'fast'].includes(requant)) throw new UsageError(`--requant must be exact or fast, got '${requant}'`, 'run');

  const model = await loadModelFile(file);
  try {
    const infos = model.inputInfo();
    if (inputs.length !== infos.length) {
      const names = infos.map((i) => `'${i.name}' ${i.dtype} ${shapeStr(i.shape)}`).join(', ');
      throw new InputError(`the model has ${infos.length} input${infos.length === 1 ? '' : 's'} (${names}), got ${inputs.length} --input`);
    }
    const arrays = [];
    for (const f of inputs) {
      const bytes = await readInputFile(f, '.npy file');
      try {
        arrays.push(readNpy(bytes));
      } catch (e) {
        throw new InputError(`${f}: ${e.message}`);
      }
    }
    const { prepareInputs } = await api();
    arrays.forEach((a, i) => {
      try {
        prepareInputs([infos[i]], [a]);
      } catch (e) {
        throw new InputError(`${inputs[i]}: ${e.message.replace(/^input 0 /, `input ${i} `)}`);
      }
    });
    let outputs;
    try {
      outputs = model.run(arrays, { requantization: requant });
    } catch (e) {
      if (e instanceof ModelpressError && e.code !== 'INTERNAL') throw new InputError(`${file}: ${e.message}`);
      throw e;
    }
    try {
      await fsp.mkdir(outDir, { recursive: true });
    } catch (e) {
      throw new InputError(`--output-dir ${outDir}: cannot create (${e.code ?? e.message})`);
    }
    for (const [i, o] of outputs.entries()) {
      const p = path.join(outDir, `output_${i}.npy`);
      await fsp.writeFile(p, writeNpy({ data: o.data, shape: o.shape, dtype: o.dtype }));
      io.out(`${p}  '${o.name}'  ${o.dtype} ${shapeStr(o.shape)}\n`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

function sameFile(a, b) {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

const QUANT_MODES = ['dynamic', 'float16', 'int8', 'int16x8'];
const IO_TYPES = ['float', 'int8', 'uint8'];
const pyShape = (s) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/**
 * Calibration samples from a .npy / .npz: per model input an array (N, ...rest)
 * where the model input is (1, ...rest) (or exactly the model input shape: one sample).
 * @returns {{data, shape}[][]} N sets of model inputs
 */
async function readCalibration(file, infos) {
  const bytes = await readInputFile(file, 'calibration file');
  let arrays;
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
      const npz = readNpz(bytes, { inflateRaw: (b) => inflateRawSync(b) });
      arrays = infos.map((info, i) => {
        const a = npz.get(info.name) ?? npz.get(`arr_${i}`) ?? (infos.length === 1 && npz.size === 1 ? [...npz.values()][0] : undefined);
        if (!a) {
          throw new CalibrationMismatch(`${file}: no array for input ${i} '${info.name}' (the .npz has: ${[...npz.keys()].join(', ') || 'nothing'})`);
        }
        return a;
      });
    } else {
      const a = readNpy(bytes);
      if (infos.length !== 1) {
        throw new CalibrationMismatch(`${file}: the model has ${infos.length} inputs; give a .npz with one array per input (${infos.map((i) => i.name).join(', ')})`);
      }
      arrays = [a];
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: ${e.message}`);
  }
  let n;
  const perInput = arrays.map((a, i) => {
    const info = infos[i];
    const want = info.shape;
    const rest = want.slice(1);
    const fits = (got, exp) => got.length === exp.length && got.every((d, k) => exp[k] < 0 || exp[k] === d);
    let count;
    let itemShape;
    if (a.shape.length === want.length && (want[0] === 1 || want[0] < 0) && fits(a.shape.slice(1), rest)) {
      count = a.shape[0];
      itemShape = [1, ...a.shape.slice(1)];
    } else if (fits(a.shape, want)) {
      count = 1;
      itemShape = a.shape;
    } else {
      throw new CalibrationMismatch(
        `${file}: calibration data for input ${i} '${info.name}' has shape ${pyShape(a.shape)}; expected (N, ${rest.join(', ')}) for the model input ${pyShape(want)}`,
      );
    }
    if (count === 0) throw new CalibrationMismatch(`${file}: no calibration samples for input ${i} '${info.name}'`);
    if (n !== undefined && n !== count) throw new CalibrationMismatch(`${file}: inputs have different sample counts (${n} and ${count})`);
    n = count;
    let data = a.data;
    let dtype = a.dtype;
    if (dtype === 'float64' && info.dtype === 'float32') {
      data = Float32Array.from(data);
      dtype = 'float32';
    }
    if (dtype !== info.dtype && !(info.dtype === 'bool' && dtype === 'uint8')) {
      throw new CalibrationMismatch(`${file}: calibration data for input ${i} '${info.name}' is ${a.dtype}; the model input is ${info.dtype}`);
    }
    const size = itemShape.reduce((x, y) => x * y, 1);
    return { data, dtype, itemShape, size };
  });
  return Array.from({ length: n }, (_, k) => perInput.map((p) => ({ data: p.data.subarray(k * p.size, (k + 1) * p.size), shape: p.itemShape, dtype: p.dtype })));
}

/** Write `bytes` to `out` through a temporary file in the same folder and a rename. */
async function writeAtomic(out, bytes) {
  const dir = path.dirname(path.resolve(out));
  const tmp = path.join(dir, `.${path.basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, out);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new InputError(`${out}: cannot write (${e.code ?? e.message})`);
  }
}

function checkOutputPath(flag, out, file) {
  if (sameFile(file, out)) throw new InputError(`the output ${out} is the input model; choose another ${flag} path`);
  const dir = path.dirname(path.resolve(out));
  try {
    if (!statSync(dir).isDirectory()) throw new Error();
  } catch {
    throw new InputError(`${flag} ${out}: the folder ${path.dirname(out)} does not exist`);
  }
  try {
    if (statSync(out).isDirectory()) throw new InputError(`${flag} ${out}: is a directory`);
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
}

const CALIB_METHODS = ['minmax', 'percentile', 'mse'];

/** `n` deterministic pseudo-random input sets in [-1, 1] for float inputs. */
function randomCalibration(infos, n) {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return (seed / 0x100000000) * 2 - 1;
  };
  const sets = [];
  for (let k = 0; k < n; k++) {
    sets.push(infos.map((info) => {
      if (info.dtype !== 'float32') throw new InputError(`--calib random: input '${info.name}' is ${info.dtype}; only float32 inputs can be drawn at random`);
      const shape = info.shape.map((d) => (d < 0 ? 1 : d));
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) data[i] = rand();
      return { data, shape };
    }));
  }
  return sets;
}

/** A progress bar on stderr when it is a terminal (nothing otherwise). */
function progressBar(io) {
  if (!process.stderr.isTTY || io.err !== undefined && io.quiet) return undefined;
  let last = '';
  return (phase, fraction) => {
    const width = 30;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const line = `\r${phase.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}%`;
    if (line !== last) {
      process.stderr.write(line + (fraction >= 1 ? '\n' : ''));
      last = line;
    }
  };
}

async function cmdOptimize(args, io) {
  const { values, positionals } = parse('optimize', args);
  if (values.help) { io.out(HELP.optimize); return 0; }
  const file = onePositional('optimize', positionals);
  const out = values.output;
  if (!out) throw new UsageError('missing -o OUT', 'optimize');
  if (values.quantize !== undefined && !QUANT_MODES.includes(values.quantize)) {
    throw new UsageError(`unknown --quantize mode '${values.quantize}' (modes: ${QUANT_MODES.join(', ')})`, 'optimize');
  }
  if (values.io !== undefined && !IO_TYPES.includes(values.io)) {
    throw new UsageError(`unknown --io type '${values.io}' (types: ${IO_TYPES.join(', ')})`, 'optimize');
  }
  checkOutputPath('-o', out, file);
  if (values.report !== undefined) {
    checkOutputPath('--report', values.report, file);
    if (sameFile(values.report, out)) throw new UsageError('--report and -o name the same file', 'optimize');
  }

  let recipe = {};
  if (values.recipe !== undefined) {
    const text = (await readInputFile(values.recipe, 'recipe file')).toString('utf8');
    try {
      recipe = JSON.parse(text);
    } catch (e) {
      throw new InputError(`${values.recipe}: not valid JSON (${e.message})`);
    }
    if (!recipe || typeof recipe !== 'object' || Array.isArray(recipe)) {
      throw new InputError(`${values.recipe}: a recipe must be a JSON object`);
    }
  }
  if (values.quantize !== undefined) {
    recipe = { ...recipe, quantize: { ...(recipe.quantize ?? {}), mode: values.quantize } };
  }
  if (values.io !== undefined) {
    if (!recipe.quantize) throw new UsageError('--io needs --quantize (or a recipe with "quantize")', 'optimize');
    recipe = { ...recipe, quantize: { ...recipe.quantize, io: values.io } };
  }
  const needQuant = (flag) => {
    if (!recipe.quantize) throw new UsageError(`${flag} needs --quantize (or a recipe with "quantize")`, 'optimize');
  };
  if (values['calib-method'] !== undefined || values.percentile !== undefined) {
    needQuant(values['calib-method'] !== undefined ? '--calib-method' : '--percentile');
    const method = values['calib-method'] ?? recipe.quantize.calibration?.method ?? 'minmax';
    if (!CALIB_METHODS.includes(method)) {
      throw new UsageError(`unknown --calib-method '${method}' (methods: ${CALIB_METHODS.join(', ')})`, 'optimize');
    }
    const calibration = { ...(recipe.quantize.calibration ?? {}), method };
    if (values.percentile !== undefined) {
      const p = Number(values.percentile);
      if (!(p > 0 && p <= 100)) throw new UsageError(`--percentile must be in (0, 100], got '${values.percentile}'`, 'optimize');
      calibration.percentile = p;
    }
    recipe = { ...recipe, quantize: { ...recipe.quantize, calibration } };
  }
  const pruneFlags = ['prune-pattern', 'prune-scope', 'prune-method'];
  if (values.prune !== undefined || pruneFlags.some((f) => values[f] !== undefined)) {
    const prune = { ...(recipe.prune ?? {}) };
    if (values.prune !== undefined) {
      const sp = Number(values.prune);
      if (!(sp >= 0 && sp < 1)) throw new UsageError(`--prune must be a fraction of zeros in [0, 1), got '${values.prune}'`, 'optimize');
      prune.sparsity = sp;
    }
    if (values['prune-pattern'] !== undefined) prune.pattern = values['prune-pattern'];
    if (values['prune-scope'] !== undefined) {
      if (!['layer', 'global'].includes(values['prune-scope'])) throw new UsageError(`unknown --prune-scope '${values['prune-scope']}' (layer, global)`, 'optimize');
      prune.scope = values['prune-scope'];
    }
    if (values['prune-method'] !== undefined) {
      if (!['magnitude', 'obs'].includes(values['prune-method'])) throw new UsageError(`unknown --prune-method '${values['prune-method']}' (magnitude, obs)`, 'optimize');
      prune.method = values['prune-method'];
    }
    recipe = { ...recipe, prune };
  }
  const clusterFlags = ['cluster-init', 'cluster-per-channel', 'preserve-sparsity'];
  if (values.cluster !== undefined || clusterFlags.some((f) => values[f] !== undefined)) {
    const cluster = { ...(recipe.cluster ?? {}) };
    if (values.cluster !== undefined) {
      const k = Number(values.cluster);
      if (!Number.isInteger(k) || k < 2) throw new UsageError(`--cluster must be an integer >= 2, got '${values.cluster}'`, 'optimize');
      cluster.clusters = k;
    }
    if (cluster.clusters === undefined) throw new UsageError('--cluster-* flags need --cluster K (or a recipe with "cluster")', 'optimize');
    if (values['cluster-init'] !== undefined) {
      if (!['kmeans++', 'linear', 'density', 'random'].includes(values['cluster-init'])) {
        throw new UsageError(`unknown --cluster-init '${values['cluster-init']}' (kmeans++, linear, density, random)`, 'optimize');
      }
      cluster.init = values['cluster-init'];
    }
    if (values['cluster-per-channel']) cluster.perChannel = true;
    if (values['preserve-sparsity']) cluster.preserveSparsity = true;
    recipe = { ...recipe, cluster };
  }
  if (values['sparse-format']) recipe = { ...recipe, sparseFormat: true };
  if (values['int8-only']) {
    needQuant('--int8-only');
    recipe = { ...recipe, quantize: { ...recipe.quantize, int8Only: true } };
  }
  if (values.skip !== undefined) {
    needQuant('--skip');
    recipe = { ...recipe, quantize: { ...recipe.quantize, skip: [...(recipe.quantize.skip ?? []), ...values.skip] } };
  }

  const model = await loadModelFile(file);
  let bytes;
  let report = null;
  let randomCalib = false;
  try {
    let calibration = [];
    if (values.calib === 'random') {
      calibration = randomCalibration(model.inputInfo(), 32);
      randomCalib = true;
    } else if (values.calib !== undefined) {
      try {
        calibration = await readCalibration(values.calib, model.inputInfo());
      } catch (e) {
        if (!(e instanceof CalibrationMismatch)) throw e;
        // The recipe's own refusal (e.g. an already quantized model) explains more
        // than a calibration mismatch: ask the core first, then report the mismatch.
        try {
          model.optimizeWithReport(recipe, []);
        } catch (e2) {
          if (e2 instanceof ModelpressError && e2.code !== 'INTERNAL' && !/calibrat/i.test(e2.message)) {
            throw new InputError(`${file}: ${e2.message}`);
          }
        }
        throw e;
      }
    }
    const withReport = values.report !== undefined || calibration.length > 0 || recipe.quantize !== undefined;
    try {
      if (withReport) ({ bytes, report } = model.optimizeWithReport(recipe, calibration, progressBar(io)));
      else bytes = model.optimize(recipe);
    } catch (e) {
      if (e instanceof ModelpressError && e.code !== 'INTERNAL') {
        const who = values.recipe && e.code === 'INVALID_ARGUMENT' && /^invalid argument: recipe/.test(e.message) ? values.recipe : file;
        throw new InputError(`${who}: ${e.message}`);
      }
      throw e;
    }
  } finally {
    model.dispose();
  }

  if (randomCalib && report) {
    report.warnings = [
      'CALIBRATED ON RANDOM DATA (--calib random): activation ranges are guesses, accuracy may be poor; give real samples with --calib X.npy',
      ...(report.warnings ?? []),
    ];
  }
  await writeAtomic(out, bytes);
  if (values.report !== undefined) {
    try {
      await writeAtomic(values.report, Buffer.from(JSON.stringify(report, null, 2) + '\n'));
    } catch (e) {
      await fsp.rm(out, { force: true });
      throw e;
    }
  }
  const inBytes = statSync(file).size;
  let line = `wrote ${out}: ${num(bytes.length)} bytes (input ${num(inBytes)} bytes)`;
  if (report?.input?.gzipBytes !== undefined && report?.output?.gzipBytes !== undefined) {
    line += `; gzip -9: ${num(report.input.gzipBytes)} -> ${num(report.output.gzipBytes)} bytes`;
  }
  io.out(line + '\n');
  if (report?.floatOps?.length) io.err(`note: ${report.floatOps.length} op${report.floatOps.length === 1 ? '' : 's'} left float: ${report.floatOps.join('; ')}\n`);
  for (const w of report?.warnings ?? []) io.err(`warning: ${w}\n`);
  if (values.report !== undefined) io.out(`wrote ${values.report} (report)\n`);
  return 0;
}

const COMMANDS = { inspect: cmdInspect, run: cmdRun, optimize: cmdOptimize };

async function versionLine() {
  let core = '';
  try {
    const { buildInfo } = await api();
    const b = buildInfo();
    core = ` (core ${b.version}, ${b.build} wasm)`;
  } catch {
    core = ' (wasm build missing: run `npm run build`)';
  }
  return `modelpress ${PKG.version}${core}\n`;
}

const oneLine = (s) => String(s).replace(/\s*\n\s*/g, '; ').trim();

/**
 * Run the CLI. `io` defaults to the process streams.
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }) {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined) {
      io.err(HELP.main);
      return 2;
    }
    if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
      if (cmd === 'help' && rest[0] && HELP[rest[0]] && rest[0] !== 'main') io.out(HELP[rest[0]]);
      else io.out(HELP.main);
      return 0;
    }
    if (cmd === '-V' || cmd === '--version') {
      io.out(await versionLine());
      return 0;
    }
    const fn = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (!fn) {
      throw new UsageError(cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}' (commands: inspect, run, optimize)`);
    }
    return await fn(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${oneLine(e.message)}\n`);
      io.err(e.command ? `usage: ${HELP[e.command].split('\n')[0].replace(/^usage: /, '')}\nrun 'modelpress ${e.command} --help' for details\n` : "run 'modelpress --help' for usage\n");
      return 2;
    }
    if (e instanceof InputError || e instanceof ModelpressError) {
      io.err(`error: ${oneLine(e.message)}\n`);
      if (process.env.MODELPRESS_DEBUG && e.stack) io.err(e.stack + '\n');
      return 1;
    }
    io.err(`error: internal: ${oneLine(e?.message ?? e)}\n`);
    if (process.env.MODELPRESS_DEBUG && e?.stack) io.err(e.stack + '\n');
    return 1;
  }
}
