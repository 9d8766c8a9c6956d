#!/usr/bin/env bash
# parse_bench.sh [BUILD_DIR] [RECORDS] - the report engine's benchmark.
#
# Generates one big aggregate report (default 300k varied records, ~220 MB)
# and its gzip with the deterministic generator, then times, on the same
# file: libxml2's own SAX2 parse with empty handlers (`xmllint --sax
# --noout`, the floor for any libxml2-based parser), `dmarcd parse --format
# count` and `--format ndjson`, plain and gzip. Prints MB/s of XML,
# records/s, peak RSS and each time as a multiple of xmllint's. Each run is
# repeated 3 times and the fastest kept. Needs: xmllint, /usr/bin/time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
records=${2:-300000}
dmarcd=$build/cmd/dmarcd
reportgen=$build/bench/reportgen/dmarcd-reportgen
work=${DMARCD_BENCH_DIR:-$root/run/bench}
mkdir -p "$work"
xml=$work/big-$records.xml
gz=$xml.gz

for tool in "$dmarcd" "$reportgen" xmllint /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: missing $tool (build first; apt-get install libxml2-utils time)" >&2; exit 2; }
done
[[ -s $xml ]] || "$reportgen" big --out "$xml" --records "$records" --seed 7 >/dev/null
[[ -s $gz ]] || "$reportgen" big --out "$gz" --records "$records" --seed 7 --gzip >/dev/null
bytes=$(stat -c %s "$xml")

# best_of LABEL CMD...: runs CMD 3 times, prints "seconds peak_kib" of the fastest run.
best_of() {
    local best="" rss="" t
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null
        read -r t r <"$work/time.txt"
        if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$t
            rss=$r
        fi
    done
    echo "$best $rss"
}

printf 'input: %s (%d bytes XML, %s records; gzip %d bytes)\n' "$(basename "$xml")" "$bytes" \
    "$records" "$(stat -c %s "$gz")"
printf '%-28s %9s %9s %12s %10s %8s\n' run seconds "MB/s" "records/s" "peak RSS" "x xmllint"
floor=""
run() {
    local label=$1
    shift
    read -r secs kib < <(best_of "$@")
    [[ -n $floor ]] || floor=$secs
    awk -v l="$label" -v s="$secs" -v k="$kib" -v b="$bytes" -v r="$records" -v f="$floor" \
        'BEGIN { printf "%-28s %9.2f %9.1f %12.0f %7.1f MiB %8.2f\n", l, s, b / s / 1e6, r / s, k / 1024, s / f }'
}
run "xmllint --sax --noout" xmllint --sax --noout "$xml"
run "dmarcd parse count" "$dmarcd" parse --format count "$xml"
run "dmarcd parse ndjson" "$dmarcd" parse --format ndjson "$xml"
run "dmarcd parse count (gzip)" "$dmarcd" parse --format count "$gz"
run "dmarcd parse ndjson (gzip)" "$dmarcd" parse --format ndjson "$gz"
echo "targets: count <= 1.3x xmllint, ndjson <= 2x, peak RSS < 32 MiB, gzip within 1.3x of plain"
