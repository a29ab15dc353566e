# Sourced by build-helm.sh and build-wasm.sh: where the engine module is, the Go toolchain, the
# Helm version it pins, and a logger. Usage: `source helm-build-env.sh <name>`, where <name> is
# the log prefix and the cache folder under ${CONVERGE_CACHE_DIR:-$XDG_CACHE_HOME/converge}.
build_name="$1"
pkg_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine_dir="$pkg_dir/engine"
GO="${GO:-go}"
cache_root="${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/$build_name"

log() { printf '[%s] %s\n' "$build_name" "$*" >&2; }

command -v "$GO" >/dev/null 2>&1 || { log "error: Go toolchain not found (set GO=/path/to/go)"; exit 1; }

helm_version="$(cd "$engine_dir" && awk '$1=="helm.sh/helm/v4"{print $2; exit}' go.mod)"
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=${helm_version}"
go_version="$(GOTOOLCHAIN=local "$GO" env GOVERSION)"
