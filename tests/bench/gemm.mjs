#!/usr/bin/env node
// int8 GEMM micro-benchmark of one modelpress build in headless Chromium, on
// MobileNetV2's 1x1 convolution shapes: GMAC/s and ns per output. A
// development tool beside `npm run bench` (which prints the same table for
// every build), not a test.
//
//   node tests/bench/gemm.mjs [--build web-relaxed] [--requant fast|exact] [--ms 300]

import { parseArgs } from 'node:util';
import { openDevPage } from './lib/devpage.mjs';

const { values: opt } = parseArgs({
  options: {
    build: { type: 'string', default: 'web-relaxed' },
    requant: { type: 'string', default: 'fast' },
    ms: { type: 'string', default: '300' },
    shapes: { type: 'string' }, // e.g. 12544x16x96,3136x16x96
    threads: { type: 'string', default: '1' }, // > 1: the web-threads build on that many threads
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const SHAPES = [
  [12544, 16, 96], [12544, 32, 16], [12544, 27, 32], [3136, 24, 144], [3136, 144, 24], [3136, 96, 24],
  [784, 32, 192], [784, 192, 32], [196, 64, 384], [196, 384, 64], [196, 96, 576], [196, 576, 96],
  [49, 160, 960], [49, 960, 160], [49, 960, 320], [49, 320, 1280],
];
const shapes = opt.shapes ? opt.shapes.split(',').map((s) => s.split('x').map(Number)) : SHAPES;
const { page, close } = await openDevPage({ chromium: opt.chromium });
try {
  const res = await page.evaluate(
    async ({ build, fast, shapes, minMs, threads }) => {
      const glue = await window.loadModelpress(build, threads);
      const out = [];
      for (const [m, k, n] of shapes) {
        glue.benchGemmI8(m, k, n, 2, fast);
        let iters = 1;
        let r;
        for (;;) {
          r = glue.benchGemmI8(m, k, n, iters, fast);
          if (r.ms >= minMs) break;
          iters *= Math.max(2, Math.ceil(minMs / Math.max(r.ms, 0.05)));
        }
        out.push({ m, k, n, gmac: r.macs / r.ms / 1e6, nsPerOut: (r.ms * 1e6) / (m * n * iters), checksum: r.checksum });
      }
      return { info: glue.buildInfo(), out };
    },
    { build: Number(opt.threads) > 1 && opt.build === 'web-relaxed' ? 'web-threads' : opt.build, fast: opt.requant === 'fast', shapes, minMs: Number(opt.ms), threads: Number(opt.threads) },
  );
  console.log(`build ${res.info.build} · threads ${res.info.threads ?? 1} · GEMM ${res.info.gemm} · requantization ${opt.requant}`);
  for (const r of res.out) {
    console.log(`  ${`${r.m}x${r.k}x${r.n}`.padEnd(14)} ${r.gmac.toFixed(1).padStart(6)} GMAC/s  ${r.nsPerOut.toFixed(3).padStart(6)} ns/out  checksum ${r.checksum}`);
  }
} finally {
  await close();
}
