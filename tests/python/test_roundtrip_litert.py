#!/usr/bin/env python3
"""Round trip through modelpress (the wasm CLI) checked with LiteRT's own tools.

For every fixture model:
  1. `modelpress optimize MODEL -o OUT` (identity recipe), and once more with
     {"externalBuffers": true} (constant data stored after the flatbuffer);
  2. both outputs parsed with LiteRT's flatbuffer reader must be structurally
     identical to the original: operator codes, every tensor (type, shape,
     signature, name, quantization, sparsity, buffer bytes), every operator
     (code, inputs, outputs, builtin options field by field, custom options),
     metadata (names and bytes), signature defs, description;
  3. every model LiteRT can run gives bit-identical outputs for the original
     and both rewrites (litert_compare.py, reference kernels).

Usage: python test_roundtrip_litert.py [--cli "node bin/modelpress.mjs"]
Exit 0 when everything holds; prints one line per model and a summary.
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
from ai_edge_litert.tools import flatbuffer_utils as fbu  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "models"
HERE = Path(__file__).resolve().parent


def canon(x):
    """Plain comparable structure from generated object-API values."""
    if isinstance(x, np.ndarray):
        return ("nd", str(x.dtype), x.tobytes().hex())
    if isinstance(x, (bytes, bytearray)):
        return ("b", bytes(x).hex())
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    if isinstance(x, float):
        return ("f", np.float32(x).tobytes().hex())
    if hasattr(x, "__dict__"):
        return {k: canon(v) for k, v in sorted(vars(x).items())}
    return x


def as_u8(data) -> bytes:
    if data is None:
        return b""
    return bytes(np.asarray(data, dtype=np.uint8).tobytes())


def buffer_bytes(model, raw: bytes, i: int) -> bytes:
    b = model.buffers[i]
    if getattr(b, "offset", 0) and b.offset > 1:
        return raw[b.offset : b.offset + b.size]
    return as_u8(b.data)


def normalize(path: Path) -> dict:
    raw = path.read_bytes()
    m = fbu.read_model_from_bytearray(bytearray(raw)) if hasattr(fbu, "read_model_from_bytearray") else None
    if m is None:
        m = fbu.convert_bytearray_to_object(bytearray(raw))
    # read_model_from_bytearray may already resolve offset buffers; fall back to raw slices.
    def buf(i):
        try:
            return buffer_bytes(m, raw, i)
        except Exception:
            return as_u8(m.buffers[i].data)

    codes = []
    for oc in m.operatorCodes or []:
        codes.append((fbu.get_builtin_code_from_operator_code(oc), oc.customCode, oc.version))
    sgs = []
    for sg in m.subgraphs or []:
        tensors = []
        for t in sg.tensors or []:
            tensors.append(
                {
                    "name": t.name,
                    "type": t.type,
                    "shape": canon(t.shape),
                    "sig": canon(t.shapeSignature),
                    "data": buf(t.buffer).hex() if t.buffer else "",
                    "quant": canon(t.quantization),
                    "sparsity": canon(t.sparsity),
                    "var": t.isVariable,
                    "rank": t.hasRank,
                    "variants": canon(t.variantTensors),
                }
            )
        ops = []
        for o in sg.operators or []:
            ops.append(
                {
                    "code": codes[o.opcodeIndex],
                    "in": canon(o.inputs),
                    "out": canon(o.outputs),
                    "opt_type": o.builtinOptionsType,
                    "opt": canon(o.builtinOptions),
                    "opt2_type": getattr(o, "builtinOptions2Type", 0),
                    "opt2": canon(getattr(o, "builtinOptions2", None)),
                    "custom": as_u8(o.customOptions).hex(),
                    "inter": canon(o.intermediates),
                    "mvi": canon(o.mutatingVariableInputs),
                }
            )
        sgs.append({"name": sg.name, "tensors": tensors, "in": canon(sg.inputs), "out": canon(sg.outputs), "ops": ops})
    meta = [(md.name, buf(md.buffer).hex()) for md in (m.metadata or [])]
    sigs = [canon(s) for s in (m.signatureDefs or [])]
    return {"version": m.version, "desc": m.description, "subgraphs": sgs, "metadata": meta, "signatures": sigs}


def first_diff(a, b, path="model"):
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: missing on one side"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {str(a)[:80]} vs {str(b)[:80]}"


def main() -> int:
    cli = os.environ.get("MODELPRESS_CLI", "node bin/modelpress.mjs").split()
    manifest = json.loads((MODELS / "manifest.json").read_text())
    entries = {e["file"]: e for e in manifest["models"]}
    files = sorted(p for p in MODELS.glob("*.tflite"))
    # Extra directories (e.g. the shared reference models) can be given as
    # arguments; their models are all run in LiteRT with random inputs.
    for d in sys.argv[1:]:
        for p in sorted(Path(d).glob("*.tflite")):
            files.append(p)
            entries[p.name] = {"litert_runnable": True}
    assert files, "no fixtures"
    failures, ran_litert = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        recipe = Path(tmp) / "external.json"
        recipe.write_text(json.dumps({"externalBuffers": True}))
        for f in files:
            outs = []
            for tag, extra in (("identity", []), ("external", ["--recipe", str(recipe)])):
                out = Path(tmp) / f"{f.stem}.{tag}.tflite"
                r = subprocess.run(cli + ["optimize", str(f), "-o", str(out)] + extra, cwd=ROOT, capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{f.name} ({tag}): CLI failed: {r.stderr.strip()}")
                    continue
                d = first_diff(normalize(f), normalize(out))
                if d:
                    failures.append(f"{f.name} ({tag}): structure differs at {d}")
                    continue
                outs.append(out)
            e = entries.get(f.name, {})
            status = "structure identical"
            if e.get("litert_runnable") and len(outs) == 2:
                ins = [str(MODELS / x) for x in e.get("input_files", [])]
                for out in outs:
                    args = [sys.executable, str(HERE / "litert_compare.py"), str(f), str(out), "--ref"]
                    for x in ins:
                        args += ["--input", x]
                    r = subprocess.run(args, capture_output=True, text=True)
                    if r.returncode != 0:
                        failures.append(f"{f.name} ({out.name}): LiteRT outputs differ: {(r.stdout + r.stderr).strip()[-300:]}")
                ran_litert += 1
                status += ", LiteRT outputs bit-identical"
            print(f"{f.name}: {status}")
    for x in failures:
        print("FAIL", x)
    print(f"{len(files)} models, {ran_litert} run in LiteRT, {len(failures)} failures")
    if ran_litert < 10:
        print("FAIL too few models ran in LiteRT")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
