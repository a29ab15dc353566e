#!/usr/bin/env bash
# Builds a real `helm` binary from the same Go module as the wasm engine
# (helm.sh/helm/v4/cmd/helm, pinned by engine/go.mod and engine/go.sum, declared as a
# `tool` there), for the conformance tests, the benchmark and `engine: 'cli'` users.
#
# Cached by input hash (go.mod, go.sum, Go version, linker flags) in
# ${XDG_CACHE_HOME:-$HOME/.cache}/converge/helm-bin/<hash>/helm, outside the clone;
# a second run builds nothing. The binary's path is printed on stdout (last line);
# progress goes to stderr.
#
# Environment: GO (default: go), CONVERGE_CACHE_DIR (default: $XDG_CACHE_HOME/converge).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/helm-build-env.sh" helm-bin
goos="$(GOTOOLCHAIN=local "$GO" env GOOS)"
goarch="$(GOTOOLCHAIN=local "$GO" env GOARCH)"

hash="$(
  {
    echo "go=$go_version $goos/$goarch"
    echo "ldflags=$ldflags"
    echo "script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
    echo "go.mod=$(sha256sum "$engine_dir/go.mod" | cut -d' ' -f1)"
    echo "go.sum=$(sha256sum "$engine_dir/go.sum" | cut -d' ' -f1)"
  } | sha256sum | cut -c1-16
)"
cache_dir="$cache_root/$hash"

if [[ -x "$cache_dir/helm" ]]; then
  log "cache hit: $cache_dir/helm"
else
  log "building helm ${helm_version} (helm.sh/helm/v4/cmd/helm) for $goos/$goarch with ${go_version} (input hash $hash)"
  log "this takes several minutes on a cold Go build cache"
  mkdir -p "$cache_dir"
  tmp="$(mktemp "$cache_dir/.helm.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  start=$(date +%s)
  (
    cd "$engine_dir"
    GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" helm.sh/helm/v4/cmd/helm
  )
  chmod 0755 "$tmp"
  mv -f "$tmp" "$cache_dir/helm"
  trap - EXIT
  log "built in $(( $(date +%s) - start ))s: $("$cache_dir/helm" version --short 2>/dev/null || echo '?')"
fi
echo "$cache_dir/helm"
