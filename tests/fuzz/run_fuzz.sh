#!/usr/bin/env bash
# run_fuzz.sh TARGET SECONDS SEED_DIR... - runs one libFuzzer target for a
# bounded time, seeded from the given directories (files are copied into a
# scratch corpus so the seeds themselves are never modified). Fails when
# the fuzzer finds a crash, a leak, a timeout or runs out of memory.
set -euo pipefail
target=${1:?usage: run_fuzz.sh TARGET SECONDS SEED_DIR...}
seconds=${2:?}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
for seeds in "$@"; do
    [[ -d $seeds ]] || continue
    find "$seeds" -type f -size -4M -print0 | while IFS= read -r -d '' f; do
        cp "$f" "$work/corpus/$(sha256sum "$f" | cut -c1-16)"
    done
done
echo "fuzz: $(basename "$target") for ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" 2>"$work/log" || {
    tail -n 60 "$work/log"
    echo "fuzz: $(basename "$target") FAILED; crash inputs:" && ls -l "$work/artifacts"
    for a in "$work"/artifacts/*; do base64 -w0 "$a" | head -c 2000; echo; done
    exit 1
}
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/log" || true
echo "fuzz: $(basename "$target") passed"
