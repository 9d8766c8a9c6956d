#!/usr/bin/env bash
# demo.sh - the newcomer's first command: installs what is missing, builds
# dmarcd, starts a private MariaDB and Redis under run/demo/, generates 90
# days of realistic demo reports and runs dmarcd on them.
#
# What runs today: the schema migration and the demo tenant with its
# domains, then the report engine (`dmarcd parse`) over every generated
# report. Storing reports, the API and the dashboard join this script as
# they land; nothing here claims more than it does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
run_dir=$root/run/demo
dmarcd=$root/build/cmd/dmarcd
reportgen=$root/build/bench/reportgen/dmarcd-reportgen

step() { printf '\n==> %s\n' "$*"; }

step "installing missing packages"
scripts/deps.sh

step "building"
scripts/build.sh "$root/build"

step "starting MariaDB and Redis (run/demo)"
scripts/services.sh start --run-dir "$run_dir"
# shellcheck source=/dev/null
source "$run_dir/env"
"$dmarcd" config check | tail -n 1

step "creating the schema and the demo tenant"
"$dmarcd" migrate
"$dmarcd" tenant list | grep -q '^demo ' || "$dmarcd" tenant add demo --tier advanced
for domain in example.com shop.example.net acme-widgets.example newsletter.example.org; do
    "$dmarcd" domain list demo | grep -q "^$domain " ||
        "$dmarcd" domain add demo "$domain"
done
"$dmarcd" domain list demo

step "generating 90 days of demo reports"
rm -rf "$run_dir/reports"
"$reportgen" demo --out "$run_dir/reports" --days 90 --seed 1

step "parsing every demo report with dmarcd"
start=$(date +%s%N)
"$dmarcd" parse --format count "$run_dir/reports" >"$run_dir/parse-count.txt"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
awk -v secs="$elapsed_ms" '
    { for (i = 2; i <= 4; i++) { split($i, kv, "="); tot[kv[1]] += kv[2] } n++ }
    END { printf "parsed %d reports: %d records, %d messages, %d warnings (%.2f s)\n",
                 n, tot["records"], tot["messages"], tot["warnings"], secs / 1000 }' \
    "$run_dir/parse-count.txt"
"$dmarcd" parse --format ndjson "$(find "$run_dir/reports" -name '*google*' | sort | head -n 1)" \
    >"$run_dir/example-report.json"
echo "one report as JSON: $run_dir/example-report.json"

cat <<EOM

The report engine works on the demo data above, and the schema and the demo
tenant are in MariaDB. Storing the reports, the REST API and the web dashboard
are not built yet, so there is no dashboard to open on localhost today.

MariaDB and Redis keep running for the next steps; stop them with:
  scripts/services.sh stop --run-dir run/demo
EOM
