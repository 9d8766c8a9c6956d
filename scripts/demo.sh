#!/usr/bin/env bash
# demo.sh - the newcomer's first command: installs what is missing, builds
# dmarcd, starts a private MariaDB and Redis under run/demo/, generates 90
# days of realistic demo reports and runs dmarcd on them.
#
# What runs today: the schema migration and the demo tenant with its
# domains, then `dmarcd import` of every generated report into MariaDB
# (routed to the tenant by policy domain; a rerun finds them all stored
# already), and a few numbers read back. The API and the dashboard join
# this script as they land; nothing here claims more than it does.
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

step "storing every demo report in MariaDB (dmarcd import)"
"$dmarcd" import "$run_dir/reports"
"$dmarcd" parse --format ndjson "$(find "$run_dir/reports" -name '*google*' | sort | head -n 1)" \
    >"$run_dir/example-report.json"
echo "one report as JSON: $run_dir/example-report.json"

step "what is stored"
mariadb --socket="$DMARCD_TEST_DB_SOCKET" -u root --table dmarc -e "
    SELECT policy_domain AS domain, COUNT(*) AS reports, SUM(record_count) AS records,
           SUM(message_count) AS messages, MIN(report_day) AS first_day,
           MAX(report_day) AS last_day
      FROM aggregate_reports GROUP BY policy_domain ORDER BY policy_domain"

cat <<EOM

The demo reports are stored in MariaDB (database dmarc, tenant demo). The REST
API and the web dashboard are not built yet, so there is no dashboard to open
on localhost today.

MariaDB and Redis keep running for the next steps; stop them with:
  scripts/services.sh stop --run-dir run/demo
EOM
