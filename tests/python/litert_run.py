#!/usr/bin/env python3
"""Run a .tflite model with LiteRT and save its outputs.

    python litert_run.py MODEL --input a.npy [--input b.npy ...] --output-dir DIR [--ref]

Inputs are matched to the model's inputs (subgraph 0, the interpreter's default) in order.
Writes DIR/output_<i>.npy for every output i, in the interpreter's output order.
--ref uses LiteRT's reference kernels (OpResolverType.BUILTIN_REF); otherwise the default
builtin resolver (optimized kernels, XNNPACK delegate) is used.

If an input array's shape differs from the model's static shape but is compatible with its
shape_signature (dynamic dims are -1), the input tensor is resized first.

Exit codes: 0 success, 1 failure (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

RESOLVERS = {
    "builtin": OpResolverType.BUILTIN,
    "ref": OpResolverType.BUILTIN_REF,
    "nodelegate": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
}


def make_interpreter(model: str, resolver: str = "builtin", num_threads: int | None = None) -> Interpreter:
    kw = {"model_path": str(model), "experimental_op_resolver_type": RESOLVERS[resolver]}
    if num_threads is not None:
        kw["num_threads"] = num_threads
    return Interpreter(**kw)


def feed_inputs(it: Interpreter, inputs: list[np.ndarray]) -> None:
    """allocate_tensors + set_tensor for each input (resizing dynamic inputs when needed)."""
    details = it.get_input_details()
    if len(inputs) != len(details):
        raise ValueError(f"model has {len(details)} input(s), got {len(inputs)}")
    resized = False
    for d, x in zip(details, inputs):
        shape = list(d["shape"])
        if list(x.shape) != shape:
            sig = list(d.get("shape_signature", shape))
            ok = len(sig) == x.ndim and all(s in (-1, n) for s, n in zip(sig, x.shape))
            if not ok:
                raise ValueError(f"input {d['name']!r}: array shape {list(x.shape)} does not match "
                                 f"model shape {shape} (signature {sig})")
            it.resize_tensor_input(d["index"], list(x.shape), strict=True)
            resized = True
    it.allocate_tensors()
    if resized:
        details = it.get_input_details()
    for d, x in zip(details, inputs):
        want = np.dtype(d["dtype"])
        if x.dtype != want:
            raise ValueError(f"input {d['name']!r}: array dtype {x.dtype} but model expects {want}")
        it.set_tensor(d["index"], np.ascontiguousarray(x))


def run(it: Interpreter, inputs: list[np.ndarray]) -> list[np.ndarray]:
    feed_inputs(it, inputs)
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--input", action="append", default=[], metavar="X.npy",
                    help="input array, repeat in the model's input order")
    ap.add_argument("--output-dir", required=True, type=Path)
    ap.add_argument("--ref", action="store_true", help="use reference kernels (BUILTIN_REF)")
    ap.add_argument("--resolver", choices=sorted(RESOLVERS), default=None,
                    help="op resolver (default: builtin; --ref is the same as --resolver ref)")
    ap.add_argument("--num-threads", type=int, default=None)
    args = ap.parse_args(argv)
    resolver = args.resolver or ("ref" if args.ref else "builtin")
    try:
        inputs = [np.load(p, allow_pickle=False) for p in args.input]
        it = make_interpreter(args.model, resolver, args.num_threads)
        outputs = run(it, inputs)
        args.output_dir.mkdir(parents=True, exist_ok=True)
        for i, y in enumerate(outputs):
            np.save(args.output_dir / f"output_{i}.npy", y)
    except Exception as e:  # noqa: BLE001
        print(f"litert_run: error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    shapes = ", ".join(f"{list(y.shape)} {y.dtype}" for y in outputs)
    print(f"litert_run: {Path(args.model).name} ({resolver}): wrote {len(outputs)} output(s) to "
          f"{args.output_dir}: {shapes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
