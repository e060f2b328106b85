#!/usr/bin/env bash
# Make the ONNX twins of MobileNetV2-1.0 for the benchmark (see make_onnx.py):
# a venv in tests/bench/.venv-onnx with tf2onnx, tensorflow-cpu, onnxruntime
# (from PyPI), then tests/bench/models/*.onnx. Idempotent; not part of the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${MODELPRESS_SHARED_MODELS:-$here/../../../shared/models}"
venv="$here/.venv-onnx"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check tf2onnx tensorflow-cpu onnxruntime onnx sympy numpy
TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" "$here/make_onnx.py" "$shared" "$here/models"
