#!/usr/bin/env python3
"""Check that two .tflite models behave identically in LiteRT.

    python litert_compare.py MODEL_A MODEL_B [--input X.npy ...] [--ref] [--seed N]

1. Loads both models and checks that their input and output signatures match: count, names,
   shapes, shape signatures, dtypes and quantization parameters (scales compared bit for bit,
   zero points, quantized dimension).
2. Runs both on the same inputs: the given --input arrays (in input order), or deterministic
   random arrays made from the input dtypes/shapes (seed --seed): floats uniform in
   [--low, --high], int8/uint8/int16 over their whole range, other ints in [0, 2), bools.
   Models with several subgraphs run subgraph 0 (the interpreter's default).
3. Compares every output as raw bytes.

Prints a one-line summary. Exit 0 only if every output is bit-identical; exit 1 (with the reason)
on a signature mismatch, an output difference or a failure to load/run; exit 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, str(Path(__file__).resolve().parent))
from litert_run import RESOLVERS, make_interpreter, run  # noqa: E402


def describe(d: dict) -> dict:
    qp = d.get("quantization_parameters", {}) or {}
    scales = np.asarray(qp.get("scales", []), dtype=np.float32)
    zps = np.asarray(qp.get("zero_points", []), dtype=np.int64)
    return {
        "name": d["name"],
        "shape": [int(x) for x in d["shape"]],
        "shape_signature": [int(x) for x in d.get("shape_signature", d["shape"])],
        "dtype": np.dtype(d["dtype"]).name,
        "scales": scales.tobytes().hex(),
        "zero_points": zps.tolist(),
        "quantized_dimension": int(qp.get("quantized_dimension", 0)) if scales.size > 1 else 0,
        "_scales_list": scales.tolist(),
    }


def signature_diffs(kind: str, a: list[dict], b: list[dict], ignore_names: bool) -> list[str]:
    if len(a) != len(b):
        return [f"{kind} count differs: {len(a)} vs {len(b)}"]
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        for key in ("name", "shape", "shape_signature", "dtype", "scales", "zero_points", "quantized_dimension"):
            if key == "name" and ignore_names:
                continue
            if x[key] != y[key]:
                vx, vy = x[key], y[key]
                if key == "scales":
                    vx, vy = x["_scales_list"], y["_scales_list"]
                out.append(f"{kind} {i} ({x['name']!r}) {key} differs: {vx} vs {vy}")
    return out


def random_input(rng: np.random.Generator, d: dict, low: float, high: float) -> np.ndarray:
    shape, dt = d["shape"], np.dtype(d["dtype"])
    if dt.kind == "f":
        return rng.uniform(low, high, size=shape).astype(dt)
    if dt == np.bool_:
        return rng.random(size=shape) < 0.5
    if dt.kind in "iu":
        if dt.itemsize <= 2:
            info = np.iinfo(dt)
            return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=np.int64).astype(dt)
        return rng.integers(0, 2, size=shape).astype(dt)
    raise ValueError(f"cannot make a random input of dtype {dt} for {d['name']!r}")


def output_diff(i: int, name: str, a: np.ndarray, b: np.ndarray) -> str | None:
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"output {i} ({name!r}): {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    if a.tobytes() == b.tobytes():
        return None
    ne = np.frombuffer(a.tobytes(), np.uint8).reshape(a.size, -1) != \
        np.frombuffer(b.tobytes(), np.uint8).reshape(b.size, -1)
    n_diff = int(ne.any(axis=1).sum()) if a.size else 0
    extra = ""
    if a.dtype.kind in "fiu":
        with np.errstate(invalid="ignore"):
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        extra = f", max abs diff {float(np.nanmax(d)) if d.size else 0.0:.6g}"
    return f"output {i} ({name!r}): {n_diff}/{a.size} elements differ{extra}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("--input", action="append", default=[], metavar="X.npy",
                    help="input array, repeat in the model's input order (default: random inputs)")
    ap.add_argument("--ref", action="store_true", help="use reference kernels (BUILTIN_REF)")
    ap.add_argument("--resolver", choices=sorted(RESOLVERS), default=None,
                    help="op resolver (default: builtin; --ref is the same as --resolver ref)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    ap.add_argument("--low", type=float, default=-1.0, help="low end of random float inputs (default -1)")
    ap.add_argument("--high", type=float, default=1.0, help="high end of random float inputs (default 1)")
    ap.add_argument("--ignore-names", action="store_true", help="do not require equal tensor names")
    args = ap.parse_args(argv)
    resolver = args.resolver or ("ref" if args.ref else "builtin")
    tag = f"{Path(args.model_a).name} vs {Path(args.model_b).name}"

    def fail(msg: str) -> int:
        msg = " ".join(msg.split())  # keep it on one line
        print(f"litert_compare: DIFFERENT ({tag}): {msg}")
        return 1

    try:
        ia = make_interpreter(args.model_a, resolver)
        ib = make_interpreter(args.model_b, resolver)
    except Exception as e:  # noqa: BLE001
        return fail(f"cannot load model: {type(e).__name__}: {e}")

    ins_a = [describe(d) for d in ia.get_input_details()]
    ins_b = [describe(d) for d in ib.get_input_details()]
    outs_a = [describe(d) for d in ia.get_output_details()]
    outs_b = [describe(d) for d in ib.get_output_details()]
    diffs = signature_diffs("input", ins_a, ins_b, args.ignore_names) + \
        signature_diffs("output", outs_a, outs_b, args.ignore_names)
    if diffs:
        return fail("signatures differ: " + "; ".join(diffs))

    try:
        if args.input:
            inputs = [np.load(p, allow_pickle=False) for p in args.input]
            source = f"{len(inputs)} given input(s)"
        else:
            rng = np.random.default_rng(args.seed)
            inputs = [random_input(rng, d, args.low, args.high) for d in ins_a]
            source = f"{len(inputs)} random input(s), seed {args.seed}"
    except Exception as e:  # noqa: BLE001
        return fail(f"cannot prepare inputs: {type(e).__name__}: {e}")

    results = []
    for label, it in (("A", ia), ("B", ib)):
        try:
            results.append(run(it, inputs))
        except Exception as e:  # noqa: BLE001
            return fail(f"model {label} failed to run: {type(e).__name__}: {e}")
    ya, yb = results
    if len(ya) != len(yb):
        return fail(f"output count differs at run time: {len(ya)} vs {len(yb)}")
    problems = [p for i, (a, b) in enumerate(zip(ya, yb))
                if (p := output_diff(i, outs_a[i]["name"], a, b)) is not None]
    if problems:
        return fail(f"{len(problems)}/{len(ya)} output(s) not bit-identical: " + "; ".join(problems))
    print(f"litert_compare: IDENTICAL ({tag}): {len(ya)} output(s) bit-identical; {len(ins_a)} input(s), "
          f"{len(outs_a)} output(s) with matching signatures; {source}; resolver {resolver}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
