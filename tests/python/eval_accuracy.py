#!/usr/bin/env python3
"""Classifier accuracy and output fidelity of a model in LiteRT.

    python eval_accuracy.py MODEL X.npy [Y.npy] [--ref-model FLOAT.tflite] [--json]

Runs every row of X through LiteRT (inputs quantized/dequantized per the
model's input type), reports top-1 accuracy against Y, and, with
--ref-model, cosine similarity / SQNR / top-1 agreement against it.
"""
import argparse, json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from ai_edge_litert.interpreter import Interpreter


def run_all(path, x):
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for row in x:
        v = row[None].astype(np.float32)
        if inp["dtype"] != np.float32:
            s, z = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            v = np.clip(np.round(v / s) + z, info.min, info.max).astype(inp["dtype"])
        it.set_tensor(inp["index"], v)
        it.invoke()
        y = it.get_tensor(out["index"]).astype(np.float32)
        if out["dtype"] != np.float32:
            s, z = out["quantization"]
            y = (y - z) * s
        outs.append(y.reshape(-1))
    return np.stack(outs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("x"); ap.add_argument("y", nargs="?")
    ap.add_argument("--ref-model"); ap.add_argument("--json", action="store_true")
    ap.add_argument("--limit", type=int)
    a = ap.parse_args()
    x = np.load(a.x)
    if a.limit:
        x = x[: a.limit]
    y = run_all(a.model, x)
    r = {"model": os.path.basename(a.model), "samples": len(x), "bytes": os.path.getsize(a.model)}
    if a.y:
        labels = np.load(a.y)[: len(x)]
        r["accuracy"] = float((y.argmax(1) == labels).mean())
    if a.ref_model:
        ref = run_all(a.ref_model, x)
        cos = (y * ref).sum(1) / (np.linalg.norm(y, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12)
        r["cosine"] = float(cos.mean())
        r["sqnr_db"] = float(10 * np.log10((ref ** 2).sum() / max(((ref - y) ** 2).sum(), 1e-30)))
        r["top1_agreement"] = float((y.argmax(1) == ref.argmax(1)).mean())
    print(json.dumps(r) if a.json else "  ".join(f"{k}={v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
