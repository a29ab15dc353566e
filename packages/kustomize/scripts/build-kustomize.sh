#!/usr/bin/env bash
# Builds the reference `kustomize` binary from the same Go module as the wasm engine
# (sigs.k8s.io/kustomize/kustomize/v5, declared as a `tool` in engine/go.mod and pinned with
# every dependency by engine/go.sum, so it links the same sigs.k8s.io/kustomize/api), for the
# conformance tests and the benchmark.
#
# Cached by input hash in ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/kustomize-bin/<hash>/kustomize,
# outside the clone; a second run builds nothing. The binary's path is printed on stdout
# (last line); progress goes to stderr.
#
#   bash scripts/build-kustomize.sh [--print-path]
#
# Environment: GO (default: go), CONVERGE_CACHE_DIR, CONVERGE_KUSTOMIZE_BIN (use this binary;
# nothing is built).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/kustomize-build-env.sh" kustomize-bin

if [[ -n "${CONVERGE_KUSTOMIZE_BIN:-}" ]]; then
  [[ -x "$CONVERGE_KUSTOMIZE_BIN" ]] || die "CONVERGE_KUSTOMIZE_BIN=$CONVERGE_KUSTOMIZE_BIN is not an executable file"
  echo "$CONVERGE_KUSTOMIZE_BIN"
  exit 0
fi

goos="$(GOTOOLCHAIN=local "$GO" env GOOS)"
goarch="$(GOTOOLCHAIN=local "$GO" env GOARCH)"
hash="$(
  { input_hash "$engine_dir/go.mod" "$engine_dir/go.sum" "$go_build_sh" "$here/kustomize-build-env.sh" "$here/build-kustomize.sh"
    echo "$go_version $goos/$goarch $ldflags"; } | sha256sum | cut -c1-16
)"
dest="$cache_root/$hash"
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/kustomize"
  exit 0
fi
go_build_cached "$dest" kustomize "$engine_dir" sigs.k8s.io/kustomize/kustomize/v5 "$ldflags"
echo "$dest/kustomize"
