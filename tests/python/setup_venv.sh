#!/usr/bin/env bash
# Create (if missing) the test virtualenv tests/.venv and install requirements-test.txt into it
# (only when not already satisfied). Idempotent; a no-op run takes well under a second.
#
# The venv's python path is the only thing printed on stdout (last line), so callers can do:
#     PY="$(bash tests/python/setup_venv.sh)"
# Progress and pip output go to stderr.
#
# Environment:
#   PYTHON                interpreter used to create the venv (default: python3)
#   MODELPRESS_TEST_VENV  venv location (default: <repo>/tests/.venv)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTS_DIR="$(dirname "$HERE")"
VENV="${MODELPRESS_TEST_VENV:-$TESTS_DIR/.venv}"
REQ="$HERE/requirements-test.txt"
BASE_PY="${PYTHON:-python3}"
VPY="$VENV/bin/python"
STAMP="$VENV/.requirements-test.sha256"

log() { echo "setup_venv: $*" >&2; }

if [ ! -x "$VPY" ] || ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
    log "creating $VENV with $($BASE_PY --version 2>&1)"
    rm -rf "$VENV"
    "$BASE_PY" -m venv "$VENV" >&2
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
check='import numpy, ai_edge_litert.interpreter, ai_edge_litert.schema_py_generated'

if [ "$want" = "$have" ] && "$VPY" -c "$check" >/dev/null 2>&1; then
    log "requirements already satisfied"
else
    log "installing $(basename "$REQ")"
    rm -f "$STAMP"
    "$VPY" -m pip install --disable-pip-version-check --no-input -q -r "$REQ" >&2
    "$VPY" -c "$check"
    echo "$want" > "$STAMP"
    log "done"
fi

echo "$VPY"
