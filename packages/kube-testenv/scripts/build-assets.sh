#!/usr/bin/env bash
# Builds the control-plane binaries that @converge/kube-testenv runs: etcd, kube-apiserver and
# kubectl, compiled with Go from the Go module proxy (no prebuilt downloads).
#
#   bash packages/kube-testenv/scripts/build-assets.sh          # build, or reuse the cache
#   bash packages/kube-testenv/scripts/build-assets.sh --print-dir   # print the asset dir only
#
# Versions come from the checked-in wrapper modules in ../assets-module/{kubernetes,etcd}/go.mod.
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/converge/kube-assets/<k8s-version>/{etcd,kube-apiserver,kubectl}
# It lives outside the clone so a fresh CI clone on the same machine reuses it; the directory
# appears by an atomic rename, so a killed build never leaves a half-filled cache.
# KUBEBUILDER_ASSETS set (controller-runtime envtest's variable) → nothing is built.
#
# Environment:
#   KUBEBUILDER_ASSETS       use these binaries instead; skip the build
#   CONVERGE_KUBE_ASSETS_DIR cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/converge/kube-assets)
#   GO                       the go command (default: go)
set -euo pipefail

# Resolve symlinks: npm links the `converge-kube-assets` bin to this file from node_modules/.bin.
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
module_root="$here/../assets-module"
GO="${GO:-go}"

log() { printf '[kube-assets] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

module_version() { # <go.mod> <module path>
  awk -v m="$2" '($1 == m || $1 == "require" && $2 == m) { print ($1 == m ? $2 : $3); exit }' "$1"
}

k8s_version="$(module_version "$module_root/kubernetes/go.mod" k8s.io/kubernetes)"
etcd_version="$(module_version "$module_root/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$k8s_version" ]] || die "cannot read the k8s.io/kubernetes version from $module_root/kubernetes/go.mod"
[[ -n "$etcd_version" ]] || die "cannot read the etcd version from $module_root/etcd/go.mod"

cache_root="${CONVERGE_KUBE_ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge/kube-assets}"
dest="$cache_root/$k8s_version"
bins=(etcd kube-apiserver kubectl)

complete() { # <dir>: all binaries present and executable
  local b
  for b in "${bins[@]}"; do [[ -x "$1/$b" ]] || return 1; done
}

if [[ "${1:-}" == "--print-dir" ]]; then
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then echo "$KUBEBUILDER_ASSETS"; else echo "$dest"; fi
  exit 0
fi

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  for b in etcd kube-apiserver; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$b'"
  done
  log "KUBEBUILDER_ASSETS is set ($KUBEBUILDER_ASSETS): using those binaries, nothing to build"
  exit 0
fi

if complete "$dest"; then
  log "reusing cached assets for kubernetes $k8s_version in $dest"
  exit 0
fi

command -v "$GO" >/dev/null || die "'$GO' not found: Go 1.26+ is needed to build the assets (or set KUBEBUILDER_ASSETS)"
mkdir -p "$cache_root"

# One build per version at a time (a developer's run and CI on the same machine); the second
# waits, then finds the cache filled.
exec 9>"$cache_root/.lock-$k8s_version"
if ! flock -n 9; then
  log "another build of $k8s_version is running; waiting for it"
  flock 9
fi
if complete "$dest"; then
  log "reusing cached assets for kubernetes $k8s_version in $dest (built by the other run)"
  exit 0
fi

# Leftovers of builds that were killed (the lock proves they are no longer running).
rm -rf "$cache_root/.tmp-$k8s_version-"*
tmp="$(mktemp -d "$cache_root/.tmp-$k8s_version-XXXXXX")"
cleanup() {
  # Every background job (the go build, the progress ticker), also one started an instant ago.
  local jobs
  jobs="$(jobs -p)"
  [[ -n "$jobs" ]] && kill $jobs 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

total_start=$SECONDS
build() { # <name> <module dir> <package> <ldflags>
  local name=$1 dir=$2 pkg=$3 ldflags=$4 start=$SECONDS
  log "building $name ($pkg) ..."
  # Background jobs close the lock (fd 9), and the ticker's sleep holds no output pipe: a stray
  # one must never block the next build, nor a caller waiting for this script's output to end.
  ( while sleep 30 </dev/null >/dev/null 2>&1; do log "  still building $name: $((SECONDS - start))s elapsed"; done ) 9>&- &
  local ticker=$!
  # In the background so that a signal to this script is handled at once (bash runs traps only
  # between foreground commands, but interrupts `wait`).
  (cd "$dir" && exec "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp/$name" "$pkg") 9>&- &
  if ! wait $!; then
    die "building $name failed (see the go output above)"
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  log "built $name in $((SECONDS - start))s ($(du -h "$tmp/$name" | cut -f1))"
}

log "building kubernetes $k8s_version and etcd $etcd_version with $("$GO" version | cut -d' ' -f3) into $dest"
log "(first build takes many minutes on 2 cores; later runs reuse the cache)"
build etcd "$module_root/etcd" go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver "$module_root/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kubectl "$module_root/kubernetes" k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"

printf 'kubernetes %s\netcd %s\n%s\n' "$k8s_version" "$etcd_version" "$("$GO" version)" > "$tmp/VERSIONS"
chmod 755 "$tmp"
# Atomic publish: the directory appears whole or not at all. An incomplete one (a binary deleted
# by hand) is replaced; we hold the lock, so no other build is using it.
[[ -e "$dest" ]] && rm -rf "$dest"
mv -T "$tmp" "$dest" 2>/dev/null || { complete "$dest" || die "cannot move $tmp to $dest"; }
log "done in $((SECONDS - total_start))s: $dest"
