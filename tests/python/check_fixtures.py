#!/usr/bin/env python3
"""Self-check of the committed fixtures (tests/fixtures/models/manifest.json), with the test venv.

    python check_fixtures.py [--models DIR] [-q]

For every model in the manifest: the file exists and its sha256 matches; the ops read back with
ai_edge_litert's schema reader match the manifest; and, for models with .npy files, LiteRT
(BUILTIN_REF) run on the stored inputs reproduces the stored outputs bit for bit (the same for
each SignatureDef of multi-signature models). Ends with the line 'N passed, N failed'.
Exit 0 if nothing failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from ai_edge_litert import schema_py_generated as schema  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"
OPNAME = {v: k for k, v in vars(schema.BuiltinOperator).items()
          if not k.startswith("_") and isinstance(v, int)}


def model_ops(raw: bytes) -> list[str]:
    m = schema.Model.GetRootAs(raw, 0)
    names = set()
    for si in range(m.SubgraphsLength()):
        sg = m.Subgraphs(si)
        for oi in range(sg.OperatorsLength()):
            oc = m.OperatorCodes(sg.Operators(oi).OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            names.add(OPNAME.get(code, f"BUILTIN_{code}"))
    return sorted(names)


def check_model(d: Path, e: dict) -> list[str]:
    errs = []
    path = d / e["file"]
    if not path.exists():
        return [f"missing file {e['file']}"]
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != e["sha256"]:
        errs.append("sha256 differs from manifest")
    ops = model_ops(raw)
    if ops != e["ops"]:
        errs.append(f"ops {ops} != manifest {e['ops']}")
    if e.get("input_files"):
        it = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        for det, f in zip(it.get_input_details(), e["input_files"]):
            it.set_tensor(det["index"], np.load(d / f))
        it.invoke()
        for i, (det, f) in enumerate(zip(it.get_output_details(), e["output_files"])):
            got, want = it.get_tensor(det["index"]), np.load(d / f)
            if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
                errs.append(f"output {i} differs from {f}")
        for key, sig in (e.get("signatures") or {}).items():
            runner = it.get_signature_runner(key)
            res = runner(**{nm: np.load(d / f) for nm, f in sig["input_files"].items()})
            for nm, f in sig["output_files"].items():
                if np.asarray(res[nm]).tobytes() != np.load(d / f).tobytes():
                    errs.append(f"signature {key} output {nm} differs from {f}")
    return errs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    manifest = json.loads((args.models / "manifest.json").read_text())
    passed = failed = 0
    for e in manifest["models"]:
        try:
            errs = check_model(args.models, e)
        except Exception as ex:  # noqa: BLE001
            errs = [f"{type(ex).__name__}: {' '.join(str(ex).split())}"]
        if errs:
            failed += 1
            print(f"FAIL {e['file']}: " + "; ".join(errs))
        else:
            passed += 1
            if not args.quiet:
                print(f"ok   {e['file']}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
