// What the benchmark's tools share: Chromium's flags, and for the development
// tools (profile.mjs, gemm.mjs) one page of the bench server with our builds
// and js/ mounted, where `window.loadModelpress(build, threads)` (page/bench.mjs)
// instantiates a build.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO = path.resolve(BENCH, '../..');

/** Headless Chromium flags for every bench run (Debian's Chromium, as root). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Serve the bench page with pkg/ and js/ (and `models` under /models/), launch
 * Chromium and open the page. Call close() when done.
 * @param {{models?: Map<string, Uint8Array>, chromium: string}} opts
 */
export async function openDevPage({ models = new Map(), chromium: executablePath }) {
  const { server, port } = await startServer({
    mounts: [
      ['/bench/', path.join(BENCH, 'page')],
      ['/pkg/', path.join(REPO, 'pkg')],
      ['/js/', path.join(REPO, 'js')],
    ],
    models,
  });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  const close = async () => {
    await browser.close();
    server.close();
  };
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/bench/index.html?noauto`);
    return { page, close };
  } catch (e) {
    await close();
    throw e;
  }
}
