#!/usr/bin/env python3
"""Make the page's bundled examples (web/examples/) from the test fixtures.

    tests/.venv/bin/python web/examples/make_examples.py

- digits_cnn_float32.tflite, tiny_mlp.tflite: copies of tests/fixtures/models/;
- digits_calib32.npy: the first 32 rows of tests/fixtures/data/digits_x_calib.npy
  (calibration samples, float32 [32, 16, 16, 1]);
- digits_test100.npy / digits_test100_labels.npy: the first 100 rows of
  digits_x_test.npy / digits_y_test.npy (held-out evaluation samples and their
  class labels, int64), so the page can measure accuracy.
"""
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MODELS = ROOT / "tests/fixtures/models"
DATA = ROOT / "tests/fixtures/data"


def main():
    for name in ("digits_cnn_float32.tflite", "tiny_mlp.tflite"):
        shutil.copyfile(MODELS / name, HERE / name)
    x = np.load(DATA / "digits_x_calib.npy")
    np.save(HERE / "digits_calib32.npy", np.ascontiguousarray(x[:32], dtype="<f4"))
    xt = np.load(DATA / "digits_x_test.npy")
    yt = np.load(DATA / "digits_y_test.npy")
    np.save(HERE / "digits_test100.npy", np.ascontiguousarray(xt[:100], dtype="<f4"))
    np.save(HERE / "digits_test100_labels.npy", np.ascontiguousarray(yt[:100], dtype="<i8"))
    for p in sorted(HERE.iterdir()):
        if p.suffix in (".tflite", ".npy"):
            print(f"{p.stat().st_size:>9}  {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
