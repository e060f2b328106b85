// Shared helpers of the CLI tests (not a test file itself).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = path.join(ROOT, 'bin/modelpress.mjs');
export const FIXTURES = path.join(ROOT, 'tests/fixtures/models');

/** Run the CLI synchronously: {code, stdout, stderr}. */
export function cli(args, { cwd = ROOT } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI asynchronously (so subtests can run side by side). */
export function cliAsync(args, { cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every fixture model file name (fails loudly if there are none). */
export function fixtureModels() {
  if (!existsSync(FIXTURES)) throw new Error(`no fixture folder ${FIXTURES}`);
  const list = readdirSync(FIXTURES).filter((f) => f.endsWith('.tflite')).sort();
  if (list.length === 0) throw new Error(`no .tflite fixtures in ${FIXTURES}`);
  return list;
}

/** tests/fixtures/models/manifest.json, or null while it does not exist. */
export function manifest() {
  const p = path.join(FIXTURES, 'manifest.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
}

/** The manifest entry of a model file, or undefined. */
export function manifestEntry(file) {
  return manifest()?.models?.find((m) => m.file === file);
}

/** A fresh temporary folder, removed after the test. */
export function tmpDir(t) {
  const d = mkdtempSync(path.join(os.tmpdir(), 'modelpress-test-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The pkg/node build must exist for CLI tests: say how to get it. */
export function requireBuild() {
  if (!existsSync(path.join(ROOT, 'pkg/node/modelpress.js'))) {
    throw new Error('pkg/node is missing: run `npm run build` before the CLI tests');
  }
}

/**
 * Compare arrays elementwise: |a - b| <= atol + rtol * |b| (b is the reference).
 * Integer arrays must be equal. Returns null when close, else a description of the worst element.
 */
export function mismatch(a, b, { rtol = 1e-4, atol = 1e-5 } = {}) {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0)) {
      bad++;
      if (worst < 0 || excess > worstExcess || Number.isNaN(excess)) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad === 0) return null;
  return `${bad}/${a.length} elements differ; worst at ${worst}: got ${a[worst]}, expected ${b[worst]}`;
}
