// The packed package as users get it: `npm pack`, then `npm install` of the
// tarball into a fresh temporary project (offline: the package has no runtime
// dependencies), then
//   (1) a Node script imports it and optimizes a fixture (int8, calibrated);
//   (2) a Vite app imports it, `vite build`, Chromium runs the built app (and the dev server);
//   (3) `tsc --noEmit` type-checks an example using the whole API;
//   (4) the CLI from the installed tarball: npx modelpress inspect / optimize;
//   (5) a plain <script type="module"> page in Chromium: createWorkerModel,
//       optimize with progress, abort one run (the worker is terminated), run again.
// One pack + install serves all of them. Vite and TypeScript are this repository's
// devDependencies, run on the temporary project.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, FIXTURES, ROOT, openPage, requireBuild, serveStatic } from './helpers.mjs';

const CONSUMER = path.join(ROOT, 'tests/package/consumer');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
let tmp;
let app;
let packed;
let browser;
let nodeResult;

function run(cmd, args, { cwd = app, env = {} } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r, what) {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

before(async () => {
  requireBuild();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'modelpress-pkg-'));
  const pack = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT }), 'npm pack');
  packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
  app = path.join(tmp, 'app');
  mkdirSync(app);
  cpSync(CONSUMER, app, { recursive: true });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'modelpress-consumer', private: true, type: 'module' }, null, 2));
  for (const f of ['tiny_mlp.tflite', 'tiny_mlp.input0.npy', 'digits_cnn_float32.tflite']) {
    cpSync(path.join(FIXTURES, f), path.join(app, f));
    cpSync(path.join(FIXTURES, f), path.join(app, 'vite/public', f));
  }
  ok(run('npm', ['install', '--offline', path.join(tmp, packed.filename)]), 'npm install of the tarball');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds the entries, the five wasm builds, the types and the CLI, and nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of [
    'package.json', 'README.md', 'bin/modelpress.mjs', 'js/browser.mjs', 'js/index.node.mjs', 'js/worker.mjs', 'js/worker.node.mjs', 'js/cli.mjs', 'js/node.mjs', 'js/npy.mjs',
    'pkg/web/modelpress.js', 'pkg/web/modelpress_bg.wasm', 'pkg/web-relaxed/modelpress.js', 'pkg/web-relaxed/modelpress_bg.wasm', 'pkg/web-relaxed/package.json',
    'pkg/web-scalar/modelpress.js', 'pkg/web-scalar/modelpress_bg.wasm', 'pkg/web-scalar/package.json', 'pkg/node/modelpress.js', 'pkg/node/modelpress_bg.wasm', 'pkg/node/package.json',
    'pkg/web-threads/modelpress.js', 'pkg/web-threads/modelpress_bg.wasm', 'pkg/web-threads/package.json', 'js/threads.mjs', 'js/thread-worker.mjs',
    'types/index.d.ts', 'types/npy.d.ts', 'types/errors.d.ts',
  ]) assert.ok(files.includes(f), `${f} is not in the tarball`);
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/|js\/|types\/|pkg\/(web|web-relaxed|web-scalar|web-threads|node)\/)/.test(f) || f.endsWith('.d.ts') && f.startsWith('pkg/'));
  assert.deepEqual(stray, []);
  assert.deepEqual(Object.keys(PKG.dependencies ?? {}), [], 'no runtime dependencies');
  const installed = JSON.parse(readFileSync(path.join(app, 'node_modules/modelpress/package.json'), 'utf8'));
  assert.equal(installed.version, PKG.version);
});

test('(1) Node: import from an .mjs file, optimize int8 with calibration, run the output', () => {
  const r = ok(run(process.execPath, ['node-check.mjs']), 'node node-check.mjs');
  nodeResult = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.ok(nodeResult.resolved.endsWith('/node_modules/modelpress/js/index.node.mjs'), nodeResult.resolved);
  assert.deepEqual(nodeResult.build, { build: 'simd128', version: nodeResult.build.version, gemm: 'simd128-dot16', threads: 1 });
  assert.deepEqual(nodeResult.ops, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
  assert.ok(nodeResult.size > 0 && nodeResult.size < nodeResult.inputBytes, `int8 is smaller: ${nodeResult.size} vs ${nodeResult.inputBytes}`);
  assert.ok(nodeResult.cosine > 0.99);
  assert.deepEqual(nodeResult.phases, ['quantize', 'calibrate', 'report']);
  assert.equal(nodeResult.y.length, 10);
  assert.ok(nodeResult.benchMedian > 0);
  assert.ok(nodeResult.memory > 0);
  assert.deepEqual(nodeResult.recipeError, { isModelpressError: true, name: 'RecipeError', code: 'INVALID_RECIPE', field: 'quantize.mode' });
});

test('(3) tsc --noEmit type-checks an example using the whole API (bundler, nodenext, Node without DOM lib)', () => {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  // Node-only typing (no DOM lib) needs @types/node: this repository's, linked in.
  const types = path.join(app, 'node_modules/@types');
  if (!existsSync(types)) symlinkSync(path.join(ROOT, 'node_modules/@types'), types, 'dir');
  for (const config of ['tsconfig.json', 'tsconfig.nodenext.json', 'tsconfig.node.json']) {
    const r = run(process.execPath, [tsc, '-p', config]);
    assert.equal(r.code, 0, `tsc -p ${config}:\n${r.stdout}${r.stderr}`);
  }
  // The declarations are not `any`: a wrong program fails.
  writeFileSync(path.join(app, 'wrong.ts'), "import { loadModel } from 'modelpress';\nconst m = await loadModel(new Uint8Array(1));\nconst n: number = m.summary().op_histogram;\nexport { n };\n");
  writeFileSync(path.join(app, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', files: ['wrong.ts'] }));
  const bad = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, /wrong\.ts.*TS2322/);
});

test('(4) CLI from the installed tarball: npx modelpress inspect and optimize', () => {
  const v = ok(run('npx', ['--no', '--', 'modelpress', '--version']), 'npx modelpress --version');
  assert.match(v.stdout, new RegExp(PKG.version.replace(/\./g, '\\.')));
  const i = ok(run('npx', ['--no', '--', 'modelpress', 'inspect', 'tiny_mlp.tflite']), 'npx modelpress inspect');
  assert.match(i.stdout, /FULLY_CONNECTED/);
  const j = JSON.parse(ok(run('npx', ['--no', '--', 'modelpress', 'inspect', 'tiny_mlp.tflite', '--json']), 'inspect --json').stdout);
  assert.equal(j.parameters > 0, true);
  ok(run('npx', ['--no', '--', 'modelpress', 'optimize', 'tiny_mlp.tflite', '-o', 'cli.int8.tflite', '--quantize', 'int8', '--calib', 'tiny_mlp.input0.npy', '--report', 'cli.report.json']), 'npx modelpress optimize');
  const out = readFileSync(path.join(app, 'cli.int8.tflite'));
  assert.ok(out.length > 0 && out.length < statSync(path.join(app, 'tiny_mlp.tflite')).size);
  assert.equal(JSON.parse(readFileSync(path.join(app, 'cli.report.json'), 'utf8')).output.bytes, out.length);
  if (nodeResult) assert.equal(createHash('sha256').update(out).digest('hex'), nodeResult.sha256, 'the CLI writes the same int8 model as the API');
  const bad = run('npx', ['--no', '--', 'modelpress', 'inspect', 'nope.tflite']);
  assert.equal(bad.code, 1);
});

test('(2) Vite: vite build of an app importing the package; Chromium runs the built app', async (t) => {
  const { build } = await import('vite');
  const t0 = performance.now();
  await build({ root: path.join(app, 'vite'), configFile: false, logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
  t.diagnostic(`vite build ${(performance.now() - t0).toFixed(0)} ms`);
  const dist = path.join(app, 'vite/dist');
  const assets = readdirSync(path.join(dist, 'assets'));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 4, `the four browser wasm builds are emitted: ${assets.join(', ')}`);
  assert.ok(assets.some((f) => /worker/.test(f)), `the worker is bundled: ${assets.join(', ')}`);
  const srv = await serveStatic(dist);
  try {
    const { page, context, problems } = await openPage(browser, `${srv.url}/`);
    await page.waitForFunction(() => document.getElementById('result').textContent !== '', null, { timeout: 60_000 });
    const r = JSON.parse(await page.textContent('#result'));
    await context.close();
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(problems, []);
    // Chromium has relaxed SIMD: feature detection picks the relaxed-simd build.
    assert.equal(r.build.build, 'relaxed-simd');
    assert.deepEqual(r.ops, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
    assert.deepEqual(r.phases, ['quantize', 'calibrate', 'report']);
    assert.ok(r.cosine > 0.99);
    assert.ok(nodeResult, 'the Node test ran first');
    assert.equal(r.size, nodeResult.size);
    assert.equal(r.sha256, nodeResult.sha256, 'the browser writes the same bytes as Node');
    assert.equal(r.workerSha256, nodeResult.sha256, 'and so does the worker');
    for (let i = 0; i < 10; i++) {
      assert.ok(Math.abs(r.y[i] - nodeResult.y[i]) < 1e-6, 'the int8 model runs the same in the browser');
      assert.ok(Math.abs(r.workerY[i] - r.floatY[i]) < 1e-6, 'the float model runs the same in the worker');
    }
  } finally {
    await srv.stop();
  }
});

test('(2) Vite dev server: the app runs unbundled from node_modules too', async () => {
  const { createServer } = await import('vite');
  const server = await createServer({ root: path.join(app, 'vite'), configFile: false, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, strictPort: false } });
  await server.listen();
  try {
    const url = server.resolvedUrls.local[0];
    const { page, context, problems } = await openPage(browser, url);
    await page.waitForFunction(() => document.getElementById('result').textContent !== '', null, { timeout: 60_000 });
    const r = JSON.parse(await page.textContent('#result'));
    await context.close();
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(problems, []);
    assert.equal(r.sha256, nodeResult.sha256);
    assert.equal(r.workerSha256, nodeResult.sha256);
  } finally {
    await server.close();
  }
});

test('(5) plain <script type="module"> page: worker model with progress, one aborted run, run again', async (t) => {
  const srv = await serveStatic(app);
  try {
    const workers = { started: 0, closed: 0 };
    const { page, context, problems } = await openPage(browser, `${srv.url}/plain/`, (p) =>
      p.on('worker', (w) => {
        workers.started++;
        w.on('close', () => workers.closed++);
      }),
    );
    await page.waitForFunction(() => document.getElementById('result').textContent !== '', null, { timeout: 90_000 });
    const r = JSON.parse(await page.textContent('#result'));
    for (let i = 0; i < 40 && workers.closed < workers.started; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await context.close();
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(problems, []);
    assert.deepEqual(r.features, { wasm: true, simd: true, relaxedSimd: true, threads: false });
    assert.equal(r.localBuild, 'relaxed-simd', 'feature detection picks the relaxed-simd build in Chromium');
    assert.deepEqual(r.localOps, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
    assert.deepEqual(r.inputShape, [1, 16, 16, 1]);
    assert.ok(r.first.size > 0 && r.first.size < 347008 && r.first.cosine > 0.9, JSON.stringify(r.first));
    assert.deepEqual(r.progressPhases, ['quantize', 'calibrate', 'report']);
    assert.ok(r.progressCount >= 3);
    assert.equal(r.aborted.name, 'AbortError', JSON.stringify(r.aborted));
    assert.equal(r.aborted.code, 'ABORTED');
    assert.ok(r.aborted.phases.includes('calibrate') && !r.aborted.phases.includes('report'), 'aborted mid-way');
    assert.ok(r.aborted.ticks >= 2, `the page kept running while the worker worked (${r.aborted.ticks} ticks in ${r.aborted.ms.toFixed(0)} ms)`);
    assert.deepEqual(r.again, { size: r.first.size, same: true });
    assert.deepEqual(r.runShape, [1, 10]);
    assert.deepEqual(r.benchmark, { runs: 10, build: 'relaxed-simd', ok: true });
    assert.equal(r.disposed, true);
    assert.equal(workers.started, 2, 'a new worker after the abort');
    assert.equal(workers.closed, 2, 'the aborted worker and, on dispose(), the second one are terminated');
    t.diagnostic(`abort after ${r.aborted.ms.toFixed(0)} ms; workers started ${workers.started}, closed ${workers.closed}`);
  } finally {
    await srv.stop();
  }
});

test('(5) a browser without WebAssembly SIMD gets the scalar build; forcing simd128 there is a clear UnsupportedRuntimeError', async () => {
  const srv = await serveStatic(app);
  try {
    const { page, context } = await openPage(browser, `${srv.url}/plain/nosimd.html`, (p) =>
      p.addInitScript(() => {
        // Hide SIMD from feature detection only: the probes are tiny modules using 0xfd-prefixed opcodes.
        const validate = WebAssembly.validate;
        WebAssembly.validate = (b) => {
          const u = b instanceof Uint8Array ? b : new Uint8Array(b.buffer ?? b);
          return u.length < 100 && u.includes(0xfd) ? false : validate(b);
        };
      }),
    );
    await page.waitForFunction(() => document.getElementById('result').textContent !== '', null, { timeout: 30_000 });
    const r = JSON.parse(await page.textContent('#result'));
    await context.close();
    assert.deepEqual(r.features, { wasm: true, simd: false, relaxedSimd: false, threads: false });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.build, 'scalar');
    assert.deepEqual(r.ops, { FULLY_CONNECTED: 2, SOFTMAX: 1 });
    assert.equal(r.yLength, 10);
    const f = r.forced;
    assert.equal(f.name, 'UnsupportedRuntimeError', JSON.stringify(f));
    assert.equal(f.code, 'UNSUPPORTED_RUNTIME');
    assert.equal(f.classes, true);
    assert.deepEqual(f.missing, ['simd']);
    assert.match(f.message, /lacks WebAssembly SIMD \(Chrome 91, Firefox 89, Safari 16\.4 and later\), which the simd128 wasm build needs/);
  } finally {
    await srv.stop();
  }
});
