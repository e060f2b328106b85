// Loaded with WebAssembly SIMD hidden from feature detection (the test patches
// WebAssembly.validate): loadModel falls back to the scalar build; forcing a
// SIMD build fails with a clear UnsupportedRuntimeError.
import { initModelpress, loadModel, detectFeatures, ModelpressError, UnsupportedRuntimeError } from 'modelpress';

const result = { features: detectFeatures() };
try {
  await initModelpress({ build: 'simd128' });
  result.forced = { error: 'the simd128 build loaded without SIMD' };
} catch (e) {
  result.forced = {
    name: e.name,
    code: e.code,
    message: e.message,
    missing: e.missing,
    classes: e instanceof UnsupportedRuntimeError && e instanceof ModelpressError,
  };
}
try {
  const m = await loadModel(await fetch('/tiny_mlp.tflite'));
  result.build = m.build.build;
  result.ops = m.summary().op_histogram;
  const [y] = await m.run([{ data: new Float32Array(16).fill(0.5), shape: [1, 16] }]);
  result.yLength = y.data.length;
  m.dispose();
} catch (e) {
  result.error = `${e?.name}: ${e?.code} ${e?.message}`;
}
document.getElementById('result').textContent = JSON.stringify(result);
