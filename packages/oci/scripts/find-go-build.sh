# Sourced by this package's build scripts: finds @converge/core's go-build.sh (in this repository
# or under node_modules) and sources it for <name>. Sets pkg_dir (this package's root) and
# go_build_sh (the helper's path, part of every cache key).
#
#   source find-go-build.sh <name>
pkg_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
go_build_sh=""
for candidate in "$pkg_dir/../core/scripts/go-build.sh" "$pkg_dir/node_modules/@converge/core/scripts/go-build.sh" "$pkg_dir/../../@converge/core/scripts/go-build.sh"; do
  if [[ -f "$candidate" ]]; then go_build_sh="$(cd "$(dirname "$candidate")" && pwd)/go-build.sh"; break; fi
done
[[ -n "$go_build_sh" ]] || { echo "[$1] error: cannot find @converge/core's scripts/go-build.sh" >&2; exit 1; }
source "$go_build_sh" "$1"
