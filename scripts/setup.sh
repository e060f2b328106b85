#!/usr/bin/env bash
# Set up a fresh machine (idempotent): install what is missing, then npm ci.
# On a fresh Debian 12 machine with rustup, Node 20 and npm: about 6 minutes of
# tool installs the first time; later runs skip them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" CARGO_TERM_COLOR=never NO_COLOR=1
# A set RUSTFLAGS replaces the simd128 flags of .cargo/config.toml.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  if [[ $APT_UPDATED -eq 0 ]]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

# Headless browser for the wasm-bindgen tests and the page tests (never downloaded by npm).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi
# `python3 -m venv` for tests/python (Debian ships venv/ensurepip separately).
if ! command -v python3 >/dev/null; then
  apt_install python3 python3-venv
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install python3-venv
fi

# Rust -> wasm toolchain, pinned.
rustup target add wasm32-unknown-unknown
# std sources, for the threaded build's -Z build-std (scripts/build.sh)
rustup component add rust-src
WB_VER=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
[[ -n "$WB_VER" ]] || { echo "error: no wasm-bindgen version in Cargo.lock" >&2; exit 1; }
[[ "$(wasm-pack --version 2>/dev/null)" == "wasm-pack 0.15.1" ]] || cargo install wasm-pack --version 0.15.1 --locked
# Without --locked: its lockfile pins a crate version the registry here lacks.
[[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $WB_VER" ]] || cargo install wasm-bindgen-cli --version "$WB_VER" --force
# Debian's binaryen 108 breaks the output: wasm-opt is off in crate/Cargo.toml; warn if one is on PATH.
if command -v wasm-opt >/dev/null; then echo "note: $(command -v wasm-opt) is on PATH (unused: wasm-opt = false)"; fi

# JS dependencies (playwright-core only; no browser download).
npm ci --no-audit --no-fund
