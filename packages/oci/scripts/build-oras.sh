#!/usr/bin/env bash
# Builds the reference `oras` binary that the conformance tests of @converge/oci run
# (oras.land/oras/cmd/oras), compiled with Go from the module proxy, pinned with every
# dependency by ../oras-module/go.mod and go.sum.
#
#   bash packages/oci/scripts/build-oras.sh                 # in this repository
#   bash .../build-oras.sh --print-path    # only print where the binary is (or will be)
#
# Output: ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/oras/<hash>/oras,
# outside the clone; <hash> covers go.mod, go.sum and the two build scripts, so a second run
# builds nothing. The binary's path is printed on stdout (last line); progress goes to stderr.
#
# Environment:
#   CONVERGE_ORAS_BIN   use this oras binary instead; nothing is built
#   CONVERGE_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge)
#   GO                  the go command (default: go)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
source "$here/find-go-build.sh" oras
module_dir="$pkg_dir/oras-module"

module=oras.land/oras
version="$(awk -v m="$module" '$1 == m { print $2; exit }' "$module_dir/go.mod")"
[[ -n "$version" ]] || die "cannot read the $module version from $module_dir/go.mod"
hash="$(input_hash "$module_dir/go.mod" "$module_dir/go.sum" "$go_build_sh" "$here/build-oras.sh")"
dest="$cache_root/$hash"

if [[ -n "${CONVERGE_ORAS_BIN:-}" ]]; then
  [[ -x "$CONVERGE_ORAS_BIN" ]] || die "CONVERGE_ORAS_BIN=$CONVERGE_ORAS_BIN is not an executable file"
  [[ "${1:-}" == "--print-path" ]] || log "CONVERGE_ORAS_BIN is set: using $CONVERGE_ORAS_BIN, nothing to build"
  echo "$CONVERGE_ORAS_BIN"
  exit 0
fi
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/oras"
  exit 0
fi

go_build_cached "$dest" oras "$module_dir" "$module/cmd/oras" "-s -w -X oras.land/oras/internal/version.Version=${version#v}"
echo "$dest/oras"
