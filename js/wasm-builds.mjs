// The wasm builds of the browser entry; js/wasm-features.mjs picks one at load
// time by feature detection (js/runtime-web.mjs).
//
// Wasm has no runtime CPU dispatch inside a module, so each instruction set is
// its own build (its own wasm-bindgen glue + .wasm). The glue modules are
// imported statically (they are small; only the chosen build's .wasm is
// fetched), so bundlers see every build and no code splitting is needed,
// which keeps Vite's default (iife) worker format working.
//
// The builds (scripts/build.sh): pkg/web-relaxed (+simd128,+relaxed-simd),
// pkg/web (+simd128), pkg/web-scalar (-simd128), pkg/web-threads (relaxed
// SIMD + wasm threads). To add one: import its glue,
// add its BUILDS entry, and add its folder to package.json "files". BUILDS is
// in order of preference.

import * as simd128 from '../pkg/web/modelpress.js';
import * as relaxed from '../pkg/web-relaxed/modelpress.js';
import * as scalar from '../pkg/web-scalar/modelpress.js';
import * as threads from '../pkg/web-threads/modelpress.js';

/**
 * name: what the core's buildInfo() reports; needs: features from detectFeatures()
 * (js/wasm-features.mjs); glue: the wasm-bindgen --target web module.
 * @type {import('./wasm-features.mjs').WasmBuild[]}
 */
export const BUILDS = [
  { name: 'relaxed-simd', needs: ['simd', 'relaxedSimd'], glue: relaxed },
  { name: 'simd128', needs: ['simd'], glue: simd128 },
  { name: 'scalar', needs: [], glue: scalar },
  // Only when asked for ({threads: n > 1}, js/runtime-web.mjs): it starts
  // Web Workers, and needs a cross-origin isolated page.
  { name: 'relaxed-simd-threads', needs: ['simd', 'relaxedSimd', 'threads'], glue: threads, threaded: true },
];
