#!/usr/bin/env bash
# The go command build-gitea.sh hands to core's go-build.sh: that helper builds static binaries
# (CGO_ENABLED=0), but Gitea's sqlite driver (github.com/mattn/go-sqlite3) is cgo and needs a C
# compiler. Everything else (cache key, lock, temp dir + atomic rename, progress) stays the helper's.
exec env CGO_ENABLED=1 "${CONVERGE_GITEA_REAL_GO:-go}" "$@"
