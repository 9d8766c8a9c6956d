#!/usr/bin/env bash
# demo.sh - the newcomer's first command: installs what is missing, builds
# dmarcd, starts a private MariaDB and Redis under run/demo/, generates 90
# days of realistic demo reports and runs dmarcd on them.
#
# What runs: the schema migration, the demo tenant with its domains and a
# demo owner account, `dmarcd import` of every generated report into
# MariaDB (routed by policy domain; a rerun finds them all stored already),
# a few numbers read back, then `dmarcd api` in the background serving the
# REST API and the dashboard on http://127.0.0.1:8080/ (or the next free
# port), with a queue worker for uploads. Rerunning restarts both.
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

step "starting the API and the dashboard"
master_key=$run_dir/master.key
if [[ ! -s $master_key ]]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$master_key")
fi
demo_user=demo@example.com
demo_password=demo-password-$(cat "$run_dir/demo-password-suffix" 2>/dev/null ||
    (umask 077 && od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tee "$run_dir/demo-password-suffix"))
"$dmarcd" user list demo 2>/dev/null | grep -q "$demo_user" ||
    printf '%s\n' "$demo_password" | "$dmarcd" user add demo "$demo_user" --role owner
for proc in api worker; do
    if [[ -s $run_dir/$proc.pid ]] && kill -0 "$(cat "$run_dir/$proc.pid")" 2>/dev/null; then
        kill "$(cat "$run_dir/$proc.pid")"
        sleep 1
    fi
done
# A worker takes what the dashboard's upload page (or `dmarcd import --queue`) hands in.
DMARCD_MASTER_KEY_FILE=$master_key nohup "$dmarcd" worker --threads 1 >"$run_dir/worker.log" 2>&1 &
echo $! >"$run_dir/worker.pid"
port=8080
while ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN; do port=$((port + 1)); done
DMARCD_API_LISTEN=127.0.0.1:$port DMARCD_API_WEB_ROOT=$root/web \
    DMARCD_MASTER_KEY_FILE=$master_key \
    nohup "$dmarcd" api >"$run_dir/api.log" 2>&1 &
echo $! >"$run_dir/api.pid"
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || {
    echo "dmarcd api did not become ready; its log:" >&2
    tail -n 20 "$run_dir/api.log" >&2
    exit 1
}

cat <<EOM

The demo reports are stored in MariaDB (database dmarc, tenant demo), and the
dashboard is running:

  http://127.0.0.1:$port/     sign in as $demo_user / $demo_password

Logs: $run_dir/api.log and $run_dir/worker.log (a worker stores uploads).
Stop the API, the worker and the databases with:
  kill \$(cat run/demo/api.pid run/demo/worker.pid); scripts/services.sh stop --run-dir run/demo
EOM
