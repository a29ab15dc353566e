#!/usr/bin/env bash
# Builds the Gitea that startGitea() (@converge/forge/testing) runs: code.gitea.io/gitea, pinned
# with its module hash by ./gitea.sum, compiled with Go (and cgo, for sqlite) inside the module's
# own source, because Gitea's go.mod has replace directives a wrapper module would not honour.
#
#   bash node_modules/@converge/forge/scripts/build-gitea.sh      # in a user project
#   bash packages/forge/scripts/build-gitea.sh                    # in this repository
#   bash .../build-gitea.sh --print-path    # only print where the binary is (or will be)
#
# Output, outside the clone, in ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/gitea/:
#   <hash>/gitea              the binary (tags sqlite sqlite_unlock_notify)
#   <hash>-static/options     Gitea's options/ and templates/ folders, which a build without the
#   <hash>-static/templates   bindata tag reads from its STATIC_ROOT_PATH
# <hash> covers gitea.sum and the build scripts, so a second run builds nothing. The binary's path
# is printed on stdout (last line); progress goes to stderr. About 5 minutes on 2 cores.
#
# Environment:
#   CONVERGE_GITEA_BIN   use this gitea binary instead (its static files from CONVERGE_GITEA_STATIC)
#   CONVERGE_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge)
#   GO                   the go command (default: go); needs a C compiler (CC, default gcc)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
pkg_dir="$(cd "$here/.." && pwd)"
go_build_sh=""
for candidate in "$pkg_dir/../core/scripts/go-build.sh" "$pkg_dir/node_modules/@converge/core/scripts/go-build.sh"; do
  if [[ -f "$candidate" ]]; then go_build_sh="$(cd "$(dirname "$candidate")" && pwd)/go-build.sh"; break; fi
done
[[ -n "$go_build_sh" ]] || { echo "[gitea] error: cannot find @converge/core's scripts/go-build.sh" >&2; exit 1; }
export CONVERGE_GITEA_REAL_GO="${GO:-go}"
GO="$here/go-with-cgo.sh"
source "$go_build_sh" gitea

read -r module version sum < "$here/gitea.sum"
[[ -n "${sum:-}" ]] || die "cannot read '<module> <version> <h1 hash>' from $here/gitea.sum"
# Keep these files in step with giteaCachePath() in src/testing/locate-gitea.ts.
hash="$(input_hash "$here/gitea.sum" "$go_build_sh" "$here/build-gitea.sh" "$here/go-with-cgo.sh")"
dest="$cache_root/$hash"
static="$cache_root/$hash-static"

if [[ -n "${CONVERGE_GITEA_BIN:-}" ]]; then
  [[ -x "$CONVERGE_GITEA_BIN" ]] || die "CONVERGE_GITEA_BIN=$CONVERGE_GITEA_BIN is not an executable file"
  [[ "${1:-}" == "--print-path" ]] || log "CONVERGE_GITEA_BIN is set: using $CONVERGE_GITEA_BIN, nothing to build"
  echo "$CONVERGE_GITEA_BIN"
  exit 0
fi
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$dest/gitea"
  exit 0
fi

if [[ -x "$dest/gitea" && -d "$static/templates" && -d "$static/options" ]]; then
  log "cache hit: $dest/gitea"
  echo "$dest/gitea"
  exit 0
fi
command -v "$CONVERGE_GITEA_REAL_GO" >/dev/null 2>&1 || die "'$CONVERGE_GITEA_REAL_GO' not found: Go 1.26+ builds Gitea (or set GO=/path/to/go)"
command -v "${CC:-gcc}" >/dev/null 2>&1 || die "'${CC:-gcc}' not found: Gitea's sqlite driver needs a C compiler (or set CC)"

log "downloading $module@$version source (module proxy, checked against the checksum database)"
info="$(cd / && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$CONVERGE_GITEA_REAL_GO" mod download -json "$module@$version")" \
  || die "go mod download $module@$version failed: $info"
src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
got="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$info")"
[[ "$got" == "$sum" ]] || die "$module@$version has hash $got, gitea.sum pins $sum"
[[ -f "$src/go.mod" ]] || die "no module source at '$src'"

# Static files first, published whole by one rename: the binary's cache hit is what callers test.
if [[ ! -d "$static/templates" || ! -d "$static/options" ]]; then
  mkdir -p "$cache_root"
  tmp_static="$(mktemp -d "$cache_root/.tmp-static-XXXXXX")"
  cp -R "$src/options" "$src/templates" "$tmp_static/"
  chmod -R u+w "$tmp_static"
  chmod 755 "$tmp_static"
  rm -rf "$static"
  mv -T "$tmp_static" "$static" || die "cannot move $tmp_static to $static"
fi

tags=sqlite,sqlite_unlock_notify
GOFLAGS="${GOFLAGS:-} -tags=$tags" go_build_cached "$dest" gitea "$src" . \
  "-s -w -X main.Version=${version#v} -X main.Tags=$tags"
echo "$dest/gitea"
