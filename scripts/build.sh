#!/usr/bin/env bash
# Build the wasm core twice with wasm-pack (release):
#   pkg/web   --target web     (the page and the browser entry js/browser.mjs)
#   pkg/node  --target nodejs  (the CLI and the Node entry js/node.mjs)
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
# --no-pack writes no package.json; the nodejs glue is CommonJS and the root
# package.json says "type": "module", so mark pkg/node as CommonJS.
printf '{\n  "type": "commonjs"\n}\n' > pkg/node/package.json
printf '{\n  "type": "module"\n}\n' > pkg/web/package.json
rm -f pkg/*/.gitignore
ls -l pkg/web/modelpress_bg.wasm pkg/node/modelpress_bg.wasm | awk '{print "    " $5 " bytes  " $9}'
