#!/usr/bin/env bash
# build.sh [BUILD_DIR] [CMAKE_OPTIONS...]
#
# Configures and builds dmarcd with CMake into BUILD_DIR (default: build/).
# Warnings are errors when CI=true. Used by demo.sh and test.sh so that a
# newcomer and CI build the same way.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
shift || true
werror=OFF
[[ ${CI:-} == true ]] && werror=ON
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDMARCD_WERROR=$werror "$@" \
    >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log" >&2
    echo "build: cmake configuration failed (log above)" >&2
    exit 1
}
cmake --build "$build" -j"$jobs" >"$build.build.log" 2>&1 || {
    grep -E 'error|warning' "$build.build.log" | head -50 >&2 || tail -50 "$build.build.log" >&2
    echo "build: compilation failed; full log: $build.build.log" >&2
    exit 1
}
echo "build: $build ready ($(grep -c 'warning:' "$build.build.log" || true) warnings)"
