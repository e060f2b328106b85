// Loaded with WebAssembly SIMD hidden from feature detection (the test patches
// WebAssembly.validate): loadModel must fail with a clear UnsupportedRuntimeError.
import { loadModel, detectFeatures, ModelpressError, UnsupportedRuntimeError } from 'modelpress';

let result;
try {
  await loadModel(await fetch('/tiny_mlp.tflite'));
  result = { error: 'the model loaded without SIMD' };
} catch (e) {
  result = {
    features: detectFeatures(),
    name: e.name,
    code: e.code,
    message: e.message,
    missing: e.missing,
    classes: e instanceof UnsupportedRuntimeError && e instanceof ModelpressError,
  };
}
document.getElementById('result').textContent = JSON.stringify(result);
