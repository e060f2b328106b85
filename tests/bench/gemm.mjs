#!/usr/bin/env node
// int8 GEMM micro-benchmark of one modelpress build in headless Chromium, on
// MobileNetV2's 1x1 convolution shapes: GMAC/s and ns per output. A
// development tool beside `npm run bench` (which prints the same table for
// every build), not a test.
//
//   node tests/bench/gemm.mjs [--build web-relaxed] [--requant fast|exact] [--ms 300]
//   node tests/bench/gemm.mjs --dw [all | 112x112x32/1,...]   3x3 depthwise layers instead

import { parseArgs } from 'node:util';
import { openDevPage } from './lib/devpage.mjs';

const { values: opt } = parseArgs({
  options: {
    build: { type: 'string', default: 'web-relaxed' },
    requant: { type: 'string', default: 'fast' },
    ms: { type: 'string', default: '300' },
    shapes: { type: 'string' }, // e.g. 12544x16x96,3136x16x96
    dw: { type: 'string' }, // depthwise 3x3 shapes instead, HxWxC/stride: e.g. 112x112x32/1,112x112x96/2
    threads: { type: 'string', default: '1' }, // > 1: the web-threads build on that many threads
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const SHAPES = [
  [12544, 16, 96], [12544, 32, 16], [12544, 27, 32], [3136, 24, 144], [3136, 144, 24], [3136, 96, 24],
  [784, 32, 192], [784, 192, 32], [196, 64, 384], [196, 384, 64], [196, 96, 576], [196, 576, 96],
  [49, 160, 960], [49, 960, 160], [49, 960, 320], [49, 320, 1280],
];
// MobileNetV2's 3x3 depthwise layers (input HxWxC / stride).
const DW_SHAPES = ['112x112x32/1', '112x112x96/2', '56x56x144/1', '56x56x144/2', '28x28x192/1', '28x28x192/2', '14x14x384/1', '14x14x576/1', '14x14x576/2', '7x7x960/1'];
const dwMode = opt.dw !== undefined;
const shapes = dwMode
  ? (opt.dw === '' || opt.dw === 'all' ? DW_SHAPES : opt.dw.split(',')).map((s) => { const [dims, st] = s.split('/'); return [...dims.split('x').map(Number), Number(st ?? 1)]; })
  : opt.shapes ? opt.shapes.split(',').map((s) => s.split('x').map(Number)) : SHAPES;
const { page, close } = await openDevPage({ chromium: opt.chromium });
try {
  const res = await page.evaluate(
    async ({ build, fast, shapes, minMs, threads, dwMode }) => {
      const glue = await window.loadModelpress(build, threads);
      const bench = dwMode ? (s, iters) => glue.benchDwI8(s[0], s[1], s[2], s[3], iters, fast) : (s, iters) => glue.benchGemmI8(s[0], s[1], s[2], iters, fast);
      const out = [];
      for (const s of shapes) {
        bench(s, 2);
        let iters = 1;
        let r;
        for (;;) {
          r = bench(s, iters);
          if (r.ms >= minMs) break;
          iters *= Math.max(2, Math.ceil(minMs / Math.max(r.ms, 0.05)));
        }
        const outputs = dwMode ? Math.ceil(s[0] / s[3]) * Math.ceil(s[1] / s[3]) * s[2] : s[0] * s[2];
        out.push({ shape: dwMode ? `${s[0]}x${s[1]}x${s[2]}/${s[3]}` : s.join('x'), gmac: r.macs / r.ms / 1e6, nsPerOut: (r.ms * 1e6) / (outputs * iters), usPerRun: (r.ms * 1e3) / iters, checksum: r.checksum });
      }
      return { info: glue.buildInfo(), out };
    },
    { build: Number(opt.threads) > 1 && opt.build === 'web-relaxed' ? 'web-threads' : opt.build, fast: opt.requant === 'fast', shapes, minMs: Number(opt.ms), threads: Number(opt.threads), dwMode },
  );
  console.log(`build ${res.info.build} · threads ${res.info.threads ?? 1} · ${dwMode ? 'depthwise 3x3' : `GEMM ${res.info.gemm}`} · requantization ${opt.requant}`);
  for (const r of res.out) {
    console.log(`  ${r.shape.padEnd(14)} ${r.gmac.toFixed(1).padStart(6)} GMAC/s  ${r.nsPerOut.toFixed(3).padStart(6)} ns/out  ${r.usPerRun.toFixed(1).padStart(7)} us/run  checksum ${r.checksum}`);
  }
} finally {
  await close();
}
