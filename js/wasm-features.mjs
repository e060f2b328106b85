// WebAssembly feature detection (WebAssembly.validate on tiny probe modules,
// no dependency) and the choice of a wasm build (js/wasm-builds.mjs) from it.

import { UnsupportedRuntimeError } from './errors.mjs';

/** @typedef {{name: 'scalar'|'simd128'|'relaxed-simd'|'relaxed-simd-threads', needs: ('simd'|'relaxedSimd'|'threads')[], glue?: object, threaded?: boolean}} WasmBuild */

// Smallest modules using one instruction of each feature (WebAssembly.validate
// is true only if the engine knows the instruction):
//   simd:        (func (result v128) i32.const 0  i8x16.splat  i8x16.popcnt)
//   relaxedSimd: (func (result v128) i32.const 1  i8x16.splat  i32.const 2  i8x16.splat  i8x16.relaxed_swizzle)
const PROBES = {
  simd: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11],
  relaxedSimd: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11],
};

/** Which wasm features this JS engine has: {wasm, simd, relaxedSimd, threads} (threads: shared memory usable, i.e. a cross-origin isolated page with workers). */
export function detectFeatures() {
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  const has = (bytes) => {
    try {
      return wasm && WebAssembly.validate(new Uint8Array(bytes));
    } catch {
      return false;
    }
  };
  const threads = typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true && typeof Worker === 'function';
  return { wasm, simd: has(PROBES.simd), relaxedSimd: has(PROBES.relaxedSimd), threads };
}

const SUPPORT = {
  simd: 'WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4 and later)',
  relaxedSimd: 'relaxed SIMD (Chrome 114 and later)',
  threads: 'wasm threads (SharedArrayBuffer in a cross-origin isolated page: COOP same-origin + COEP require-corp)',
};

/**
 * The first build (in order of preference) whose features are all present.
 * @param {{wasm?: boolean, simd?: boolean, relaxedSimd?: boolean}} features
 * @param {WasmBuild[]} builds
 * @param {string} [wanted] a build name to force ('scalar' | 'simd128' | 'relaxed-simd')
 * @returns {WasmBuild}
 */
export function chooseBuild(features, builds, wanted = undefined) {
  if (features.wasm === false) {
    throw new UnsupportedRuntimeError('this JavaScript engine has no WebAssembly; modelpress needs it', { missing: ['wasm'] });
  }
  const names = builds.map((b) => b.name);
  const candidates = wanted === undefined ? builds : builds.filter((b) => b.name === wanted);
  if (wanted !== undefined && candidates.length === 0) {
    throw new UnsupportedRuntimeError(`no '${wanted}' wasm build in this package (it has: ${names.join(', ')})`, { missing: [wanted] });
  }
  const ok = candidates.find((b) => b.needs.every((f) => features[f]));
  if (ok) return ok;
  const missing = [...new Set(candidates.flatMap((b) => b.needs.filter((f) => !features[f])))];
  throw new UnsupportedRuntimeError(
    `this browser lacks ${missing.map((f) => SUPPORT[f] ?? f).join(' and ')}, which the ${candidates.map((b) => b.name).join(' / ')} wasm build${candidates.length > 1 ? 's need' : ' needs'}, and this package has no ${wanted ? 'other' : 'scalar'} build; use a newer browser`,
    { missing },
  );
}
