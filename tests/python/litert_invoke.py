#!/usr/bin/env python3
"""Load MODEL(s) in LiteRT and invoke each once on deterministic random
inputs of the right dtypes; exit 1 naming the first model that fails.
    python litert_invoke.py MODEL [MODEL ...] [--ref]"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

def invoke(path, ref):
    kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if ref else {}
    it = Interpreter(model_path=path, **kw)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        shape = [max(1, s) for s in d["shape"]]
        if np.issubdtype(d["dtype"], np.floating):
            v = rng.uniform(-1, 1, shape).astype(d["dtype"])
        else:
            info = np.iinfo(d["dtype"])
            v = rng.integers(info.min, info.max, shape, endpoint=True).astype(d["dtype"])
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bad = 0
    for p in args:
        try:
            outs = invoke(p, "--ref" in sys.argv)
            print(f"ok   {p}: " + ", ".join(f"{o.dtype}{list(o.shape)}" for o in outs))
        except Exception as e:
            bad += 1
            print(f"FAIL {p}: {str(e).splitlines()[0][:300]}")
    sys.exit(1 if bad else 0)
