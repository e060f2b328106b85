"""ONNX twins of MobileNetV2-1.0-224 for the benchmark's onnxruntime-web runs.

../shared/models/onnx holds no MobileNetV2-1.0, so this makes one from the
same .tflite the other runtimes load:

  models/mobilenet_v2_100_float32.onnx             tf2onnx export (opset 17)
  models/mobilenet_v2_100_qdq_u8s8_perchannel.onnx onnxruntime quantize_static:
      QDQ, per-channel int8 weights, uint8 activations, calibrated on
      shared/models/mobilenet_calib_224_small.npy (the u8s8 form onnxruntime
      runs fastest on x86, as the digits twin in shared/models/onnx)

Usage: python make_onnx.py SHARED_MODELS_DIR OUT_DIR (see make_onnx.sh).
"""
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process


def main(shared: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    src = os.path.join(shared, "mobilenet_v2_100_float32.tflite")
    f32 = os.path.join(out, "mobilenet_v2_100_float32.onnx")
    pre = os.path.join(out, "mobilenet_v2_100_float32.pre.onnx")
    q = os.path.join(out, "mobilenet_v2_100_qdq_u8s8_perchannel.onnx")
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", src, "--output", f32, "--opset", "17"], check=True)
    quant_pre_process(f32, pre)
    x = np.load(os.path.join(shared, "mobilenet_calib_224_small.npy")).astype(np.float32)
    name = ort.InferenceSession(pre, providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{name: x[i : i + 1]} for i in range(len(x))])

        def get_next(self):
            return next(self.it, None)

    quantize_static(
        pre, q, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )
    os.remove(pre)
    # The twins must compute the same network: float32 ONNX vs the .tflite
    # is checked by the benchmark's output check; here the int8 twin against
    # the float one (this MobileNetV2's outputs are near uniform, so compare
    # values, not classes).
    a = ort.InferenceSession(f32, providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    b = ort.InferenceSession(q, providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    diff = float(np.abs(a - b).max())
    print(f"wrote {f32} and {q}; int8 vs float max |diff| {diff:.2e} (outputs up to {float(a.max()):.2e})")
    if not diff < 0.01:
        sys.exit(f"the int8 twin is off: max |diff| {diff}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
