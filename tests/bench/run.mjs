#!/usr/bin/env node
// Browser latency benchmark (issue 5): modelpress vs LiteRT.js, tfjs-tflite
// and onnxruntime-web, in one headless Chromium run. A benchmark that prints
// figures, not a test: it exits 0 whatever the numbers are (non-zero only if
// it cannot run at all).
//
//   node tests/bench/run.mjs [options]          (npm run bench -- [options])
//
// Needs: pkg/web (npm run build), tests/bench/node_modules
// (cd tests/bench && npm ci), /usr/bin/chromium.
//
// Per runtime, one page (same browser): init (wasm fetch + compile +
// instantiate), then per model: load (bytes in memory -> model ready), first
// run, W warm-up runs, N timed runs (median, p90). See page/bench.mjs for what
// one timed run includes. The modelpress-*-fast runtimes are the same wasm
// builds with WasmModel.setRequantization('fast') after each load (XNNPACK-
// style single-precision requantization of int8 conv / depthwise / FC).

import { promises as fsp, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeTflite, fixBatch } from './lib/tflite.mjs';
import { startServer } from './lib/server.mjs';
import { CHROMIUM_ARGS } from './lib/devpage.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '../..');

const HELP = `usage: node tests/bench/run.mjs [options]

  --runs N          timed runs per model and runtime (default 50)
  --warmup N        warm-up runs before timing (default 10)
  --rounds R        split the timed runs into R rounds, the runtimes taking
                    turns (in rotating order) between rounds, so that load
                    from other processes is shared out fairly (default 5)
  --threads N       threads for the peers that have them and for the
                    modelpress-threads* runtimes (default 1; those then use
                    2; the other modelpress builds stay at 1)
  --throttle R      CPU slow-down via CDP Emulation.setCPUThrottlingRate
                    (e.g. 4 for phone-like numbers; default 1 = off)
  --models LIST     comma-separated model ids, or "all" (default: the
                    default set; --list shows them)
  --runtimes LIST   comma-separated runtime ids (default: all available;
                    modelpress-scalar, modelpress-simd128, modelpress-relaxed,
                    modelpress-simd128-fast, modelpress-relaxed-fast,
                    modelpress-threads, modelpress-threads-fast, litert,
                    litert-compat, tfjs-tflite, ort)
  --shared DIR      reference models folder (default ../shared/models
                    beside the repo, or $MODELPRESS_SHARED_MODELS)
  --fixtures DIR    project fixtures (default tests/fixtures/models)
  --pkg DIR         our wasm builds (default <repo>/pkg): web/ (simd128),
                    and web-scalar/, web-relaxed/ when they exist
  --config FILE     JSON array of model entries replacing the built-in list:
                    {id, label, tflite, onnx?, range?: [lo, hi], default?}
                    (paths relative to the config file; "shared:x" and
                    "fixtures:x" prefixes allowed)
  --out DIR         where the JSON goes (default tests/bench/results)
  --no-json         do not write the JSON file
  --timeout S       give up on one model x runtime after S seconds
                    (default 180, times the throttle rate)
  --chromium PATH   browser binary (default /usr/bin/chromium)
  --list            print the models and runtimes and exit
  -h, --help        this text`;

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    throttle: { type: 'string', default: '1' },
    models: { type: 'string' },
    runtimes: { type: 'string' },
    shared: { type: 'string' },
    fixtures: { type: 'string' },
    pkg: { type: 'string' },
    config: { type: 'string' },
    out: { type: 'string' },
    'no-json': { type: 'boolean' },
    timeout: { type: 'string', default: '180' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

function intOpt(name, min) {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < min) {
    console.error(`error: --${name} must be a number >= ${min}`);
    process.exit(2);
  }
  return v;
}
const RUNS = Math.round(intOpt('runs', 1));
const WARMUP = Math.round(intOpt('warmup', 0));
const THREADS = Math.round(intOpt('threads', 1));
// The threaded modelpress build runs with --threads, and with 2 when that is 1
// (its point is the scaling; the single-thread builds stay at 1).
const MP_THREADS = Math.max(2, THREADS);
const ROUNDS = Math.min(RUNS, Math.round(intOpt('rounds', 1)));
const THROTTLE = intOpt('throttle', 1);
const TIMEOUT_MS = intOpt('timeout', 1) * 1000 * THROTTLE;
const SHARED = path.resolve(opt.shared ?? process.env.MODELPRESS_SHARED_MODELS ?? path.join(ROOT, '../shared/models'));
const FIXTURES = path.resolve(opt.fixtures ?? path.join(ROOT, 'tests/fixtures/models'));
const PKG = path.resolve(opt.pkg ?? path.join(ROOT, 'pkg'));

// ---- models ------------------------------------------------------------------

// range: the interval the deterministic random input is drawn from (integer
// inputs are quantized from it with the tensor's scale/zero point).
// onnx: the ONNX equivalent for onnxruntime-web (same network and weights,
// tf2onnx export or onnxruntime's own quantization of it), if one exists.
const BUILTIN_MODELS = [
  // ONNX twins of MobileNetV2-1.0 are made here (`npm run bench:onnx`: tf2onnx export of the same .tflite,
  // onnxruntime's own static QDQ quantization), as shared/models/onnx has none.
  { id: 'mobilenet_v2_100_float', label: 'MobileNetV2-1.0-224 float', tflite: 'shared:mobilenet_v2_100_float32.tflite', onnx: 'bench:mobilenet_v2_100_float32.onnx', range: [-1, 1], default: true },
  { id: 'mobilenet_v2_100_int8', label: 'MobileNetV2-1.0-224 int8 (float I/O)', tflite: 'shared:mobilenet_variants/mobilenet_v2_100_int8_floatio.tflite', onnx: 'bench:mobilenet_v2_100_qdq_u8s8_perchannel.onnx', onnxNote: 'ONNX: QDQ u8s8 per-channel, float I/O (npm run bench:onnx)', range: [-1, 1], default: true },
  // The only MobileNetV2 with an ONNX twin in shared/models/onnx: the 0.35 width.
  { id: 'mobilenet_v2_035_float', label: 'MobileNetV2-0.35-224 float', tflite: 'shared:mobilenet_v2_035_float32.tflite', onnx: 'shared:onnx/mobilenet_v2_035_float32.onnx', range: [-1, 1], default: true },
  { id: 'mobilenet_v2_035_int8', label: 'MobileNetV2-0.35-224 logits int8 (float I/O)', tflite: 'shared:mobilenet_variants/mobilenet_v2_035_logits_int8_floatio.tflite', range: [-1, 1], default: false },
  { id: 'digits_cnn_float', label: 'digits_cnn float', tflite: 'fixtures:digits_cnn_float32.tflite', onnx: 'shared:onnx/digits_cnn_float32.onnx', range: [0, 1], default: true },
  { id: 'digits_cnn_int8', label: 'digits_cnn int8 (int8 I/O)', tflite: 'fixtures:digits_cnn_int8.tflite', onnx: 'shared:onnx/digits_cnn_qdq_u8s8_perchannel.onnx', onnxNote: 'ONNX: QDQ u8s8 per-channel, float I/O', range: [0, 1], default: true },
  { id: 'ops_coverage_float', label: 'ops_coverage float', tflite: 'fixtures:ops_coverage_float32.tflite', range: [-1, 1], default: true },
  { id: 'ops_coverage_int8', label: 'ops_coverage int8 (float I/O)', tflite: 'fixtures:ops_coverage_int8.tflite', range: [-1, 1], default: true },
];

function resolveModelPath(p, base) {
  if (!p) return null;
  if (p.startsWith('shared:')) return path.join(SHARED, p.slice(7));
  if (p.startsWith('fixtures:')) return path.join(FIXTURES, p.slice(9));
  if (p.startsWith('bench:')) return path.join(BENCH, 'models', p.slice(6));
  return path.resolve(base, p);
}

function modelList() {
  let list = BUILTIN_MODELS;
  let base = ROOT;
  if (opt.config) {
    list = JSON.parse(readFileSync(opt.config, 'utf8'));
    base = path.dirname(path.resolve(opt.config));
    if (!Array.isArray(list)) throw new Error('--config: a JSON array of model entries');
  }
  list = list.map((m) => ({ default: true, range: [-1, 1], ...m, tflitePath: resolveModelPath(m.tflite, base), onnxPath: resolveModelPath(m.onnx, base) }));
  const sel = opt.models;
  if (!sel) return list.filter((m) => m.default);
  if (sel === 'all') return list;
  const ids = sel.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !list.some((m) => m.id === id));
  if (unknown.length) {
    console.error(`error: unknown model id(s): ${unknown.join(', ')} (known: ${list.map((m) => m.id).join(', ')})`);
    process.exit(2);
  }
  return ids.map((id) => list.find((m) => m.id === id));
}

// ---- runtimes ----------------------------------------------------------------

// requant: the requantization mode set after each load (default: the
// core's "exact", TFLite's reference arithmetic); "fast" = single-precision
// requantization as XNNPACK does (LiteRT's default CPU path).
const MP_BUILDS = [
  { dir: 'web-scalar', id: 'modelpress-scalar' },
  { dir: 'web', id: 'modelpress-simd128' },
  { dir: 'web', id: 'modelpress-simd128-fast', requant: 'fast' },
  { dir: 'web-relaxed', id: 'modelpress-relaxed' },
  { dir: 'web-relaxed', id: 'modelpress-relaxed-fast', requant: 'fast' },
  // The threaded build (relaxed SIMD + wasm threads): MP_THREADS threads.
  { dir: 'web-threads', id: 'modelpress-threads', threaded: true },
  { dir: 'web-threads', id: 'modelpress-threads-fast', requant: 'fast', threaded: true },
];

function runtimeList() {
  const list = [];
  for (const b of MP_BUILDS) {
    const wasm = path.join(PKG, b.dir, 'modelpress_bg.wasm');
    if (existsSync(wasm)) list.push({ id: b.id, kind: 'modelpress', pkgDir: b.dir, label: b.threaded ? `${b.id} (${MP_THREADS} threads)` : b.id, wasm: [wasm], requant: b.requant ?? null, threaded: !!b.threaded });
  }
  const nm = path.join(BENCH, 'node_modules');
  const has = (p) => existsSync(path.join(nm, p));
  if (has('@litertjs/core/package.json')) {
    list.push({ id: 'litert', kind: 'litert', variant: 'default', label: 'LiteRT.js', peer: true });
    list.push({ id: 'litert-compat', kind: 'litert', variant: 'compat', label: 'LiteRT.js compat (SIMD128)', peer: true });
  }
  if (has('@tensorflow/tfjs-tflite/package.json')) list.push({ id: 'tfjs-tflite', kind: 'tfjs', label: 'tfjs-tflite', peer: true });
  if (has('onnxruntime-web/package.json')) list.push({ id: 'ort', kind: 'ort', label: 'onnxruntime-web', peer: true });
  if (!opt.runtimes) return list;
  const ids = opt.runtimes.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !list.some((r) => r.id === id));
  if (unknown.length) {
    console.error(`error: runtime(s) not available: ${unknown.join(', ')} (available: ${list.map((r) => r.id).join(', ')})`);
    process.exit(2);
  }
  return list.filter((r) => ids.includes(r.id));
}

function peerVersion(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(BENCH, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

// ---- statistics and formatting ------------------------------------------------

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, s.length - 1));
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, p90: q(0.9), mean, min: s[0], max: s[s.length - 1], stdev: sd, n: s.length };
}

const fmtMs = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const showPath = (f) => (f.startsWith(ROOT + path.sep) ? path.relative(ROOT, f) : f);
const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

function table(headers, rows, align) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (align?.[i] === 'l' ? String(c ?? '').padEnd(w[i]) : String(c ?? '').padStart(w[i]))).join('  ').trimEnd();
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** Max |a-b| and argmax agreement between two outputs (already dequantized where known). */
function compareOutputs(a, b) {
  if (!a || !b) return null;
  const kind = (o) => (o.dequantized || /Float/.test(o.dtype) ? 'float' : 'int');
  if (kind(a) !== kind(b) || a.length !== b.length) return { comparable: false, why: `${a.dtype}[${a.length}] vs ${b.dtype}[${b.length}]` };
  let max = 0;
  let ia = 0;
  let ib = 0;
  for (let i = 0; i < a.values.length; i++) {
    max = Math.max(max, Math.abs(a.values[i] - b.values[i]));
    if (a.values[i] > a.values[ia]) ia = i;
    if (b.values[i] > b.values[ib]) ib = i;
  }
  return { comparable: true, maxAbsDiff: max, sameArgmax: ia === ib, compared: a.values.length };
}

/** Integer outputs of a TFLite runtime -> real values with the output tensor's scale/zero point. */
function dequantizeOutput(o, quant) {
  if (!o || /Float/.test(o.dtype) || !quant) return o;
  return { ...o, dequantized: true, values: o.values.map((q) => (q - quant.zeroPoint) * quant.scale) };
}

function gzipSize(buf) {
  return zlib.gzipSync(buf, { level: 9 }).length;
}
function brotliSize(buf) {
  return zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}

/** One line of an error thrown through page.evaluate (no stack, no prefix). */
const oneLine = (e) => String(e?.message ?? e).replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0].slice(0, 300);

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex').slice(0, 16);

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function cpuInfo() {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let mhz = os.cpus()[0]?.speed || null;
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    model = /model name\s*:\s*(.*)/.exec(txt)?.[1] ?? model;
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(txt);
    if (m) mhz = Number(m[1]);
    const flags = /flags\s*:\s*(.*)/.exec(txt)?.[1]?.split(/\s+/) ?? [];
    return { model, mhz, cores: os.cpus().length, avxVnni: flags.includes('avx_vnni'), avx512Vnni: flags.includes('avx512_vnni') };
  } catch {
    return { model, mhz, cores: os.cpus().length };
  }
}

// The largest 1x1 convolutions of MobileNetV2-1.0-224 as GEMMs: M = output
// pixels, K = input channels, N = output channels.
const GEMM_SHAPES = [
  { name: '112x112 expand 16->96', m: 12544, k: 16, n: 96 },
  { name: '112x112 project 32->16', m: 12544, k: 32, n: 16 },
  { name: '56x56 expand 24->144', m: 3136, k: 24, n: 144 },
  { name: '56x56 project 144->24', m: 3136, k: 144, n: 24 },
  { name: '28x28 expand 32->192', m: 784, k: 32, n: 192 },
  { name: '14x14 expand 64->384', m: 196, k: 64, n: 384 },
  { name: '14x14 expand 96->576', m: 196, k: 96, n: 576 },
  { name: '7x7 expand 160->960', m: 49, k: 160, n: 960 },
  { name: '7x7 project 960->160', m: 49, k: 960, n: 160 },
  { name: '7x7 last conv 320->1280', m: 49, k: 320, n: 1280 },
];
// Instruction-bound peak per core, assuming 2 SIMD multiply(-add) instructions
// per cycle: i32x4.dot_i16x8_s = 8 MACs (pmaddwd); relaxed
// i32x4.relaxed_dot_i8x16_i7x16_add_s = 16 MACs (vpdpbusd xmm on VNNI);
// f32x4 mul + add = 4 MACs.
const PEAK_MAC_PER_CYCLE = {
  'int8:simd128': 16,
  'int8:relaxed-simd': 32,
  'int8:scalar': 2,
  'float32:simd128': 8,
  'float32:relaxed-simd': 8,
  'float32:scalar': 2,
};

// ---- main --------------------------------------------------------------------

async function main() {
  const models = modelList();
  const runtimes = runtimeList();
  if (opt.list) {
    console.log('models (* = in the default set):');
    const all = opt.models ? models : BUILTIN_MODELS.map((m) => ({ default: true, ...m, tflitePath: resolveModelPath(m.tflite, ROOT), onnxPath: resolveModelPath(m.onnx, ROOT) }));
    for (const m of opt.config ? models : all) console.log(`  ${m.default ? '*' : ' '} ${m.id.padEnd(24)} ${m.tflitePath}${m.onnxPath ? `\n${' '.repeat(29)}onnx: ${m.onnxPath}` : ''}`);
    console.log(`runtimes: ${runtimes.map((r) => r.id).join(', ')}`);
    return;
  }
  if (!opt.runtimes && !runtimes.some((r) => r.kind === 'modelpress')) {
    console.error(`error: no modelpress wasm build in ${PKG} (web/modelpress_bg.wasm): run \`npm run build\` first`);
    process.exit(1);
  }
  if (!existsSync(path.join(BENCH, 'node_modules/playwright-core'))) {
    console.error('error: tests/bench/node_modules is missing: run `cd tests/bench && npm ci`');
    process.exit(1);
  }
  if (RUNS < 50 || WARMUP < 10) console.log(`note: --runs ${RUNS} --warmup ${WARMUP} is below the issue's 50 timed runs after 10 warm-up runs\n`);

  // Serve a snapshot of our builds: others may rebuild pkg/ while this runs.
  const snapshot = await fsp.mkdtemp(path.join(os.tmpdir(), 'modelpress-bench-pkg-'));
  for (const dir of new Set(runtimes.filter((r) => r.kind === 'modelpress').map((r) => r.pkgDir))) {
    await fsp.cp(path.join(PKG, dir), path.join(snapshot, dir), { recursive: true });
  }
  const wasmHashes = new Map(runtimes.filter((r) => r.kind === 'modelpress').map((r) => [r.wasm[0], sha256(readFileSync(path.join(snapshot, r.pkgDir, 'modelpress_bg.wasm')))]));
  const wasmMtimes = new Map(runtimes.filter((r) => r.kind === 'modelpress').map((r) => [r.wasm[0], statSync(r.wasm[0]).mtime.toISOString()]));
  const warnings = [];
  const loadStart = os.loadavg();

  // Model files -> served bytes.
  const served = new Map();
  const active = [];
  const skipped = [];
  for (const m of models) {
    if (!m.tflitePath || !existsSync(m.tflitePath)) {
      skipped.push(m);
      console.log(`skip ${m.id}: ${m.tflitePath} not found${m.tflitePath?.startsWith(SHARED) ? ' (the shared models folder is absent; --shared DIR)' : ''}`);
      continue;
    }
    const bytes = new Uint8Array(readFileSync(m.tflitePath));
    const desc = describeTflite(bytes);
    served.set(`${m.id}.tflite`, bytes);
    let fixedUrl = null;
    if (desc.dynamicBatch) {
      served.set(`${m.id}.fixed.tflite`, fixBatch(bytes).bytes);
      fixedUrl = `/models/${m.id}.fixed.tflite`;
    }
    let onnxUrl = null;
    if (m.onnxPath && existsSync(m.onnxPath)) {
      served.set(`${m.id}.onnx`, new Uint8Array(readFileSync(m.onnxPath)));
      onnxUrl = `/models/${m.id}.onnx`;
    }
    const inp = desc.inputs[0];
    active.push({
      ...m,
      bytes: bytes.length,
      desc,
      url: `/models/${m.id}.tflite`,
      fixedUrl,
      onnxUrl,
      input: { shape: inp.shape.map((d) => (d > 0 ? d : 1)), dtype: inp.dtype, quant: inp.quant, range: m.range },
      multiInput: desc.inputs.length > 1,
    });
  }
  if (!active.length) {
    console.error('error: no model to run');
    process.exit(1);
  }
  // Tiny models for the peers whose wasm starts with their first model.
  const warm = active.find((m) => m.id === 'digits_cnn_float') ?? active.reduce((a, b) => (a.bytes <= b.bytes ? a : b));
  // (a warm-up model the runtime cannot load is ignored: its first model's load then holds the start-up)
  const warmTflite = warm.url;
  const warmOnnx = active.find((m) => m.onnxUrl)?.onnxUrl ?? null;

  const requests = [];
  const { server, port } = await startServer({
    mounts: [
      ['/bench/', path.join(BENCH, 'page')],
      ['/pkg/', snapshot],
      ['/js/', path.join(ROOT, 'js')],
      ['/peers/', path.join(BENCH, 'node_modules')],
    ],
    models: served,
    onRequest: (p) => requests.push(p),
  });
  const base = `http://127.0.0.1:${port}`;

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: opt.chromium,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext();
  const cpu = cpuInfo();
  const chromiumVersion = browser.version();
  console.log(`Chromium ${chromiumVersion} headless · ${cpu.model} · ${cpu.cores} cores${cpu.mhz ? ` · ${cpu.mhz} MHz` : ''}${cpu.avxVnni ? ' · AVX-VNNI' : ''}`);
  if (loadStart[0] > cpu.cores * 0.5) {
    console.log(`warning: load average ${loadStart.map((x) => x.toFixed(1)).join(' ')} on ${cpu.cores} cores: other processes compete for the CPU; numbers will be noisy (compare min and median, or rerun when idle)`);
  }
  console.log(`${WARMUP} warm-up + ${RUNS} timed runs in ${ROUNDS} interleaved round(s) · threads ${THREADS} · CPU throttle ${THROTTLE}x · models: ${active.map((m) => m.id).join(', ')}\n`);

  const withTimeout = (p, ms, what) =>
    Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${(ms / 1000).toFixed(0)} s: ${what}`)), ms).unref())]);

  async function openPage(rt, rtSpec) {
    const page = await context.newPage();
    const consoleLines = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${m.type()}: ${m.text().slice(0, 300)}`);
    });
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${String(e.message ?? e).slice(0, 300)}`));
    let crashed = false;
    page.on('crash', () => {
      crashed = true;
    });
    // Chromium throttles a page by making its renderer spin, idle or not: only
    // the page being measured is throttled at any time (else the idle pages
    // would eat the CPU of the busy one).
    const cdp = THROTTLE > 1 ? await context.newCDPSession(page) : null;
    const throttle = async (on) => {
      if (cdp) await cdp.send('Emulation.setCPUThrottlingRate', { rate: on ? THROTTLE : 1 });
    };
    const before = requests.length;
    await page.goto(`${base}/bench/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
    await throttle(true);
    let init;
    try {
      init = await withTimeout(page.evaluate((r) => window.benchInit(r), rtSpec), TIMEOUT_MS, `${rt.id} init`);
    } finally {
      await throttle(false).catch(() => {});
    }
    /** Run fn with this page throttled (if --throttle). */
    const measured = async (fn) => {
      await throttle(true);
      try {
        return await fn();
      } finally {
        await throttle(false).catch(() => {});
      }
    };
    return { page, init, consoleLines, crashed: () => crashed, wasmFrom: before, measured };
  }

  const record = { runtimes: [], results: [], gemm: [] };
  const wasmSeen = (from) => [...new Set(requests.slice(from).filter((p) => p.endsWith('.wasm')))];

  // One page per runtime, all open at once, so that each model's timed runs
  // can be interleaved across runtimes (rounds) and a burst of load from
  // another process hits every runtime alike.
  const slots = [];
  const open = async (slot) => {
    const requestsFrom = requests.length;
    slot.ctx = null;
    const ctx = await openPage(slot.rt, slot.rtSpec);
    slot.ctx = ctx;
    const rec = slot.rtRec;
    rec.initMs ??= ctx.init.initMs;
    rec.info ??= ctx.init.info;
    rec.env ??= ctx.init.env;
    rec.wasmFiles = [...new Set([...(rec.wasmFiles ?? []), ...wasmSeen(requestsFrom)])];
  };
  const closeSlot = async (slot) => {
    if (!slot.ctx) return;
    slot.rtRec.console = [...(slot.rtRec.console ?? []), ...slot.ctx.consoleLines].slice(0, 20);
    await slot.ctx.page.close().catch(() => {});
    slot.ctx = null;
  };
  console.log('init (wasm fetch + compile + instantiate):');
  for (const rt of runtimes) {
    const rtSpec = {
      id: rt.id,
      kind: rt.kind,
      variant: rt.variant,
      pkgDir: rt.pkgDir,
      requant: rt.requant ?? null,
      threads: rt.kind === 'modelpress' ? (rt.threaded ? MP_THREADS : 1) : THREADS,
      warmModel: rt.kind === 'tfjs' ? warmTflite : rt.kind === 'ort' ? warmOnnx : null,
    };
    const rtRec = { id: rt.id, label: rt.label, kind: rt.kind, threads: rtSpec.threads, notes: [] };
    if (rt.kind === 'modelpress') rtRec.requantization = rt.requant ?? 'exact';
    if (rt.kind === 'modelpress' && !rt.threaded && THREADS > 1) rtRec.notes.push('a single-thread build: ran on 1 thread');
    if (rt.id === 'litert-compat' && THREADS > 1) {
      rtRec.notes.push('the compat build has no threads: ran on 1 thread');
      rtSpec.threads = 1;
      rtRec.threads = 1;
    }
    record.runtimes.push(rtRec);
    const slot = { rt, rtSpec, rtRec, ctx: null };
    slots.push(slot);
    try {
      await open(slot);
    } catch (e) {
      rtRec.failed = oneLine(e);
      console.log(`  ${rt.id}: init failed: ${rtRec.failed}`);
      continue;
    }
    if (rt.kind === 'litert') {
      const f = rtRec.wasmFiles.find((p) => p.includes('litert_wasm'));
      if (f) rtRec.label = `LiteRT.js ${f.includes('compat') ? 'compat (SIMD128)' : f.includes('threaded') ? 'threaded (relaxed SIMD)' : 'relaxed SIMD'}`;
    }
    if (rtRec.info?.warmError) rtRec.notes.push(`init could not start the wasm on the warm-up model (${rtRec.info.warmError}): the first model's load includes the wasm start-up`);
    const what = [rtRec.info?.build, rtRec.info?.gemm && `GEMM ${rtRec.info.gemm}`, rtRec.requantization && `${rtRec.requantization} requantization`].filter(Boolean).join(', ');
    console.log(`  ${rt.id}: ${fmtMs(rtRec.initMs)} ms${what ? ` (${what})` : ''}${rtRec.notes.length ? ` [${rtRec.notes.join('; ')}]` : ''}`);
  }

  const perRound = Array.from({ length: ROUNDS }, (_, r) => Math.floor(RUNS / ROUNDS) + (r < RUNS % ROUNDS ? 1 : 0));
  for (const m of active) {
    process.stdout.write(`${m.id}:`);
    const live = [];
    for (const slot of slots) {
      const { rt, rtRec } = slot;
      const res = { model: m.id, runtime: rt.id };
      record.results.push(res);
      if (rtRec.failed) {
        Object.assign(res, { status: 'failed', reason: `init failed: ${rtRec.failed}` });
        continue;
      }
      let url = m.url;
      let fixedUrl = m.fixedUrl;
      let input = m.input;
      if (rt.kind === 'ort') {
        if (!m.onnxUrl) {
          Object.assign(res, { status: 'n/a', reason: 'no ONNX equivalent' + (m.onnxPath ? ` (${m.onnxPath} absent)` : '') });
          continue;
        }
        url = m.onnxUrl;
        fixedUrl = null;
        input = { ...m.input, dtype: 'float32', quant: null };
        if (m.onnxNote) res.notes = [m.onnxNote];
      }
      if (m.multiInput) (res.notes ??= []).push('model has several inputs: only input 0 is fed (bench limitation)');
      if (!slot.ctx) {
        try {
          await open(slot);
        } catch (e) {
          Object.assign(res, { status: 'failed', reason: `page init failed: ${oneLine(e)}` });
          continue;
        }
      }
      const job = { url, fixedUrl: rt.kind === 'modelpress' ? null : fixedUrl, input, warmup: WARMUP, seed: 1234 };
      let out;
      try {
        out = await slot.ctx.measured(() => withTimeout(slot.ctx.page.evaluate((j) => window.benchLoad(j), job), TIMEOUT_MS, `${rt.id} ${m.id} load`));
      } catch (e) {
        out = { unsupported: slot.ctx.crashed() ? 'the page crashed (out of memory?)' : oneLine(e), stage: 'run' };
      }
      res.notes = [...(res.notes ?? []), ...(out.notes ?? [])];
      if (out.unsupported !== undefined) {
        Object.assign(res, { status: 'unsupported', reason: out.unsupported, stage: out.stage, loadMs: out.loadMs });
        // A failed run may leave a wasm instance in a bad state: start afresh.
        await closeSlot(slot);
        continue;
      }
      Object.assign(res, { status: 'pending', loadMs: out.loadMs, firstMs: out.firstMs, output: out.output, inputShape: out.inputShape, inputDtype: out.inputDtype, asShippedError: out.asShippedError, times: [] });
      if (out.memory) res.memory = out.memory;
      live.push({ slot, res });
    }
    for (let r = 0; r < ROUNDS; r++) {
      const order = live.map((_, i) => live[(i + r) % live.length]);
      for (const { slot, res } of order) {
        if (res.status !== 'pending') continue;
        try {
          const t = await slot.ctx.measured(() => withTimeout(slot.ctx.page.evaluate((n) => window.benchTime(n), perRound[r]), TIMEOUT_MS, `${slot.rt.id} ${m.id} timed runs`));
          res.times.push(...t);
        } catch (e) {
          Object.assign(res, { status: 'unsupported', reason: `failed during timed runs: ${slot.ctx?.crashed() ? 'the page crashed' : oneLine(e)}`, stage: 'run' });
          await closeSlot(slot);
        }
      }
    }
    for (const { slot, res } of live) {
      if (res.status !== 'pending') continue;
      Object.assign(res, { status: 'ok', ...stats(res.times) });
      await slot.ctx.page.evaluate(() => window.benchUnload()).catch(() => {});
    }
    console.log(
      ' ' +
        record.results
          .filter((r) => r.model === m.id)
          .map((r) => `${r.runtime} ${r.status === 'ok' ? fmtMs(r.median) + ' ms' : r.status}`)
          .join('; '),
    );
  }

  // One GEMM micro-benchmark per wasm build (the -fast runtimes share their build's).
  for (const slot of slots.filter((s) => s.rt.kind === 'modelpress' && !s.rt.requant && !s.rtRec.failed)) {
    try {
      if (!slot.ctx) await open(slot);
      const g = await slot.ctx.measured(() => withTimeout(slot.ctx.page.evaluate((a) => window.benchGemm(a), { shapes: GEMM_SHAPES }), TIMEOUT_MS * 2, `${slot.rt.id} gemm`));
      record.gemm.push({ runtime: slot.rt.id, build: slot.rtRec.info?.build, ...g });
    } catch (e) {
      record.gemm.push({ runtime: slot.rt.id, build: slot.rtRec.info?.build, available: false, reason: `failed: ${oneLine(e)}` });
    }
  }
  for (const slot of slots) await closeSlot(slot);
  await browser.close();
  server.close();

  // ---- output checks: each runtime against a reference runtime -------------
  const prefer = ['litert', 'litert-compat', 'tfjs-tflite', 'modelpress-scalar', 'modelpress-simd128', 'modelpress-relaxed', 'modelpress-simd128-fast', 'modelpress-relaxed-fast'];
  for (const m of active) {
    const rows = record.results.filter((r) => r.model === m.id && r.status === 'ok');
    const ref = prefer.map((id) => rows.find((r) => r.runtime === id)).find(Boolean);
    if (!ref) continue;
    const q = m.desc.outputs[0]?.quant;
    const norm = (r) => (r.runtime === 'ort' ? r.output : dequantizeOutput(r.output, q));
    for (const r of rows) {
      if (r === ref) continue;
      const c = compareOutputs(norm(ref), norm(r));
      if (c) r.check = { against: ref.runtime, ...c };
    }
  }

  // ---- print ---------------------------------------------------------------
  const label = (id) => record.runtimes.find((r) => r.id === id)?.label ?? id;
  console.log(`\nLatency (ms; ${WARMUP} warm-up + ${RUNS} timed runs; load = bytes in memory -> model ready; 1st = first inference)`);
  for (const m of active) {
    console.log(`\n${m.label}  [${m.id}]  ${showPath(m.tflitePath)}${m.desc.dynamicBatch ? '  (batch -1 in shape_signature)' : ''}`);
    const rows = record.results
      .filter((r) => r.model === m.id)
      .map((r) => {
        const check = r.check ? (r.check.comparable ? `maxΔ ${r.check.maxAbsDiff.toExponential(1)}${r.check.sameArgmax ? '' : ' ARGMAX DIFFERS'} vs ${r.check.against}` : `not comparable (${r.check.why})`) : '';
        const notes = [...(r.notes ?? [])];
        if (r.status !== 'ok') notes.unshift(`${r.status}: ${r.reason}`);
        return [label(r.runtime), r.status === 'ok' ? fmtMs(r.median) : '-', r.status === 'ok' ? fmtMs(r.p90) : '-', r.status === 'ok' ? fmtMs(r.min) : '-', fmtMs(r.loadMs), fmtMs(r.firstMs), [check, ...notes].filter(Boolean).join('; ')];
      });
    console.log(table(['runtime', 'median', 'p90', 'min', 'load', '1st', 'output check / notes'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'l']));
  }

  // Matrix of medians.
  console.log('\nMedian latency, ms (runtime x model)');
  const mat = record.runtimes.map((rt) => [
    rt.label,
    ...active.map((m) => {
      const r = record.results.find((x) => x.model === m.id && x.runtime === rt.id);
      return r?.status === 'ok' ? fmtMs(r.median) : r?.status === 'n/a' ? 'n/a' : 'unsup';
    }),
  ]);
  console.log(table(['runtime', ...active.map((m) => m.id)], mat, ['l']));

  // Ratios modelpress / peer (< 1 = modelpress faster).
  const ratios = [];
  const mpRts = record.runtimes.filter((r) => r.kind === 'modelpress');
  const peers = record.runtimes.filter((r) => r.kind !== 'modelpress');
  for (const m of active) {
    for (const mp of mpRts) {
      const a = record.results.find((x) => x.model === m.id && x.runtime === mp.id);
      const row = { model: m.id, modelpress: mp.id };
      for (const p of peers) {
        const b = record.results.find((x) => x.model === m.id && x.runtime === p.id);
        row[p.id] = a?.status === 'ok' && b?.status === 'ok' ? a.median / b.median : null;
      }
      ratios.push(row);
    }
  }
  if (peers.length && mpRts.length) console.log('\nRatio of medians, modelpress / peer (< 1: modelpress faster; onnxruntime-web runs the ONNX twin)');
  if (peers.length && mpRts.length) console.log(
    table(
      ['model', 'modelpress', ...peers.map((p) => p.label)],
      ratios.map((r) => [r.model, r.modelpress, ...peers.map((p) => (r[p.id] === null ? '-' : `${r[p.id].toFixed(2)}x`))]),
      ['l', 'l'],
    ),
  );

  // Thread scaling of the threaded build: its median against the same
  // kernels on one thread (the relaxed build), and LiteRT.js's when it ran
  // threaded in this run.
  const scaling = [];
  for (const m of active) {
    for (const [one, many] of [['modelpress-relaxed', 'modelpress-threads'], ['modelpress-relaxed-fast', 'modelpress-threads-fast']]) {
      const a = record.results.find((x) => x.model === m.id && x.runtime === one);
      const b = record.results.find((x) => x.model === m.id && x.runtime === many);
      if (a?.status === 'ok' && b?.status === 'ok') scaling.push({ model: m.id, runtime: many, threads: MP_THREADS, oneMs: a.median, manyMs: b.median, speedup: a.median / b.median });
    }
  }
  if (scaling.length) {
    console.log(`\nThread scaling: the threaded build on ${MP_THREADS} threads against the relaxed build on 1 (same kernels)`);
    console.log(
      table(
        ['model', 'runtime', '1 thread', `${MP_THREADS} threads`, 'speed-up'],
        scaling.map((r) => [r.model, r.runtime, fmtMs(r.oneMs), fmtMs(r.manyMs), `${r.speedup.toFixed(2)}x`]),
        ['l', 'l'],
      ),
    );
  }

  // Our int8 vs our float, per build.
  const pairs = [
    ['mobilenet_v2_100_float', 'mobilenet_v2_100_int8'],
    ['digits_cnn_float', 'digits_cnn_int8'],
    ['ops_coverage_float', 'ops_coverage_int8'],
  ];
  const speedups = [];
  for (const rt of record.runtimes) {
    for (const [f, q] of pairs) {
      const a = record.results.find((x) => x.model === f && x.runtime === rt.id);
      const b = record.results.find((x) => x.model === q && x.runtime === rt.id);
      if (a?.status === 'ok' && b?.status === 'ok') speedups.push({ runtime: rt.id, float: f, int8: q, speedup: a.median / b.median });
    }
  }
  if (speedups.length) {
    console.log('\nint8 speed-up over float (median float / median int8)');
    console.log(table(['runtime', 'pair', 'speed-up'], speedups.map((s) => [label(s.runtime), `${s.float} / ${s.int8}`, `${s.speedup.toFixed(2)}x`]), ['l', 'l']));
  }

  // Start-up: init + load + first run.
  if (active.some((m) => /mobilenet/.test(m.id))) console.log('\nStart-up, ms (init = wasm fetch+compile+instantiate, once per page; tfjs-tflite and onnxruntime-web start their wasm on a tiny model inside init)');
  const startRows = [];
  for (const rt of record.runtimes) {
    for (const m of active) {
      const r = record.results.find((x) => x.model === m.id && x.runtime === rt.id);
      if (r?.status !== 'ok' || !/mobilenet/.test(m.id)) continue;
      startRows.push([label(rt.id), m.id, fmtMs(rt.initMs), fmtMs(r.loadMs), fmtMs(r.firstMs), fmtMs(rt.initMs + r.loadMs + r.firstMs - r.median)]);
    }
  }
  if (startRows.length) {
    console.log(table(['runtime', 'model', 'init', 'load', '1st', 'init+load+prepare*'], startRows, ['l', 'l']));
    console.log('  * init + load + (first run - median run): the one-off cost before the first steady-state inference');
  }

  // Engine memory of each modelpress runtime and model (WasmModel.memoryInfo after the warm-up runs).
  const mib = (n) => (typeof n === 'number' ? (n / (1 << 20)).toFixed(2) : '-');
  const memRows = [];
  for (const rt of record.runtimes.filter((r) => r.kind === 'modelpress')) {
    for (const m of active) {
      const r = record.results.find((x) => x.model === m.id && x.runtime === rt.id);
      if (r?.status !== 'ok') continue;
      const mem = r.memory;
      memRows.push(mem ? [label(rt.id), m.id, mib(mem.constants), mib(mem.prepared), mib(mem.peakActivations), mib(mem.constants + mem.prepared + mem.peakActivations)] : [label(rt.id), m.id, '-', '-', '-', 'no memoryInfo in this build']);
    }
  }
  if (memRows.length) {
    console.log('\nMemory, MiB (modelpress engine after the warm-up runs: constants kept for running, prepared kernel state such as packed weights, peak live activations)');
    console.log(table(['runtime', 'model', 'constants', 'prepared', 'peak act.', 'total'], memRows, ['l', 'l']));
  }

  // Wasm sizes (once per modelpress build).
  const sizes = [];
  for (const rt of runtimes.filter((r) => r.kind === 'modelpress' && !r.requant)) {
    const f = rt.wasm[0];
    const buf = readFileSync(path.join(snapshot, rt.pkgDir, 'modelpress_bg.wasm'));
    let changed = false;
    try {
      changed = sha256(readFileSync(f)) !== wasmHashes.get(f);
    } catch {}
    if (changed) warnings.push(`${f} was rebuilt during the run; the numbers are for the build as it was at the start (sha256 ${wasmHashes.get(f)})`);
    sizes.push({ runtime: rt.id, file: showPath(f), raw: buf.length, gzip: gzipSize(buf), brotli: brotliSize(buf), sha256: sha256(buf), builtAt: wasmMtimes.get(f), rebuiltDuringRun: changed });
  }
  await fsp.rm(snapshot, { recursive: true, force: true });
  const peerWasm = new Set(record.runtimes.filter((r) => r.kind !== 'modelpress').flatMap((r) => (r.wasmFiles ?? []).map((w) => [r.id, w])).map(JSON.stringify));
  for (const s of peerWasm) {
    const [id, w] = JSON.parse(s);
    const f = path.join(BENCH, 'node_modules', w.replace(/^\/peers\//, ''));
    if (!existsSync(f)) continue;
    const buf = readFileSync(f);
    sizes.push({ runtime: id, file: `node_modules/${w.replace(/^\/peers\//, '')}`, raw: buf.length, gzip: gzipSize(buf), brotli: brotliSize(buf) });
  }
  console.log('\nWasm size (what each runtime fetched; gzip -9, brotli 11)');
  console.log(table(['runtime', 'file', 'raw', 'gzip', 'brotli'], sizes.map((s) => [label(s.runtime), s.file, fmtBytes(s.raw), fmtBytes(s.gzip), fmtBytes(s.brotli)]), ['l', 'l']));

  // GEMM micro-benchmark.
  console.log('');
  for (const g of record.gemm) {
    if (!g.available) {
      console.log(`GEMM micro-benchmark (${g.runtime}): not available in this build (${g.reason})`);
      continue;
    }
    const ghz = cpu.mhz ? cpu.mhz / 1000 : null;
    console.log(`GEMM micro-benchmark (${g.runtime}, exports ${g.fns.join(', ')}; peak = 2 SIMD MAC instructions/cycle${ghz ? ` at ${ghz.toFixed(2)} GHz` : ''})`);
    const rows = g.results.map((r) => {
      if (r.error) return [r.fn, `${r.m}x${r.k}x${r.n}`, '-', '-', '-', r.error];
      const peak = PEAK_MAC_PER_CYCLE[`${r.kind}:${g.build}`];
      const mpc = ghz ? r.gmacPerS / ghz : null;
      r.macPerCycle = mpc;
      r.peakMacPerCycle = peak ?? null;
      r.ofPeak = mpc && peak ? mpc / peak : null;
      return [r.fn, `${r.m}x${r.k}x${r.n}`, r.gmacPerS.toFixed(2), mpc ? mpc.toFixed(1) : '-', r.ofPeak ? `${(100 * r.ofPeak).toFixed(0)}% of ${peak}` : '-', r.kernel ?? ''];
    });
    console.log(table(['fn', 'MxKxN', 'GMAC/s', 'MAC/cycle', 'of peak', 'kernel'], rows, ['l', 'l']));
  }
  if (!record.gemm.length) console.log('GEMM micro-benchmark: not available in this build (no modelpress build ran)');

  // Issue 5 targets (meant for --threads 1 --throttle 1 on an idle machine).
  const targets = [];
  // The targets are single-thread ones: the threaded build is not counted
  // (its scaling has its own table).
  const mp1 = mpRts.filter((r) => (r.threads ?? 1) === 1);
  const med = (model, rt) => {
    const r = record.results.find((x) => x.model === model && x.runtime === rt);
    return r?.status === 'ok' ? r.median : null;
  };
  const mpIds = mp1.map((r) => r.id);
  const bestMp = (model, ids = mpIds) => ids.map((id) => [id, med(model, id)]).filter(([, v]) => v !== null).sort((a, b) => a[1] - b[1])[0] ?? null;
  const addTarget = (what, value, limit, cmp, detail) =>
    targets.push({ what, value, cmp, limit, met: value === null ? null : cmp === '<=' ? value <= limit : value >= limit, detail });
  {
    const lr = med('mobilenet_v2_100_int8', 'litert');
    // Exact (TFLite reference arithmetic) and fast (XNNPACK-style, what LiteRT.js itself does) rows.
    for (const [mode, ids] of [
      ['exact', mp1.filter((r) => (r.requantization ?? 'exact') === 'exact').map((r) => r.id)],
      ['fast', mp1.filter((r) => r.requantization === 'fast').map((r) => r.id)],
    ]) {
      const b = bestMp('mobilenet_v2_100_int8', ids);
      addTarget(`int8 MobileNetV2-1.0 median / LiteRT.js median, ${mode} requantization`, b && lr ? b[1] / lr : null, 0.8, '<=', b ? `${b[0]} ${fmtMs(b[1])} ms vs ${fmtMs(lr)} ms` : `no modelpress ${mode} number`);
    }
    {
      const ort = med('mobilenet_v2_100_int8', 'ort');
      for (const [mode, ids] of [
        ['exact', mp1.filter((r) => (r.requantization ?? 'exact') === 'exact').map((r) => r.id)],
        ['fast', mp1.filter((r) => r.requantization === 'fast').map((r) => r.id)],
      ]) {
        const b = bestMp('mobilenet_v2_100_int8', ids);
        addTarget(
          `int8 MobileNetV2-1.0 median / onnxruntime-web int8 ONNX median, ${mode}`,
          b && ort ? b[1] / ort : null,
          0.8,
          '<=',
          ort ? `${b ? `${b[0]} ${fmtMs(b[1])} ms` : `no modelpress ${mode} number`} vs ${fmtMs(ort)} ms (QDQ u8s8 ONNX twin)` : 'no onnxruntime-web number: make the ONNX twin with `npm run bench:onnx`',
        );
      }
    }
    for (const [id, limit] of [['modelpress-relaxed', 2.5], ['modelpress-relaxed-fast', 2.5], ['modelpress-simd128', 1.6], ['modelpress-simd128-fast', 1.6]]) {
      const f = med('mobilenet_v2_100_float', id);
      const q = med('mobilenet_v2_100_int8', id);
      addTarget(`MobileNetV2-1.0 float / int8 speed-up, ${id}`, f && q ? f / q : null, limit, '>=', f && q ? `${fmtMs(f)} / ${fmtMs(q)} ms` : `${id} not run`);
    }
    // Per build: the worst share of peak over the largest 1x1 convolutions, read as the three with the
    // largest weight matrices (K x N), where the multiply-add loop dominates; shapes with a small K are
    // bound by the per-output requantization instead (all shapes are in the table above). The target
    // takes the best build.
    const LARGEST = [...GEMM_SHAPES].sort((a, b) => b.k * b.n - a.k * a.n).slice(0, 3);
    const gemmWorst = record.gemm
      .filter((x) => x.available)
      .map((x) => ({ g: x, big: x.results.filter((r) => r.kind === 'int8' && r.ofPeak && LARGEST.some((l) => l.m === r.m && l.k === r.k && l.n === r.n)) }))
      .filter((x) => x.big.length)
      .map((x) => ({ ...x, worst: Math.min(...x.big.map((r) => r.ofPeak)) }))
      .sort((a, b) => b.worst - a.worst);
    const gw = gemmWorst[0];
    addTarget(
      'int8 GEMM on the largest 1x1 convs (top 3 by K x N), share of instruction peak',
      gw ? gw.worst : null,
      0.6,
      '>=',
      gw ? `${gw.g.runtime} (${gw.big[0].kernel ?? 'kernel ?'}), worst of ${gw.big.length} shapes; ${gemmWorst.slice(1).map((x) => `${x.g.runtime} ${x.worst.toFixed(2)}`).join(', ') || 'no other build'}` : 'no GEMM micro-benchmark export',
    );
    const rtMp = record.runtimes.find((r) => r.id === (bestMp('mobilenet_v2_100_int8')?.[0] ?? mpIds[0]));
    for (const model of ['mobilenet_v2_100_float', 'mobilenet_v2_100_int8']) {
      const r = record.results.find((x) => x.model === model && x.runtime === rtMp?.id);
      const v = r?.status === 'ok' ? rtMp.initMs + r.loadMs + r.firstMs - r.median : null;
      addTarget(`start-up (init + load + prepare), ${model}`, v, 150, '<=', rtMp ? `${rtMp.id}, ms` : '');
    }
  }
  if (THREADS === 1 && THROTTLE === 1) {
    console.log('\nIssue 5 targets');
    console.log(
      table(
        ['target', 'value', 'limit', 'met', 'detail'],
        targets.map((t) => [t.what, t.value === null ? '-' : t.value.toFixed(2), `${t.cmp} ${t.limit}`, t.met === null ? 'n/a' : t.met ? 'yes' : 'NO', t.detail]),
        ['l', 'r', 'l', 'l', 'l'],
      ),
    );
  }

  for (const rt of record.runtimes) for (const n of rt.notes) console.log(`\nnote: ${rt.label}: ${n}`);
  if (THROTTLE > 1 && THREADS > 1) console.log('\nnote: CPU throttling slows the page\'s renderer; the worker threads of threaded runtimes may be slowed less');
  const loadEnd = os.loadavg();
  if (Math.max(loadStart[0], loadEnd[0]) > cpu.cores * 0.5) warnings.push(`load average was ${loadStart[0].toFixed(1)} at the start and ${loadEnd[0].toFixed(1)} at the end on ${cpu.cores} cores: other processes competed for the CPU`);
  for (const w of warnings) console.log(`\nwarning: ${w}`);

  // ---- JSON ----------------------------------------------------------------
  const dirty = git(['status', '--porcelain']);
  const json = {
    schema: 'modelpress-bench/1',
    date: new Date().toISOString(),
    options: { runs: RUNS, warmup: WARMUP, rounds: ROUNDS, threads: THREADS, throttle: THROTTLE },
    warnings,
    machine: { cpu, loadAverage: { start: loadStart, end: loadEnd }, node: process.version, platform: `${os.platform()} ${os.release()}`, chromium: chromiumVersion },
    repo: { commit: git(['rev-parse', 'HEAD']), dirtyFiles: dirty === null ? null : dirty.split('\n').filter(Boolean).length },
    peers: {
      '@litertjs/core': peerVersion('@litertjs/core'),
      '@tensorflow/tfjs-tflite': peerVersion('@tensorflow/tfjs-tflite'),
      '@tensorflow/tfjs-core': peerVersion('@tensorflow/tfjs-core'),
      'onnxruntime-web': peerVersion('onnxruntime-web'),
      'playwright-core': peerVersion('playwright-core'),
    },
    models: active.map((m) => ({ id: m.id, label: m.label, tflite: m.tflitePath, onnx: m.onnxUrl ? m.onnxPath : null, bytes: m.bytes, input: m.input, dynamicBatch: m.desc.dynamicBatch })),
    skippedModels: skipped.map((m) => ({ id: m.id, tflite: m.tflitePath })),
    runtimes: record.runtimes,
    results: record.results.map((r) => (r.output ? { ...r, output: { ...r.output, values: r.output.values.slice(0, 16) } } : r)),
    targets,
    ratios,
    threadScaling: scaling,
    int8Speedups: speedups,
    wasmSizes: sizes,
    gemm: record.gemm,
  };
  if (!opt['no-json']) {
    const outDir = path.resolve(opt.out ?? path.join(BENCH, 'results'));
    await fsp.mkdir(outDir, { recursive: true });
    const file = path.join(outDir, `${json.date.replace(/[:.]/g, '-')}.json`);
    await fsp.writeFile(file, JSON.stringify(json, null, 1) + '\n');
    console.log(`\nwrote ${showPath(file)}`);
  }
}

main().catch((e) => {
  console.error(`error: ${e?.stack ?? e}`);
  process.exit(1);
});
