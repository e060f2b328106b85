#!/usr/bin/env bash
# Build the wasm core with wasm-pack (release):
#   pkg/web          --target web     simd128 (the page and the browser entry js/browser.mjs;
#                                     also the Node entry js/index.node.mjs)
#   pkg/web-relaxed  --target web     simd128 + relaxed-simd
#   pkg/web-scalar   --target web     no SIMD (browsers without wasm SIMD)
#   pkg/web-threads  --target web     simd128 + relaxed-simd + wasm threads (cross-origin
#                                     isolated pages, js/threads.mjs)
#   pkg/node         --target nodejs  simd128 (the CLI and js/node.mjs)
# js/wasm-builds.mjs lists the browser builds; js/wasm-features.mjs picks one at
# load time by feature detection.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A set RUSTFLAGS replaces the simd128 flags of .cargo/config.toml.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

for target in web nodejs; do
  dir=${target%js}   # web -> web, nodejs -> node
  echo "==> wasm-pack build --target $target -> pkg/$dir"
  wasm-pack build crate --release --target "$target" \
    --out-dir "../pkg/$dir" --out-name modelpress --no-pack
done

# The other browser builds: the target-specific RUSTFLAGS replace the simd128
# flags of .cargo/config.toml; each has its own target dir so that the builds
# do not invalidate each other's caches.
build_web_variant() { # <pkg dir> <target dir> <target-feature list>
  echo "==> wasm-pack build --target web ($3) -> pkg/$1"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=$3" \
  CARGO_TARGET_DIR="$PWD/$2" \
    wasm-pack build crate --release --target web \
      --out-dir "../pkg/$1" --out-name modelpress --no-pack
}
build_web_variant web-relaxed target/wasm-relaxed "+simd128,+relaxed-simd"
build_web_variant web-scalar  target/wasm-scalar  "-simd128"

# The threaded build (relaxed SIMD + wasm threads, js/threads.mjs): atomics
# need a std built with them (-Z build-std, from the rust-src component;
# RUSTC_BOOTSTRAP lets the stable toolchain take the -Z flag) and a shared,
# imported memory that exports the TLS symbols wasm-bindgen's thread glue uses.
echo "==> wasm-pack build --target web (+simd128,+relaxed-simd,+atomics) -> pkg/web-threads"
THREAD_LINK="-C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory"
for sym in __wasm_init_tls __tls_size __tls_align __tls_base; do THREAD_LINK+=" -C link-arg=--export=$sym"; done
RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals $THREAD_LINK" \
CARGO_TARGET_DIR="$PWD/target/wasm-threads" \
  wasm-pack build crate --release --target web \
    --out-dir ../pkg/web-threads --out-name modelpress --no-pack \
    -- -Z build-std=panic_abort,std

# --no-pack writes no package.json; the nodejs glue is CommonJS and the root
# package.json says "type": "module", so mark pkg/node as CommonJS.
printf '{\n  "type": "commonjs"\n}\n' > pkg/node/package.json
for d in web web-relaxed web-scalar web-threads; do
  printf '{\n  "type": "module"\n}\n' > "pkg/$d/package.json"
done
rm -f pkg/*/.gitignore
ls -l pkg/web/modelpress_bg.wasm pkg/web-relaxed/modelpress_bg.wasm pkg/web-scalar/modelpress_bg.wasm pkg/web-threads/modelpress_bg.wasm pkg/node/modelpress_bg.wasm | awk '{print "    " $5 " bytes  " $9}'
