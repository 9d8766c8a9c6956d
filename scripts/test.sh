#!/usr/bin/env bash
# test.sh - the whole test suite, exactly as CI runs it (.ci/run calls this).
#
# Installs what is missing, builds, starts a private MariaDB and Redis under
# run/test/, runs every ctest test, then builds again with AddressSanitizer
# and UndefinedBehaviorSanitizer and runs the tests once more, then runs
# each libFuzzer target for a bounded time (clang). Warnings are errors
# when CI=true. Exits non-zero, loudly, on the first failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n==> %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

step "installing missing packages"
scripts/deps.sh --test

step "building"
scripts/build.sh "$root/build"

step "starting MariaDB and Redis"
run_dir=$root/run/test
scripts/services.sh start --run-dir "$run_dir"
trap 'scripts/services.sh stop --run-dir "$run_dir" >/dev/null 2>&1 || true' EXIT
# shellcheck source=/dev/null
source "$run_dir/env"

step "running tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 1800

step "building with ASan+UBSan (clang: it checks more undefined behaviour than gcc)"
CC=clang scripts/build.sh "$root/build-asan" -DDMARCD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

step "running tests under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1800 -LE 'lint|slow'

step "building libFuzzer targets (clang)"
CC=clang scripts/build.sh "$root/build-fuzz" -DDMARCD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

step "fuzzing each parser for a bounded time"
ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L fuzz

step "all tests passed"
