#!/usr/bin/env bash
# Builds the OCI registry that startRegistry() (@converge/oci/testing) runs: CNCF distribution's
# `registry` (github.com/distribution/distribution/v3/cmd/registry), compiled with Go from the
# module proxy, pinned with every dependency by ../registry-module/go.mod and go.sum.
#
#   bash node_modules/@converge/oci/scripts/build-registry.sh        # in a user project
#   bash packages/oci/scripts/build-registry.sh                      # in this repository
#   bash .../build-registry.sh --print-path    # only print where the binary is (or will be)
#
# Output: ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/registry/<hash>/registry,
# outside the clone; <hash> covers go.mod, go.sum and the two build scripts, so a second run
# builds nothing. The binary's path is printed on stdout (last line); progress goes to stderr.
#
# Environment:
#   CONVERGE_REGISTRY_BIN  use this registry binary instead; nothing is built
#   CONVERGE_CACHE_DIR     cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge)
#   GO                     the go command (default: go)
set -euo pipefail

# Resolve symlinks, in case a bin link points here.
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
source "$here/find-go-build.sh" registry
module_dir="$pkg_dir/registry-module"

module=github.com/distribution/distribution/v3
version="$(awk -v m="$module" '$1 == m { print $2; exit }' "$module_dir/go.mod")"
[[ -n "$version" ]] || die "cannot read the $module version from $module_dir/go.mod"
# Keep these four files in step with registryCachePath() in src/testing/locate-registry.ts.
hash="$(input_hash "$module_dir/go.mod" "$module_dir/go.sum" "$go_build_sh" "$here/build-registry.sh")"
dest="$cache_root/$hash"

if [[ -n "${CONVERGE_REGISTRY_BIN:-}" ]]; then
  [[ -x "$CONVERGE_REGISTRY_BIN" ]] || die "CONVERGE_REGISTRY_BIN=$CONVERGE_REGISTRY_BIN is not an executable file"
  [[ "${1:-}" == "--print-path" ]] || log "CONVERGE_REGISTRY_BIN is set: using $CONVERGE_REGISTRY_BIN, nothing to build"
  echo "$CONVERGE_REGISTRY_BIN"
  exit 0
fi
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/registry"
  exit 0
fi

go_build_cached "$dest" registry "$module_dir" "$module/cmd/registry" "-s -w -X $module/version.version=$version"
echo "$dest/registry"
