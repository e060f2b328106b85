#!/usr/bin/env python3
"""Compare two .npy arrays with a tolerance.

    python compare_npy.py A.npy B.npy [--rtol 1e-4] [--atol 1e-5]

Exits 0 if shapes match and numpy.allclose(A, B, rtol, atol) holds (NaNs equal to NaNs), else 1.
Prints one line with the max absolute and max relative error (relative to |B|, B = reference).
Integer and bool arrays are compared as float64 values.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def compare(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> tuple[bool, str]:
    if a.shape != b.shape:
        return False, f"shape mismatch: {list(a.shape)} vs {list(b.shape)}"
    note = "" if a.dtype == b.dtype else f" (dtypes differ: {a.dtype} vs {b.dtype})"
    af, bf = a.astype(np.float64), b.astype(np.float64)
    if a.size == 0:
        return True, f"OK: empty arrays{note}"
    ok = bool(np.allclose(af, bf, rtol=rtol, atol=atol, equal_nan=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(af - bf)
        both_nan = np.isnan(af) & np.isnan(bf)
        diff = np.where(both_nan, 0.0, diff)
        rel = np.where(diff == 0, 0.0, diff / np.abs(bf))
    max_abs = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    max_rel = float(np.nanmax(np.where(np.isnan(rel), np.inf, rel)))
    bad = int(np.count_nonzero(~np.isclose(af, bf, rtol=rtol, atol=atol, equal_nan=True)))
    worst = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), a.shape)
    msg = (f"{'OK' if ok else 'MISMATCH'}: max abs err {max_abs:.6g}, max rel err {max_rel:.6g}, "
           f"{bad}/{a.size} elements outside rtol={rtol:g} atol={atol:g}, worst at {list(map(int, worst))} "
           f"({af[worst]:.9g} vs {bf[worst]:.9g}), shape {list(a.shape)}{note}")
    return ok, msg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b", help="reference array (relative error is taken w.r.t. it)")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    args = ap.parse_args(argv)
    try:
        a = np.load(args.a, allow_pickle=False)
        b = np.load(args.b, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        print(f"compare_npy: error: {e}", file=sys.stderr)
        return 1
    ok, msg = compare(a, b, args.rtol, args.atol)
    print(f"compare_npy: {msg}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
