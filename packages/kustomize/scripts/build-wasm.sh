#!/usr/bin/env bash
# Builds the kustomize engine (engine/: sigs.k8s.io/kustomize/api's krusty compiled to
# WebAssembly) and copies it, with Go's wasm_exec.js, the build info and the third-party
# license notices, into packages/kustomize/wasm/ so that it ships in the npm package.
#
# Cached by input hash (engine sources, go.mod, go.sum, Go version, linker flags, these
# scripts) in ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/kustomize-wasm/<hash>/,
# outside the clone, through core's go-build.sh (one build per key at a time, temp dir +
# atomic rename, progress lines); a second run with the same inputs builds nothing.
#
# Environment: GO (default: go), CONVERGE_CACHE_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/kustomize-build-env.sh" kustomize-wasm
out_dir="$pkg_dir/wasm"
notices_sh="$pkg_dir/../wasm-host/scripts/third-party-notices.sh"
wasmhost_go="$pkg_dir/../wasm-host/go"
goroot="$(GOTOOLCHAIN=local "$GO" env GOROOT)"

hash="$(
  {
    cd "$engine_dir"
    # The engine, its Go glue shared with the other engines (wasm-host/go), and these scripts.
    input_hash go.mod go.sum $(ls *.go | grep -v '_test\.go$' | LC_ALL=C sort) \
      "$wasmhost_go"/go.mod $(ls "$wasmhost_go"/*.go | LC_ALL=C sort) \
      "$go_build_sh" "$here/kustomize-build-env.sh" "$here/build-wasm.sh" "$notices_sh"
    echo "$go_version js/wasm $ldflags"
  } | sha256sum | cut -c1-16
)"
dest="$cache_root/$hash"

GOOS=js GOARCH=wasm go_build_cached "$dest" kustomize-engine.wasm "$engine_dir" . "$ldflags"

# What ships next to the engine. Written once per cache entry, each file atomically.
publish() { # publish <name>: moves $dest/.<name>.tmp into place
  mv -f "$dest/.$1.tmp" "$dest/$1"
}
if [[ ! -f "$dest/THIRD_PARTY_NOTICES.txt" ]]; then
  log "collecting third-party licenses of the modules linked into the wasm"
  bash "$notices_sh" "$engine_dir" kustomize-engine.wasm > "$dest/.THIRD_PARTY_NOTICES.txt.tmp"
  publish THIRD_PARTY_NOTICES.txt
fi
if [[ ! -f "$dest/wasm_exec.js" ]]; then
  cp "$goroot/lib/wasm/wasm_exec.js" "$dest/.wasm_exec.js.tmp"
  publish wasm_exec.js
fi
if [[ ! -f "$dest/build-info.json" ]]; then
  printf '{"kustomizeVersion":"%s","kustomizeApiVersion":"%s","goVersion":"%s","hash":"%s"}\n' \
    "$kustomize_version" "$api_version" "$go_version" "$hash" > "$dest/.build-info.json.tmp"
  publish build-info.json
fi

# Copy into the package (atomically, and only what changed).
mkdir -p "$out_dir"
for f in kustomize-engine.wasm wasm_exec.js build-info.json THIRD_PARTY_NOTICES.txt; do
  if ! cmp -s "$dest/$f" "$out_dir/$f"; then
    cp "$dest/$f" "$out_dir/.$f.tmp"
    mv -f "$out_dir/.$f.tmp" "$out_dir/$f"
    log "updated wasm/$f"
  fi
done
size=$(wc -c < "$dest/kustomize-engine.wasm")
gz=$(gzip -6 -c "$dest/kustomize-engine.wasm" | wc -c)
log "wasm/kustomize-engine.wasm: $(( size / 1024 )) KiB ($(( gz / 1024 )) KiB gzipped)"
