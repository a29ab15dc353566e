#!/usr/bin/env bash
# Prints the third-party notices of a Go program compiled to WebAssembly: Go's own license
# (runtime, standard library, wasm_exec.js) and the license and notice files of every module
# linked into it, as found in the module cache. Used by the engine packages' build-wasm.sh,
# whose output ships next to the .wasm.
#
#   bash third-party-notices.sh <engine module dir> <wasm file name> > THIRD_PARTY_NOTICES.txt
#
# Environment: GO (default: go).
set -euo pipefail
engine_dir="$1"
wasm_name="$2"
GO="${GO:-go}"
goroot="$(GOTOOLCHAIN=local "$GO" env GOROOT)"

echo "$wasm_name and wasm_exec.js contain code from the Go project and the modules below."
echo "Each module's license and notice files follow, as found in the module."
echo
echo "================================================================================"
echo "Go (runtime, standard library, wasm_exec.js) $(GOTOOLCHAIN=local "$GO" env GOVERSION)"
echo "================================================================================"
cat "$goroot/LICENSE"
(
  cd "$engine_dir"
  GOTOOLCHAIN=local GOOS=js GOARCH=wasm GOFLAGS=-mod=readonly \
    "$GO" list -deps -f '{{with .Module}}{{if .Version}}{{.Path}}@{{.Version}} {{.Dir}}{{end}}{{end}}' . | LC_ALL=C sort -u
) | while read -r mod dir; do
  echo
  echo "================================================================================"
  echo "$mod"
  echo "================================================================================"
  found=0
  for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE*; do
    [[ -f "$f" ]] || continue
    found=1
    cat "$f"
    echo
  done
  [[ $found == 1 ]] || echo "(no license file in the module; see its repository)"
done
