#!/usr/bin/env bash
# Builds the Helm engine (engine/, Helm v4 compiled to WebAssembly) and copies it,
# with Go's wasm_exec.js, into packages/helm-render/wasm/ so that it ships in the
# npm package.
#
# The build is cached by input hash (engine sources, go.mod, go.sum, Go version,
# linker flags) in ${XDG_CACHE_HOME:-$HOME/.cache}/converge/helm-wasm/<hash>/,
# outside the clone; a second run with the same inputs builds nothing. Writes are
# atomic (temp file + rename), so an interrupted build never leaves a broken file.
#
# Environment: GO (default: go), CONVERGE_CACHE_DIR (default: $XDG_CACHE_HOME/converge).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/helm-build-env.sh" helm-wasm
out_dir="$pkg_dir/wasm"
notices_sh="$pkg_dir/../wasm-host/scripts/third-party-notices.sh"
wasmhost_go="$pkg_dir/../wasm-host/go"
goroot="$(GOTOOLCHAIN=local "$GO" env GOROOT)"

hash="$(
  {
    echo "go=$go_version"
    echo "ldflags=$ldflags"
    echo "script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
    echo "notices=$(sha256sum "$notices_sh" | cut -d' ' -f1)"
    cd "$engine_dir"
    for f in go.mod go.sum $(ls *.go | grep -v "_test\.go$" | LC_ALL=C sort); do
      echo "$f=$(sha256sum "$f" | cut -d' ' -f1)"
    done
    # The Go glue shared with the other engines (wasm-host/go).
    for f in "$wasmhost_go"/go.mod $(ls "$wasmhost_go"/*.go | LC_ALL=C sort); do
      echo "wasm-host/$(basename "$f")=$(sha256sum "$f" | cut -d' ' -f1)"
    done
  } | sha256sum | cut -c1-16
)"
cache_dir="$cache_root/$hash"

if [[ -f "$cache_dir/complete" ]]; then
  log "cache hit: $cache_dir"
else
  log "building Helm ${helm_version} engine for GOOS=js GOARCH=wasm with ${go_version} (input hash $hash)"
  log "this takes a few minutes on a cold Go build cache"
  mkdir -p "$cache_dir"
  tmp="$(mktemp "$cache_dir/.helm-engine.wasm.XXXXXX")"
  trap 'rm -f "$tmp" "$cache_dir/.wasm_exec.js."*' EXIT
  start=$(date +%s)
  (
    cd "$engine_dir"
    GOTOOLCHAIN=local GOOS=js GOARCH=wasm CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" .
  )
  log "compiled in $(( $(date +%s) - start ))s"
  mv -f "$tmp" "$cache_dir/helm-engine.wasm"
  tmpjs="$(mktemp "$cache_dir/.wasm_exec.js.XXXXXX")"
  cp "$goroot/lib/wasm/wasm_exec.js" "$tmpjs"
  mv -f "$tmpjs" "$cache_dir/wasm_exec.js"
  log "collecting third-party licenses of the modules linked into the wasm"
  notices="$cache_dir/.THIRD_PARTY_NOTICES.txt.tmp"
  bash "$notices_sh" "$engine_dir" helm-engine.wasm > "$notices"
  mv -f "$notices" "$cache_dir/THIRD_PARTY_NOTICES.txt"
  printf '{"helmVersion":"%s","goVersion":"%s","hash":"%s"}\n' "$helm_version" "$go_version" "$hash" > "$cache_dir/build-info.json.tmp"
  mv -f "$cache_dir/build-info.json.tmp" "$cache_dir/build-info.json"
  size=$(wc -c < "$cache_dir/helm-engine.wasm")
  gz=$(gzip -6 -c "$cache_dir/helm-engine.wasm" | wc -c)
  echo "$size $gz" > "$cache_dir/sizes"
  touch "$cache_dir/complete"
  trap - EXIT
fi

# Copy into the package (atomically, and only what changed).
mkdir -p "$out_dir"
for f in helm-engine.wasm wasm_exec.js build-info.json THIRD_PARTY_NOTICES.txt; do
  if ! cmp -s "$cache_dir/$f" "$out_dir/$f"; then
    cp "$cache_dir/$f" "$out_dir/.$f.tmp"
    mv -f "$out_dir/.$f.tmp" "$out_dir/$f"
    log "updated wasm/$f"
  fi
done

read -r size gz < "$cache_dir/sizes"
log "wasm/helm-engine.wasm: $(( size / 1024 )) KiB ($(( gz / 1024 )) KiB gzipped)"
