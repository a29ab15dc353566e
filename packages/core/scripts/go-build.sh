# Sourced by the scripts that build a test binary from a pinned Go module (build-registry.sh):
#
#   source go-build.sh <name>
#
# The conventions are those of kube-testenv's build-assets.sh and helm-render's build-helm.sh:
# the output is cached outside the clone, in
# ${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/<name>/<input hash>/, one
# build per key at a time (flock), built in a temp dir and published by one atomic rename, with
# a progress line every 30 s; logs go to stderr, prefixed [<name>].
#
# Sets GO (default: go) and cache_root; defines log, die, input_hash, go_build_cached.

build_name="$1"
GO="${GO:-go}"
cache_root="${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/$build_name"

log() { printf '[%s] %s\n' "$build_name" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# input_hash <file>...: 16 hex digits of sha256 over the lines "<basename>=<sha256 of the file>".
# Anything that reads the cache (e.g. startRegistry() in @converge/core/testing) computes the
# same key from the same files, so it finds the binary without asking Go.
input_hash() {
  local f
  for f in "$@"; do printf '%s=%s\n' "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done | sha256sum | cut -c1-16
}

# go_build_cached <dest dir> <binary> <module dir> <package> <ldflags>
# Builds <package> as <dest dir>/<binary> unless it is there already. <dest dir> appears whole
# or not at all, so a killed build never leaves a half-filled cache.
go_build_cached() {
  local dest=$1 binary=$2 dir=$3 pkg=$4 ldflags=$5
  local key
  key="$(basename "$dest")"
  if [[ -x "$dest/$binary" ]]; then
    log "cache hit: $dest/$binary"
    return 0
  fi
  command -v "$GO" >/dev/null 2>&1 || die "'$GO' not found: Go 1.26+ builds $binary from $pkg (or set GO=/path/to/go)"
  mkdir -p "$cache_root"

  # One build per key at a time (a developer's run and CI on the same machine); the second
  # waits, then finds the cache filled.
  exec 9>"$cache_root/.lock-$key"
  if ! flock -n 9; then
    log "another build of $binary is running; waiting for it"
    flock 9
  fi
  if [[ -x "$dest/$binary" ]]; then
    log "cache hit: $dest/$binary (built by the other run)"
    exec 9>&-
    return 0
  fi

  # Leftovers of builds that were killed (the lock proves they are no longer running).
  rm -rf "$cache_root/.tmp-$key-"*
  _go_build_tmp="$(mktemp -d "$cache_root/.tmp-$key-XXXXXX")"
  trap _go_build_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local start=$SECONDS
  log "building $binary ($pkg) with $(GOTOOLCHAIN=local "$GO" env GOVERSION) into $dest"
  log "(a few minutes on 2 cores with a cold Go cache; later runs reuse the binary)"
  # The ticker and the build close the lock (fd 9), and hold no stdout: a caller reading this
  # script's stdout must not wait for a stray one.
  ( while sleep 30 </dev/null >/dev/null 2>&1; do log "  still building $binary: $((SECONDS - start))s elapsed"; done ) 9>&- >&2 &
  local ticker=$!
  # In the background so that a signal to this script is handled at once (bash runs traps only
  # between foreground commands, but interrupts `wait`).
  (
    cd "$dir"
    GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
      exec "$GO" build -trimpath -ldflags="$ldflags" -o "$_go_build_tmp/$binary" "$pkg"
  ) 9>&- >&2 &
  wait $! || die "building $binary failed (see the go output above)"
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  # What went into it (Go version, every module and its hash), for whoever wonders later.
  # `go version -m` cannot read a js/wasm module: list the modules it was built from instead.
  if ! (cd "$_go_build_tmp" && GOTOOLCHAIN=local "$GO" version -m "$binary") > "$_go_build_tmp/BUILDINFO" 2>/dev/null; then
    (cd "$dir" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly "$GO" list -m all) > "$_go_build_tmp/BUILDINFO"
  fi

  chmod 755 "$_go_build_tmp"
  # An incomplete folder (a binary deleted by hand) is replaced; we hold the lock.
  [[ -e "$dest" ]] && rm -rf "$dest"
  mv -T "$_go_build_tmp" "$dest" || die "cannot move $_go_build_tmp to $dest"
  trap - EXIT INT TERM
  exec 9>&-
  log "built $binary in $((SECONDS - start))s ($(du -h "$dest/$binary" | cut -f1)): $dest/$binary"
}

_go_build_cleanup() {
  # Every background job (the go build, the progress ticker), also one started an instant ago.
  local jobs
  jobs="$(jobs -p)"
  [[ -n "$jobs" ]] && kill $jobs 2>/dev/null || true
  rm -rf "$_go_build_tmp"
}
