# Sourced by build-wasm.sh and build-kustomize.sh: where the engine module is, the kustomize
# version it pins, the linker flags both builds share, and core's Go build helper
# (go-build.sh: cache by input hash outside the clone, lock, temp dir + atomic rename,
# progress lines). Usage: `source kustomize-build-env.sh <name>`, where <name> is the log
# prefix and the cache folder under ${CONVERGE_CACHE_DIR:-$XDG_CACHE_HOME/converge}.
pkg_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine_dir="$pkg_dir/engine"
go_build_sh=""
for candidate in "$pkg_dir/../core/scripts/go-build.sh" "$pkg_dir/node_modules/@converge/core/scripts/go-build.sh"; do
  if [[ -f "$candidate" ]]; then go_build_sh="$(cd "$(dirname "$candidate")" && pwd)/go-build.sh"; break; fi
done
[[ -n "$go_build_sh" ]] || { echo "[$1] error: cannot find @converge/core's scripts/go-build.sh" >&2; exit 1; }
source "$go_build_sh" "$1"

kustomize_version="$(awk '$1=="sigs.k8s.io/kustomize/kustomize/v5"{print $2; exit}' "$engine_dir/go.mod")"
api_version="$(awk '$1=="sigs.k8s.io/kustomize/api"{print $2; exit}' "$engine_dir/go.mod")"
[[ -n "$kustomize_version" && -n "$api_version" ]] || die "cannot read the kustomize versions from $engine_dir/go.mod"
# The same version stamp in the binary and the wasm, so `buildMetadata: [managedByLabel]`
# writes the same label (app.kubernetes.io/managed-by: kustomize-<version>) in both.
ldflags="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=${kustomize_version}"
go_version="$(GOTOOLCHAIN=local "$GO" env GOVERSION)"
