#!/usr/bin/env bash
# `npm test`: every test of the project, in order, stopping at the first failure.
#   1. cargo test --workspace                      (native Rust tests)
#   2. wasm-pack test --headless --chrome          (wasm-bindgen tests in headless Chromium:
#                                                   the simd128, relaxed-simd and scalar builds)
#   3. npm run build                               (pkg/web, pkg/web-relaxed, pkg/web-scalar, pkg/node)
#   4. tests/python/setup_venv.sh                  (tests/.venv with ai-edge-litert)
#   5. tests/python/test_*.py                      (cross-checks against LiteRT: pytest for
#                                                   pytest-style files, else run as scripts)
#   6. node --test tests/cli/ tests/e2e/           (CLI, npy, package API, server, page; last,
#                                                   so its summary is the last output)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A set RUSTFLAGS replaces the simd128 flags of .cargo/config.toml.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

T0=$(date +%s)
STEP_T0=$T0
STEP=""
step() {
  local now
  now=$(date +%s)
  [[ -n "$STEP" ]] && echo "--- ok: $STEP ($((now - STEP_T0)) s)"
  STEP="$*"
  STEP_T0=$now
  echo
  echo "=== $STEP"
}
LAST=0
trap 'rc=$?; if [[ $rc -ne 0 && $LAST -eq 0 ]]; then echo; echo "=== FAILED (exit $rc) at: $STEP"; fi' EXIT

step "cargo test --workspace"
cargo test --workspace

step "wasm-bindgen tests in headless Chromium"
# Only test targets with wasm-bindgen tests (plus the lib's own), so the native
# integration tests are not rebuilt for wasm32; zero tests is a success.
wasm_targets=(--lib)
for f in crate/tests/*.rs; do
  [[ -e "$f" ]] || continue
  if grep -q 'wasm_bindgen_test' "$f"; then wasm_targets+=(--test "$(basename "$f" .rs)"); fi
done
echo "targets: ${wasm_targets[*]}"
wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" crate "${wasm_targets[@]}"

# The same tests for the other browser builds (scripts/build.sh): relaxed SIMD,
# and scalar (no SIMD). Their own target dirs, so the builds keep their caches.
step "wasm-bindgen tests in headless Chromium, relaxed-simd build"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" CARGO_TARGET_DIR="$PWD/target/wasm-relaxed-test" \
  wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" crate "${wasm_targets[@]}"

step "wasm-bindgen tests in headless Chromium, scalar build"
# tests/wasm.rs, and tests/wasm_kernels.rs (which compares the SIMD128 kernels
# with their scalar twins, so it is cfg'd out here: zero tests).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-simd128" CARGO_TARGET_DIR="$PWD/target/wasm-scalar-test" \
  wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" crate --test wasm --test wasm_kernels

step "npm run build"
npm run build

shopt -s nullglob
py_tests=(tests/python/test_*.py)
shopt -u nullglob
if [[ -f tests/python/setup_venv.sh ]]; then
  step "python venv (tests/python/setup_venv.sh)"
  bash tests/python/setup_venv.sh
elif (( ${#py_tests[@]} )); then
  echo "error: tests/python has tests but no setup_venv.sh" >&2
  exit 1
fi
# pytest-style files (with test_ functions) run under pytest; script-style files
# (a main() that exits non-zero on failure) run one by one. All run, then the
# step fails if any failed.
pytest_files=()
script_files=()
for f in "${py_tests[@]}"; do
  if grep -qE '^\s*def test_' "$f"; then pytest_files+=("$f"); else script_files+=("$f"); fi
done
if (( ${#py_tests[@]} )); then
  step "python cross-checks (${#py_tests[@]} files)"
  py_failed=()
  if (( ${#pytest_files[@]} )); then
    if ! tests/.venv/bin/python -c 'import pytest' 2>/dev/null; then
      echo "error: pytest is not in tests/.venv (add it to tests/python/requirements-test.txt)" >&2
      exit 1
    fi
    tests/.venv/bin/python -m pytest -q "${pytest_files[@]}" || py_failed+=("pytest ${pytest_files[*]}")
  fi
  for f in "${script_files[@]}"; do
    echo "--- python $f"
    tests/.venv/bin/python "$f" || py_failed+=("$f")
  done
  if (( ${#py_failed[@]} )); then
    echo "error: python cross-checks failed: ${py_failed[*]}" >&2
    exit 1
  fi
else
  echo "(no tests/python/test_*.py yet: skipping the Python cross-checks)"
fi

step "node --test tests/cli/ tests/e2e/ tests/package/"
echo "(total so far $(( $(date +%s) - T0 )) s)"
LAST=1
node --test tests/cli/ tests/e2e/ tests/package/
