#!/usr/bin/env bash
# api_bench.sh [BUILD_DIR] [RECORDS] - the REST API's read benchmark.
#
# Fills a database of its own (dmarc_bench_api) with RECORDS aggregate
# records (default 10 million) over the 90 days up to yesterday for one
# tenant: 5 policy domains x 30 reporters x 90 days of reports, each with
# RECORDS/13500 records from a pool of documentation-range addresses, the
# roll-ups computed from them the way the sink does. Rows are generated in
# SQL (MariaDB's sequence engine), one day per transaction, which takes a
# few minutes; the database is kept for the next run (DMARCD_BENCH_FRESH=1
# rebuilds it, DMARCD_BENCH_DROP=1 drops it at the end).
#
# Then runs `dmarcd api` (log level warn) and wrk against the overview,
# sources and time-series endpoints with a Bearer token, and prints req/s,
# p50/p99 latency and one lone request's time for each: once with every
# answer from the database (api_cache_seconds=0), once with the answer
# cache as deployed. Needs DMARCD_DATABASE_URL (a user that may
# create databases dmarc%), DMARCD_REDIS_URL, wrk and the mariadb client.
# DMARCD_BENCH_SECONDS (default 15) and DMARCD_BENCH_CONNECTIONS (16) tune
# each wrk run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
records=${2:-10000000}
dmarcd=$build/cmd/dmarcd
seconds=${DMARCD_BENCH_SECONDS:-15}
conns=${DMARCD_BENCH_CONNECTIONS:-16}
for tool in "$dmarcd" wrk mariadb curl jq; do
    command -v "$tool" >/dev/null || {
        echo "bench: missing $tool (build first; apt-get install wrk mariadb-client curl jq)" >&2
        exit 2
    }
done
: "${DMARCD_DATABASE_URL:?bench: set DMARCD_DATABASE_URL (scripts/services.sh prints it)}"
: "${DMARCD_REDIS_URL:?bench: set DMARCD_REDIS_URL}"
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
[[ $DMARCD_DATABASE_URL =~ $re ]] || { echo "bench: cannot read DMARCD_DATABASE_URL" >&2; exit 2; }
db_user=${BASH_REMATCH[2]} db_pass=${BASH_REMATCH[3]} db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
db=dmarc_bench_api
export DMARCD_DATABASE_URL="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port/$db"
export DMARCD_LOG_LEVEL=warn
work=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -n $api_pid ]] && kill "$api_pid" 2>/dev/null
    [[ ${DMARCD_BENCH_DROP:-0} == 1 ]] && sql "" -e "DROP DATABASE IF EXISTS $db"
    rm -rf "$work"
}
trap cleanup EXIT
sql() {
    local d=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${d:+"$d"} "$@"
}

days=90
reporters=30
domains=5
per=$(((records + days * reporters * domains - 1) / (days * reporters * domains)))
end=$(date -u -d yesterday +%F)
start=$(date -u -d "$end - $((days - 1)) days" +%F)
have=$(sql "" -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$db'")
if [[ $have == 1 && ${DMARCD_BENCH_FRESH:-0} != 1 ]]; then
    have=$(sql "$db" -e "SELECT CONCAT(COUNT(*), ' ', MIN(report_day), ' ', MAX(report_day))
                         FROM aggregate_records" 2>/dev/null || echo none)
    [[ $have == "$((per * days * reporters * domains)) $start $end" ]] || have=0
else
    have=0
fi

fill() {
    echo "bench: filling $db: $((per * days * reporters * domains)) records, $start .. $end"
    sql "" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
    "$dmarcd" migrate >/dev/null
    "$dmarcd" tenant add bench --tier enterprise >/dev/null
    for d in $(seq 1 $domains); do "$dmarcd" domain add bench "bench$d.example" >/dev/null; done
    local t
    t=$(sql "$db" -e "SELECT id FROM tenants WHERE name = 'bench'")
    sql "$db" -e "SET time_zone = '+00:00';
        INSERT INTO aggregate_reports (tenant_id, report_day, report_key, policy_domain, org_name,
            email, report_id, date_begin, date_end, p, format, created_at)
        SELECT $t, DATE_SUB('$end', INTERVAL d.seq DAY),
               UNHEX(SHA2(CONCAT(d.seq, '/', r.seq, '/', m.seq), 256)),
               CONCAT('bench', m.seq, '.example'), CONCAT('Reporter ', r.seq),
               CONCAT('dmarc@reporter', r.seq, '.example'), CONCAT('bench-', d.seq, '-', r.seq, '-', m.seq),
               UNIX_TIMESTAMP(DATE_SUB('$end', INTERVAL d.seq DAY)),
               UNIX_TIMESTAMP(DATE_SUB('$end', INTERVAL d.seq DAY)) + 86399, 'reject', 'rfc7489',
               UTC_TIMESTAMP()
        FROM seq_0_to_$((days - 1)) d, seq_1_to_$reporters r, seq_1_to_$domains m"
    local started=$SECONDS
    for i in $(seq 0 $((days - 1))); do
        local day
        day=$(date -u -d "$end - $i days" +%F)
        # Each report carries the same source pool for its domain (several
        # receivers see the same senders), shifted a little by weekday.
        sql "$db" -e "
            INSERT INTO aggregate_records (tenant_id, report_day, report_id, record_no, source_ip,
                message_count, disposition, dkim, spf, header_from, envelope_from)
            SELECT a.tenant_id, a.report_day, a.id, s.seq,
                   CONCAT('::ffff:10.', SUBSTRING(a.policy_domain, 6, 1), '.',
                          ((s.seq * 7 + DAYOFWEEK(a.report_day) * 300) % 20000) DIV 250, '.',
                          ((s.seq * 7 + DAYOFWEEK(a.report_day) * 300) % 20000) % 250 + 1),
                   1 + (s.seq * 13 + a.id) % 40,
                   CASE s.seq % 10 WHEN 0 THEN 'reject' WHEN 1 THEN 'quarantine' ELSE 'none' END,
                   IF(s.seq % 4 = 0, 'fail', 'pass'), IF(s.seq % 6 = 0, 'fail', 'pass'),
                   a.policy_domain, a.policy_domain
            FROM aggregate_reports a, seq_1_to_$per s
            WHERE a.tenant_id = $t AND a.report_day = '$day';
            UPDATE aggregate_reports a JOIN (SELECT report_id, COUNT(*) n, SUM(message_count) m
                FROM aggregate_records WHERE tenant_id = $t AND report_day = '$day'
                GROUP BY report_id) x ON x.report_id = a.id
            SET a.record_count = x.n, a.message_count = x.m
            WHERE a.tenant_id = $t AND a.report_day = '$day';
            INSERT INTO daily_rollups (tenant_id, domain, report_day, source_ip, header_from,
                disposition, dkim, spf, messages, records)
            SELECT r.tenant_id, a.policy_domain, r.report_day, r.source_ip, COALESCE(r.header_from, ''),
                   COALESCE(r.disposition, 'unknown'), COALESCE(r.dkim, 'unknown'),
                   COALESCE(r.spf, 'unknown'), SUM(r.message_count), COUNT(*)
            FROM aggregate_records r JOIN aggregate_reports a ON a.tenant_id = r.tenant_id
                 AND a.report_day = r.report_day AND a.id = r.report_id
            WHERE r.tenant_id = $t AND r.report_day = '$day'
            GROUP BY r.tenant_id, a.policy_domain, r.report_day, r.source_ip, r.header_from,
                     r.disposition, r.dkim, r.spf"
        printf '\rbench: day %d/%d (%ds)' $((i + 1)) $days $((SECONDS - started))
    done
    echo
    sql "$db" -e "ANALYZE TABLE aggregate_reports, aggregate_records, daily_rollups" >/dev/null
}
[[ $have == 0 ]] && fill
"$dmarcd" user add bench bench@bench.example --role viewer >/dev/null 2>&1 \
    <<<"bench password $RANDOM$RANDOM" || true
token=$("$dmarcd" token create bench bench@bench.example --expires 1 2>/dev/null)
rollups=$(sql "$db" -e "SELECT COUNT(*) FROM daily_rollups")
count=$(sql "$db" -e "SELECT COUNT(*) FROM aggregate_records")

range="from=$start&to=$end"
week="from=$(date -u -d "$end - 6 days" +%F)&to=$end"
echo "bench: $count records, $rollups roll-up rows, 1 tenant, $domains domains, $start .. $end"
echo "bench: wrk ${seconds}s, $conns connections, 2 threads;" \
    "api_threads=${DMARCD_BENCH_THREADS:-8}; $(nproc) cores"
# Two passes: every request answered by the database (api_cache_seconds=0),
# then with the answer cache as deployed (api_cache_seconds=30).
for cache in 0 30; do
    port=$((20000 + RANDOM % 30000))
    DMARCD_API_LISTEN=127.0.0.1:$port DMARCD_API_THREADS=${DMARCD_BENCH_THREADS:-8} \
        DMARCD_API_CACHE_SECONDS=$cache "$dmarcd" api >"$work/api.log" 2>&1 &
    api_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    base="http://127.0.0.1:$port/api/v1"
    echo
    echo "api_cache_seconds=$cache"
    printf '%-48s %9s %9s %9s %9s\n' endpoint req/s p50 p99 first
    for ep in "overview?$range" "overview?$range&domain=bench1.example" "sources?$range" \
        "sources?$range&domain=bench1.example&sort=fail" "timeseries?$range" \
        "timeseries?$week&bucket=hour&domain=bench1.example"; do
        code=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' \
            -H "Authorization: Bearer $token" "$base/$ep")
        [[ ${code%% *} == 200 ]] || {
            echo "bench: $ep answered $code: $(head -c 200 "$work/body")" >&2
            exit 1
        }
        wrk -t2 -c"$conns" -d"${seconds}s" --timeout 60s --latency \
            -H "Authorization: Bearer $token" "$base/$ep" >"$work/wrk.txt"
        rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
        p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
        p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
        errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt" | tr '\n' ' ')
        label=${ep//$range/90d}
        label=${label//$week/7d}
        printf '%-48s %9s %9s %9s %8.0fms%s\n' "$label" "$rps" "$p50" "$p99" \
            "$(awk -v t="${code#* }" 'BEGIN {print t * 1000}')" "${errors:+  $errors}"
    done
    kill "$api_pid"
    wait "$api_pid" 2>/dev/null || true
    api_pid=""
done
