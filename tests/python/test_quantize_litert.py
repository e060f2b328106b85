#!/usr/bin/env python3
"""Quantization through the modelpress CLI (wasm), checked with LiteRT.

1. digits_cnn: int8 (calibrated on the 200 calibration samples) reaches test
   accuracy >= 0.979 in LiteRT and its file is within 5% of the converter's
   96,680 bytes; dynamic range and float16 reach >= 0.981.
2. Every mode (dynamic, float16, int8 with float / int8 / uint8 I/O, 16x8) on
   every runnable float fixture gives a file LiteRT loads and invokes.
3. ops_coverage int8: every op the TFLite converter quantized is quantized
   by us too (same output tensor types op by op).
4. Already-quantized input and missing calibration fail with exit 1 and a
   message; the report is written with sizes, layers and fidelity.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
MODELS = FIX / "models"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_accuracy import run_all  # noqa: E402
from litert_invoke import invoke  # noqa: E402

CLI = os.environ.get("MODELPRESS_CLI", "node bin/modelpress.mjs").split()
failures: list[str] = []


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True)


def check(cond: bool, msg: str):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def op_types(path: Path):
    from ai_edge_litert.tools import flatbuffer_utils as fbu
    from ai_edge_litert import schema_py_generated as s

    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    m = fbu.read_model(str(path))
    sg = m.subgraphs[0]
    out = []
    for o in sg.operators:
        code = fbu.get_builtin_code_from_operator_code(m.operatorCodes[o.opcodeIndex])
        out.append((names[code], sg.tensors[o.outputs[0]].type))
    return out


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    x_test = FIX / "data" / "digits_x_test.npy"
    y_test = np.load(FIX / "data" / "digits_y_test.npy")
    calib = FIX / "data" / "digits_x_calib.npy"
    digits = MODELS / "digits_cnn_float32.tflite"

    # 1. digits accuracy and size.
    for mode, extra, floor in (("int8", ["--calib", calib], 0.979), ("dynamic", [], 0.981), ("float16", [], 0.981)):
        out = tmp / f"digits.{mode}.tflite"
        rep = tmp / f"digits.{mode}.json"
        r = cli("optimize", digits, "-o", out, "--quantize", mode, "--report", rep, *extra)
        check(r.returncode == 0, f"digits {mode}: CLI exit 0 ({r.stderr.strip()[-200:]})")
        if r.returncode:
            continue
        acc = float((run_all(out, np.load(x_test)).argmax(1) == y_test).mean())
        check(acc >= floor, f"digits {mode}: LiteRT accuracy {acc:.4f} >= {floor}")
        if mode == "int8":
            size = out.stat().st_size
            check(abs(size - 96680) <= 0.05 * 96680, f"digits int8: {size} bytes within 5% of the converter's 96,680")
        report = json.loads(rep.read_text())
        check(report["output"]["bytes"] == out.stat().st_size, f"digits {mode}: report bytes match the file")
        check(report["input"]["gzipBytes"] > report["output"]["gzipBytes"] > 0, f"digits {mode}: gzip sizes reported")
        check(len(report["layers"]) >= 6, f"digits {mode}: per-layer table ({len(report['layers'])} rows)")
        if mode == "int8":
            fid = report["fidelity"]
            check(fid["outputCosine"] > 0.999 and fid["top1Agreement"] >= 0.97, f"digits int8: fidelity {fid['outputCosine']:.5f} / {fid['top1Agreement']}")
            check(all(l["weightDtype"] == "int8" and l["sqnrDb"] > 25 for l in report["layers"]), "digits int8: every layer int8 with SQNR > 25 dB")

    # 2. every mode on every runnable float fixture.
    manifest = json.loads((MODELS / "manifest.json").read_text())
    modes = [["--quantize", "dynamic"], ["--quantize", "float16"], ["--quantize", "int8"], ["--quantize", "int8", "--io", "int8"],
             ["--quantize", "int8", "--io", "uint8"], ["--quantize", "int16x8"]]
    for e in manifest["models"]:
        if not e.get("runnable_float") or not e.get("input_files"):
            continue
        types = set(e.get("tensor_types", []))
        ins = [np.load(MODELS / f) for f in e["input_files"]]
        if len(ins) == 1:
            cal = MODELS / e["input_files"][0]
        else:
            cal = tmp / f"{e['file']}.npz"
            np.savez(cal, **{i["name"]: a for i, a in zip(e["inputs"], ins)})
        for m in modes:
            tag = "-".join(m[1::2])
            out = tmp / f"{e['file']}.{tag}.tflite"
            extra = ["--calib", cal] if "int" in m[1] else []
            r = cli("optimize", MODELS / e["file"], "-o", out, *m, *extra)
            already = ("INT8" in types and m[1] != "float16") or ("FLOAT16" in types and m[1] == "float16")
            if already:
                check(r.returncode == 1 and "already" in r.stderr and not out.exists(),
                      f"{e['file']} {tag}: already-quantized weights refused ({r.stderr.strip()[:100]})")
                continue
            if r.returncode != 0:
                check(False, f"{e['file']} {tag}: CLI failed: {r.stderr.strip()[-300:]}")
                continue
            try:
                invoke(str(out), False)
                check(True, f"{e['file']} {tag}: LiteRT loads and invokes")
            except Exception as ex:  # noqa: BLE001
                check(False, f"{e['file']} {tag}: LiteRT: {str(ex).splitlines()[0][:200]}")

    # 3. ops_coverage: same quantized ops as the converter.
    out = tmp / "ops_coverage.int8.tflite"
    r = cli("optimize", MODELS / "ops_coverage_float32.tflite", "-o", out, "--quantize", "int8", "--calib", MODELS / "ops_coverage_float32.input0.npy")
    check(r.returncode == 0, f"ops_coverage int8: CLI ({r.stderr.strip()[-200:]})")
    if r.returncode == 0:
        ours = [t for t in op_types(out) if t[0] not in ("QUANTIZE", "DEQUANTIZE")]
        theirs = [t for t in op_types(MODELS / "ops_coverage_int8.tflite") if t[0] not in ("QUANTIZE", "DEQUANTIZE")]
        check(ours == theirs, f"ops_coverage int8: op-by-op output types equal the converter's ({len(ours)} ops)")
        invoke(str(out), True)

    # 4. clear failures.
    r = cli("optimize", MODELS / "digits_cnn_int8.tflite", "-o", tmp / "x.tflite", "--quantize", "int8", "--calib", calib)
    check(r.returncode == 1 and "already" in r.stderr, f"already quantized: exit 1 with a message ({r.stderr.strip()[:120]})")
    r = cli("optimize", digits, "-o", tmp / "y.tflite", "--quantize", "int8")
    check(r.returncode == 1 and "calib" in r.stderr, f"int8 without calibration: exit 1 naming --calib ({r.stderr.strip()[:120]})")
    check(not (tmp / "y.tflite").exists(), "no partial output after a failure")
    bad = tmp / "bad.npy"
    np.save(bad, np.zeros((4, 8, 8, 1), np.float32))
    r = cli("optimize", digits, "-o", tmp / "z.tflite", "--quantize", "int8", "--calib", bad)
    check(r.returncode == 1 and "8, 8, 1" in r.stderr, f"mismatched calibration shape named ({r.stderr.strip()[:160]})")

    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
