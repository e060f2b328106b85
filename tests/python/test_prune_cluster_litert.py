#!/usr/bin/env python3
"""Pruning, clustering and their combination with int8, checked with LiteRT.

Every output is written by modelpress and run by LiteRT on the digits test
set (450 samples); gzip sizes are Python's gzip at level 9.

  1. magnitude 50% per layer: exactly round(0.5 n) zeros in every pruned
     tensor (read back from the file);
  2. data-aware (obs) 50% per layer + int8: accuracy >= 0.975;
  3. data-aware 2:4 + int8: >= 2 zeros in every group of 4 along the input
     channels of every pruned tensor (in int8), accuracy >= 0.970;
  4. 80% global + int8: accuracy >= 0.975, gzip <= 33,000 bytes;
  5. cluster 16 + int8: <= 16 distinct int8 values per clustered tensor,
     accuracy >= 0.980, gzip <= 56,000; cluster 8 + int8: accuracy >= 0.975;
  6. prune 50% (obs) -> cluster 16 (sparsity preserved) -> int8: accuracy
     >= 0.975, gzip <= 41,000, and zeros / distinct values survived int8
     (file and report);
  7. sparse format on 80% pruned digits: raw bytes well below dense, and
     LiteRT (default resolver, else BUILTIN_REF) gives the same outputs as
     for the dense pruned model; also with int8 and with block sparsity;
  8. prune + cluster (magnitude, no calibration) works on every fixture
     model (and on ../shared/models when present) and LiteRT runs the result.

By default the product CLI runs (`node bin/modelpress.mjs`, or
MODELPRESS_CLI); MODELPRESS_NATIVE=1 uses the native dev tool
(`cargo run --release --example optimize_native`) instead.
Prints one line per check and the measured numbers; exit 1 on a failure.
"""
from __future__ import annotations

import gzip
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
SHARED = ROOT.parent / "shared" / "models"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_accuracy import run_all  # noqa: E402

CLI = os.environ.get("MODELPRESS_CLI", "node bin/modelpress.mjs").split()
NATIVE = os.environ.get("MODELPRESS_NATIVE") == "1"
failures: list[str] = []
measured: list[str] = []


def check(cond: bool, msg: str):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def optimize(model: Path, out: Path, recipe: dict, calib: Path | None = None, report: Path | None = None):
    """Run the optimizer; returns (ok, stderr, report dict or None)."""
    rfile = out.with_suffix(".recipe.json")
    rfile.write_text(json.dumps(recipe))
    if NATIVE:
        cmd = ["cargo", "run", "-q", "--release", "--example", "optimize_native", "--", str(model), str(out), str(rfile)]
        if calib:
            cmd.append(str(calib))
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        rep = Path(str(out) + ".report.json")
        return r.returncode == 0, r.stderr, (json.loads(rep.read_text()) if rep.exists() else None)
    cmd = CLI + ["optimize", str(model), "-o", str(out), "--recipe", str(rfile)]
    if calib:
        cmd += ["--calib", str(calib)]
    if report:
        cmd += ["--report", str(report)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    rep = json.loads(report.read_text()) if report and report.exists() and r.returncode == 0 else None
    return r.returncode == 0, r.stderr, rep


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


def interpreter(path: Path, ref: bool = False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if ref else {}
    it = Interpreter(model_path=str(path), **kw)
    it.allocate_tensors()
    return it


def outputs(path: Path, x: np.ndarray, ref: bool = False) -> np.ndarray:
    it = interpreter(path, ref)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for row in x:
        it.set_tensor(inp["index"], row[None].astype(np.float32))
        it.invoke()
        ys.append(it.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(ys)


def weight_tensors(path: Path):
    """(op name, tensor name, dtype code, shape, values) of the weight input
    of every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED (dense constants
    only; a DENSIFY-fed weight is reported with values None)."""
    from ai_edge_litert import schema_py_generated as s
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    np_types = {0: np.float32, 1: np.float16, 9: np.int8, 3: np.uint8, 7: np.int16}
    m = fbu.read_model(str(path))
    sg = m.subgraphs[0]
    out = []
    for o in sg.operators:
        op = names[fbu.get_builtin_code_from_operator_code(m.operatorCodes[o.opcodeIndex])]
        if op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        t = sg.tensors[o.inputs[1]]
        data = m.buffers[t.buffer].data
        vals = None
        if data is not None and len(data) and t.type in np_types:
            vals = np.frombuffer(bytes(np.asarray(data, np.uint8)), np_types[t.type]).reshape(list(t.shape))
        out.append((op, t.name.decode(), t.type, list(t.shape), vals))
    return out


def accuracy(path: Path, x, y) -> float:
    return float((run_all(path, x).argmax(1) == y).mean())


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    x_test = np.load(FIX / "data" / "digits_x_test.npy")
    y_test = np.load(FIX / "data" / "digits_y_test.npy")
    calib = FIX / "data" / "digits_x_calib.npy"
    digits = MODELS / "digits_cnn_float32.tflite"
    int8 = {"mode": "int8"}

    def case(tag, recipe, use_calib=True):
        out = tmp / f"{tag}.tflite"
        rep = tmp / f"{tag}.report.json"
        ok, err, report = optimize(digits, out, recipe, calib if use_calib else None, rep)
        check(ok, f"{tag}: optimize ({err.strip()[-300:]})")
        return (out, report) if ok else (None, None)

    # 1. Magnitude 50% per layer: exact per-tensor sparsity.
    out, _ = case("mag50", {"prune": {"sparsity": 0.5}}, use_calib=False)
    if out:
        for op, name, _, shape, v in weight_tensors(out):
            if op == "DEPTHWISE_CONV_2D":
                continue
            z = int((v == 0).sum())
            check(z == round(0.5 * v.size), f"mag50: {name}: {z} zeros of {v.size} (exactly half)")
        out8, _ = case("mag50_int8", {"prune": {"sparsity": 0.5}, "quantize": int8})
        if out8:
            a = accuracy(out8, x_test, y_test)
            measured.append(f"magnitude 50% per layer + int8: accuracy {a:.4f} (one-shot baseline 0.8889)")

    # 2. obs 50% + int8.
    out, _ = case("obs50_int8", {"prune": {"sparsity": 0.5, "method": "obs"}, "quantize": int8})
    if out:
        a = accuracy(out, x_test, y_test)
        measured.append(f"obs 50% per layer + int8: accuracy {a:.4f}, gzip {gz(out)}")
        check(a >= 0.975, f"obs 50% + int8: LiteRT accuracy {a:.4f} >= 0.975")
        for op, name, _, shape, v in weight_tensors(out):
            if op != "DEPTHWISE_CONV_2D":
                check(abs((v == 0).mean() - 0.5) < 0.01, f"obs50: {name} sparsity {(v == 0).mean():.3f} after int8")

    # 3. 2:4 obs + int8.
    out, _ = case("obs24_int8", {"prune": {"pattern": "2:4", "method": "obs"}, "quantize": int8})
    if out:
        a = accuracy(out, x_test, y_test)
        measured.append(f"obs 2:4 + int8: accuracy {a:.4f}, gzip {gz(out)}")
        check(a >= 0.970, f"2:4 obs + int8: LiteRT accuracy {a:.4f} >= 0.970")
        for op, name, _, shape, v in weight_tensors(out):
            if op == "DEPTHWISE_CONV_2D" or shape[-1] % 4:
                continue
            groups = v.reshape(-1, 4)
            check(bool(((groups == 0).sum(1) >= 2).all()), f"2:4: {name}: every group of 4 input channels has >= 2 zeros")

    # 4. 80% global + int8.
    for method in ("magnitude", "obs"):
        out, _ = case(f"global80_{method}_int8", {"prune": {"sparsity": 0.8, "scope": "global", "method": method}, "quantize": int8})
        if out:
            a, g = accuracy(out, x_test, y_test), gz(out)
            measured.append(f"80% global ({method}) + int8: accuracy {a:.4f}, gzip {g}")
            check(a >= 0.975 and g <= 33000, f"80% global {method} + int8: accuracy {a:.4f} >= 0.975, gzip {g} <= 33,000")

    # 5. Clustering + int8.
    for tag, cl, floor, limit in (
        ("cluster16_int8", {"clusters": 16, "scaled": True, "dataAware": True}, 0.980, 56000),
        ("cluster8_int8", {"clusters": 8, "dataAware": True}, 0.975, None),
        ("cluster16_plain_int8", {"clusters": 16}, None, None),
    ):
        out, _ = case(tag, {"cluster": cl, "quantize": int8})
        if not out:
            continue
        a, g = accuracy(out, x_test, y_test), gz(out)
        measured.append(f"{tag} {json.dumps(cl)}: accuracy {a:.4f}, gzip {g}")
        k = cl["clusters"]
        for op, name, _, shape, v in weight_tensors(out):
            if op == "DEPTHWISE_CONV_2D":
                continue
            per_ch = max(len(np.unique(v[c])) for c in range(shape[0]))
            check(per_ch <= k, f"{tag}: {name}: at most {k} int8 values per channel ({per_ch})")
            if cl.get("scaled"):
                check(len(np.unique(v)) <= k, f"{tag}: {name}: {len(np.unique(v))} distinct int8 values in the tensor <= {k}")
        if floor is not None:
            check(a >= floor, f"{tag}: LiteRT accuracy {a:.4f} >= {floor}")
        if limit is not None:
            check(g <= limit, f"{tag}: gzip {g} <= {limit}")

    # 6. Collaborative: prune 50% obs -> cluster 16 preserving sparsity -> int8.
    recipe = {
        "prune": {"sparsity": 0.5, "method": "obs"},
        "cluster": {"clusters": 16, "preserveSparsity": True, "scaled": True, "dataAware": True, "entropyPenalty": 1.0},
        "quantize": int8,
    }
    out, report = case("pcq_int8", recipe)
    pruned, _ = case("pcq_pruned_only", {"prune": recipe["prune"]})
    if out and pruned:
        a, g = accuracy(out, x_test, y_test), gz(out)
        measured.append(f"prune 50% obs -> cluster 16 preserve (scaled, data-aware, entropy 1.0) -> int8: accuracy {a:.4f}, gzip {g}")
        check(a >= 0.975, f"collaborative: LiteRT accuracy {a:.4f} >= 0.975")
        check(g <= 41000, f"collaborative: gzip {g} <= 41,000")
        masks = {n: v == 0 for op, n, _, _, v in weight_tensors(pruned) if op != "DEPTHWISE_CONV_2D"}
        for op, name, _, shape, v in weight_tensors(out):
            if op == "DEPTHWISE_CONV_2D":
                continue
            mask = masks.get(name)
            check(mask is not None and bool((v[mask] == 0).all()), f"collaborative: {name}: every pruned weight is 0 in int8")
            nz = max(len(np.unique(v[c][v[c] != 0])) for c in range(shape[0]))
            check(nz <= 16 and len(np.unique(v)) <= 17, f"collaborative: {name}: {nz} non-zero codes per channel, {len(np.unique(v))} in the tensor")
        if report:
            rows = [l for l in report.get("layers", []) if l["op"] != "DEPTHWISE_CONV_2D"]
            check(bool(rows) and all(l["sparsity"] >= 0.5 and l["uniqueValues"] <= 17 for l in rows),
                  "collaborative: the report shows sparsity >= 0.5 and <= 17 distinct values per layer: "
                  + ", ".join(f"{l['sparsity']:.2f}/{l['uniqueValues']}" for l in rows))

    # 7. Sparse format.
    p80 = {"sparsity": 0.8, "scope": "global"}
    dense, _ = case("sparse_dense80", {"prune": p80}, use_calib=False)
    sparse, _ = case("sparse80", {"prune": p80, "sparseFormat": True}, use_calib=False)
    if dense and sparse:
        db, sb = dense.stat().st_size, sparse.stat().st_size
        measured.append(f"80% global float: dense {db} bytes (gzip {gz(dense)}), sparse format {sb} bytes (gzip {gz(sparse)})")
        check(sb < 0.5 * db, f"sparse format: raw {sb} bytes < half of dense {db}")
        for resolver in (False, True):
            name = "BUILTIN_REF" if resolver else "default"
            ref = outputs(dense, x_test, ref=resolver)
            try:
                got = outputs(sparse, x_test, ref=resolver)
                diff = float(np.abs(got - ref).max())
                measured.append(f"sparse format in LiteRT ({name} resolver): max |diff| vs dense pruned {diff:.3g}")
                check(diff == 0, f"sparse format: LiteRT {name} resolver gives the dense pruned outputs (max diff {diff:.3g})")
            except Exception as e:  # noqa: BLE001
                check(False, f"sparse format: LiteRT {name} resolver: {str(e).splitlines()[0][:200]}")
    # ... with int8 and with blocks.
    for tag, r in (
        ("sparse80_int8", {"prune": p80, "quantize": int8}),
        ("sparse_block1x4", {"prune": {"sparsity": 0.75, "pattern": "block:1x4"}}),
    ):
        d, _ = case(tag + "_dense", r)
        s, _ = case(tag, {**r, "sparseFormat": True})
        if not (d and s):
            continue
        measured.append(f"{tag}: dense {d.stat().st_size} bytes, sparse {s.stat().st_size} bytes")
        check(s.stat().st_size < d.stat().st_size, f"{tag}: sparse format is smaller ({s.stat().st_size} < {d.stat().st_size})")
        for resolver in (False, True):
            name = "BUILTIN_REF" if resolver else "default"
            ref = outputs(d, x_test[:50], ref=resolver)
            try:
                got = outputs(s, x_test[:50], ref=resolver)
                diff = float(np.abs(got - ref).max())
                measured.append(f"{tag} in LiteRT ({name} resolver): max |diff| vs dense {diff:.3g}")
                check(diff == 0, f"{tag}: LiteRT {name} resolver gives the dense model's outputs (max diff {diff:.3g})")
            except Exception as e:  # noqa: BLE001
                msg = str(e).splitlines()[0][:200]
                measured.append(f"{tag} in LiteRT ({name} resolver): fails: {msg}")
                # XNNPACK refuses int8 FULLY_CONNECTED with non-constant
                # weights; the reference kernels must run it.
                check(not resolver, f"{tag}: LiteRT {name} resolver: {msg}")

    # 8. Every model: prune + cluster without calibration, LiteRT runs it.
    from litert_invoke import invoke  # noqa: E402

    paths = sorted(MODELS.glob("*.tflite"))
    if SHARED.is_dir() and os.environ.get("SKIP_SHARED") != "1":
        paths += sorted(SHARED.glob("*.tflite")) + sorted(SHARED.glob("*/*.tflite"))
    manifest = json.loads((MODELS / "manifest.json").read_text())
    unrunnable = {e["file"] for e in manifest["models"] if e.get("litert_runnable") is False}
    recipe = {"prune": {"sparsity": 0.5}, "cluster": {"clusters": 16, "preserveSparsity": True}}
    for p in paths:
        if p.name in unrunnable:
            continue
        out = tmp / f"all_{p.parent.name}_{p.name}"
        ok, err, _ = optimize(p, out, recipe)
        if not ok:
            check(False, f"{p.name}: prune + cluster: {err.strip()[-200:]}")
            continue
        try:
            invoke(str(out), False)
            check(True, f"{p.relative_to(p.parents[1])}: prune 50% + cluster 16 written, LiteRT invokes it")
        except Exception as e:  # noqa: BLE001
            try:
                invoke(str(p), False)
                check(False, f"{p.name}: LiteRT runs the original but not ours: {str(e).splitlines()[0][:200]}")
            except Exception:  # noqa: BLE001
                print(f"skip {p.name}: LiteRT cannot run the original either")

    print("\nmeasured:")
    for m in measured:
        print("  " + m)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
