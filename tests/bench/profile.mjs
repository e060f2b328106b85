#!/usr/bin/env node
// Per-node profile of modelpress in headless Chromium: where the time of one
// inference goes, by op type and by node. A development tool beside the
// benchmark (same server, same browser setup), not a test.
//
//   node tests/bench/profile.mjs MODEL.tflite [--build web-relaxed] [--runs 30] [--top 15] [--requant exact|fast]
//
// Uses WasmModel.profile (per-node performance.now() sums over the runs) of
// the chosen build in pkg/ (web = simd128, web-relaxed, web-scalar).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openDevPage } from './lib/devpage.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    build: { type: 'string', default: 'web-relaxed' },
    runs: { type: 'string', default: '30' },
    top: { type: 'string', default: '15' },
    requant: { type: 'string', default: 'exact' },
    threads: { type: 'string', default: '1' }, // > 1: the web-threads build with that many threads
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node tests/bench/profile.mjs MODEL.tflite [--build web-relaxed|web|web-scalar] [--runs N] [--top N]');
  process.exit(2);
}
const model = readFileSync(positionals[0]);
const { page, close } = await openDevPage({ models: new Map([['m.tflite', model]]), chromium: opt.chromium });
try {
  const res = await page.evaluate(
    async ({ build, runs, requant, threads }) => {
      const glue = await window.loadModelpress(build, threads);
      const bytes = new Uint8Array(await (await fetch('/models/m.tflite')).arrayBuffer());
      const m = new glue.WasmModel(bytes);
      m.setRequantization?.(requant);
      const inputs = m.inputInfo().map((i) => {
        const shape = i.shape.map((d) => (d < 0 ? 1 : d));
        const n = shape.reduce((a, b) => a * b, 1);
        const Arr = { float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int32: Int32Array }[i.dtype] ?? Float32Array;
        const data = new Arr(n);
        for (let j = 0; j < n; j++) data[j] = Arr === Float32Array ? Math.sin(j * 0.37) : (j * 37) % 97;
        return { data, shape };
      });
      const nodes = m.profile(inputs, runs);
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) m.run(inputs);
      const wall = (performance.now() - t0) / runs;
      return { info: glue.buildInfo(), nodes, wall, memory: m.memoryInfo?.() ?? null };
    },
    { build: Number(opt.threads) > 1 && opt.build === 'web-relaxed' ? 'web-threads' : opt.build, runs: Number(opt.runs), requant: opt.requant, threads: Number(opt.threads) },
  );
  const total = res.nodes.reduce((a, n) => a + n.ms, 0);
  console.log(`build ${res.info.build} · threads ${res.info.threads ?? 1} · GEMM ${res.info.gemm} · requantization ${opt.requant} · ${res.nodes.length} nodes · sum of nodes ${total.toFixed(2)} ms · wall per run ${res.wall.toFixed(2)} ms`);
  if (res.memory) console.log(`memory: ${JSON.stringify(res.memory)}`);
  const byOp = new Map();
  for (const n of res.nodes) {
    const e = byOp.get(n.op) ?? { ms: 0, count: 0 };
    e.ms += n.ms;
    e.count++;
    byOp.set(n.op, e);
  }
  console.log('\nby op type');
  for (const [op, e] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`  ${op.padEnd(22)} ${String(e.count).padStart(4)}  ${e.ms.toFixed(3).padStart(8)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)}%`);
  }
  console.log(`\ntop ${opt.top} nodes`);
  for (const n of [...res.nodes].sort((a, b) => b.ms - a.ms).slice(0, Number(opt.top))) {
    console.log(`  #${String(n.node).padStart(3)} ${n.op.padEnd(20)} ${JSON.stringify(n.shape).padEnd(18)} ${n.ms.toFixed(3).padStart(7)} ms  ${n.output}`);
  }
} finally {
  await close();
}
