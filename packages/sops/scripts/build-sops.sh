#!/usr/bin/env bash
# Builds the reference `sops` binary that the conformance tests of @converge/sops run
# (github.com/getsops/sops/v3/cmd/sops), compiled with Go from the module proxy, pinned with
# every dependency by ../sops-module/go.mod and go.sum.
#
#   bash packages/sops/scripts/build-sops.sh                 # in this repository
#   bash .../build-sops.sh --print-path    # only print where the binary is (or will be)
#
# Output: ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/sops/<hash>/sops,
# outside the clone; <hash> covers go.mod, go.sum and the two build scripts, so a second run
# builds nothing. The binary's path is printed on stdout (last line); progress goes to stderr.
#
# Environment:
#   CONVERGE_SOPS_BIN   use this sops binary instead; nothing is built
#   CONVERGE_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge)
#   GO                  the go command (default: go)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
pkg_dir="$(cd "$here/.." && pwd)"
module_dir="$pkg_dir/sops-module"
go_build_sh=""
for candidate in "$pkg_dir/../core/scripts/go-build.sh" "$pkg_dir/node_modules/@converge/core/scripts/go-build.sh"; do
  if [[ -f "$candidate" ]]; then go_build_sh="$(cd "$(dirname "$candidate")" && pwd)/go-build.sh"; break; fi
done
[[ -n "$go_build_sh" ]] || { echo "[sops] error: cannot find @converge/core's scripts/go-build.sh" >&2; exit 1; }
source "$go_build_sh" sops

module=github.com/getsops/sops/v3
version="$(awk -v m="$module" '$1 == m { print $2; exit }' "$module_dir/go.mod")"
[[ -n "$version" ]] || die "cannot read the $module version from $module_dir/go.mod"
hash="$(input_hash "$module_dir/go.mod" "$module_dir/go.sum" "$go_build_sh" "$here/build-sops.sh")"
dest="$cache_root/$hash"

if [[ -n "${CONVERGE_SOPS_BIN:-}" ]]; then
  [[ -x "$CONVERGE_SOPS_BIN" ]] || die "CONVERGE_SOPS_BIN=$CONVERGE_SOPS_BIN is not an executable file"
  [[ "${1:-}" == "--print-path" ]] || log "CONVERGE_SOPS_BIN is set: using $CONVERGE_SOPS_BIN, nothing to build"
  echo "$CONVERGE_SOPS_BIN"
  exit 0
fi
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/sops"
  exit 0
fi

go_build_cached "$dest" sops "$module_dir" "$module/cmd/sops" "-s -w"
echo "$dest/sops"
