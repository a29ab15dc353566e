#!/usr/bin/env bash
# Builds the reference `cosign` binary that the signature tests of @converge/oci run
# (github.com/sigstore/cosign/v2/cmd/cosign), compiled with Go from the module proxy, pinned with every
# dependency by ../cosign-module/go.mod and go.sum.
#
#   bash packages/oci/scripts/build-cosign.sh                 # in this repository
#   bash .../build-cosign.sh --print-path    # only print where the binary is (or will be)
#
# Output: ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/cosign/<hash>/cosign,
# outside the clone; <hash> covers go.mod, go.sum and the two build scripts, so a second run
# builds nothing. The binary's path is printed on stdout (last line); progress goes to stderr.
#
# Environment:
#   CONVERGE_COSIGN_BIN   use this cosign binary instead; nothing is built
#   CONVERGE_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge)
#   GO                  the go command (default: go)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
source "$here/find-go-build.sh" cosign
module_dir="$pkg_dir/cosign-module"

module=github.com/sigstore/cosign/v2
version="$(awk -v m="$module" '$1 == m { print $2; exit }' "$module_dir/go.mod")"
[[ -n "$version" ]] || die "cannot read the $module version from $module_dir/go.mod"
hash="$(input_hash "$module_dir/go.mod" "$module_dir/go.sum" "$go_build_sh" "$here/build-cosign.sh")"
dest="$cache_root/$hash"

if [[ -n "${CONVERGE_COSIGN_BIN:-}" ]]; then
  [[ -x "$CONVERGE_COSIGN_BIN" ]] || die "CONVERGE_COSIGN_BIN=$CONVERGE_COSIGN_BIN is not an executable file"
  [[ "${1:-}" == "--print-path" ]] || log "CONVERGE_COSIGN_BIN is set: using $CONVERGE_COSIGN_BIN, nothing to build"
  echo "$CONVERGE_COSIGN_BIN"
  exit 0
fi
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/cosign"
  exit 0
fi

go_build_cached "$dest" cosign "$module_dir" "$module/cmd/cosign" "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$version"
echo "$dest/cosign"
