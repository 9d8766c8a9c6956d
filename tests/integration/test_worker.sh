#!/usr/bin/env bash
# Integration test of `dmarcd import --queue` and `dmarcd worker` against
# the MariaDB and Redis that DMARCD_DATABASE_URL and DMARCD_REDIS_URL name
# (scripts/test.sh starts both); without either it exits 77 (ctest: skipped).
#
# Each scenario gets a fresh migrated database dmarc_test_<random>_<name>,
# dropped on exit; every queue key lives under a prefix of this run
# (DMARCD_QUEUE_PREFIX), deleted on exit, never FLUSHALL. Checks, each named
# in its failure line:
#   1 corpus    the shared corpus (../shared/corpus) queued and worked by
#               two threads: the same reports, records, roll-ups and
#               quarantine rows as a direct `dmarcd import`; every inbox row
#               done, or quarantined with a reason
#   2 kill      kill -9 of a worker in the middle of a 300k-record report,
#               then a new worker: the same content as a clean run, nothing
#               left in processing, the long job never stolen from the
#               worker renewing its lease
#   3 redis     every queue key deleted while jobs are pending: the
#               reconciler queues the inbox rows again, the run completes
#   4 bad       a message without a report, a malformed report, gzip and
#               zip bombs, a mail with one good and one broken attachment:
#               each bad one quarantined with a readable reason, the good
#               reports of the same run stored
#   5 sigterm   SIGTERM in the middle of a long job: with a short deadline
#               the job is released (pending, no report half stored) and the
#               worker exits 0 within the deadline, and another worker takes
#               it over; with a long one the job finishes first; idle, the
#               worker exits at once
#   6 reconnect the database connection killed while a report's records go
#               in: the worker reconnects and reads the message again; the
#               report is stored once
# A message claimed more often than --max-attempts (workers kept dying on
# it) is quarantined and dead-lettered (with check 4).
# plus the command line: usage, unreachable services, an unmigrated database.
# Usage: test_worker.sh DMARCD REPORTGEN SOURCE_DIR
set -uo pipefail
dmarcd=${1:?usage: test_worker.sh DMARCD REPORTGEN SOURCE_DIR}
reportgen=${2:?usage: test_worker.sh DMARCD REPORTGEN SOURCE_DIR}
src=${3:?usage: test_worker.sh DMARCD REPORTGEN SOURCE_DIR}
if [[ -z ${DMARCD_DATABASE_URL:-} || -z ${DMARCD_REDIS_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL or DMARCD_REDIS_URL unset: skipped (scripts/test.sh starts both)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_worker: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"
rre='^redis://(([^:@/]*):([^@/]*)@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
if [[ ! $DMARCD_REDIS_URL =~ $rre ]]; then
    echo "test_worker: cannot read DMARCD_REDIS_URL (expected redis://[:pass@]host:port/db)"
    exit 1
fi
redis_pass=${BASH_REMATCH[3]}
redis_host=${BASH_REMATCH[4]}
redis_port=${BASH_REMATCH[6]:-6379}
redis_db=${BASH_REMATCH[8]:-0}
corpus=$src/../shared/corpus

tmp=$(mktemp -d)
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
prefix="dmarc_test_${tag}"
export DMARCD_QUEUE_PREFIX="dmarcd-wtest-$tag:"
unset DMARCD_CONFIG DMARCD_MASTER_KEY_PREVIOUS_FILE
# the master key sealing failure-report samples (required by workers)
(umask 077 && head -c 32 /dev/urandom >"$tmp/master.key")
export DMARCD_MASTER_KEY_FILE=$tmp/master.key
created=()
bg=()
passed=0
failed=0

sql() { # sql DB ARGS...: the mariadb client as the URL's user (password via env)
    local db=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${db:+"$db"} "$@"
}
rcli() { # the password through the environment, not argv
    if [[ -n $redis_pass ]]; then
        REDISCLI_AUTH=$redis_pass redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    else
        redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    fi
}
wipe_queue() { # deletes every key of this run's prefix: Redis "lost everything"
    local keys
    keys=$(rcli --scan --pattern "${DMARCD_QUEUE_PREFIX}*")
    # shellcheck disable=SC2086 # one key per word
    [[ -z $keys ]] || rcli DEL $keys >/dev/null
}
cleanup() {
    local d p
    for p in "${bg[@]}"; do kill -9 "$p" 2>/dev/null; done
    for d in "${created[@]}"; do
        sql "" -e "DROP DATABASE IF EXISTS \`$d\`" >/dev/null 2>&1
    done
    wipe_queue
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
# check NAME EXPECTED_STATUS COMMAND...: output (stdout and stderr) in $tmp/out
check() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local got=$?
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        tail -40 "$tmp/out" | sed 's/^/    /'
    fi
}
expect() { # expect NAME REGEX [FILE]
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then ok; else
        bad "$1: output lacks /$2/"
        tail -40 "${3:-$tmp/out}" | sed 's/^/    /'
    fi
}
refuse() { # refuse NAME REGEX [FILE]: the output must not match
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then
        bad "$1: output has /$2/"
        grep -E -- "$2" "${3:-$tmp/out}" | head -10 | sed 's/^/    /'
    else ok; fi
}
same() { # same NAME GOT WANT
    if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}
same_files() { # same_files NAME A B: identical, else the first differences
    if cmp -s "$2" "$3"; then ok; else
        bad "$1: contents differ"
        diff "$2" "$3" | head -20 | sed 's/^/    /'
    fi
}
on() { # on DB COMMAND...: dmarcd with DMARCD_DATABASE_URL pointing at DB
    local d=$1
    shift
    DMARCD_DATABASE_URL="$url_base/$d" DMARCD_LOG_LEVEL=${LOG_LEVEL:-warn} "$dmarcd" "$@"
}
# worker DB LOG ARGS...: `dmarcd worker ARGS` until it ends by itself (at most 300 s)
worker() {
    local d=$1 log=$2
    shift 2
    DMARCD_DATABASE_URL="$url_base/$d" DMARCD_LOG_LEVEL=info timeout -s KILL 300 \
        "$dmarcd" worker "$@" >"$log" 2>&1
}
# worker_bg DB LOG ARGS...: a worker in the background; $! is the dmarcd process
worker_bg() {
    local d=$1 log=$2
    shift 2
    DMARCD_DATABASE_URL="$url_base/$d" DMARCD_LOG_LEVEL=info "$dmarcd" worker "$@" >"$log" 2>&1 &
    bg+=("$!")
}
new_db() { # new_db NAME: creates and migrates it, sets $db
    db="${prefix}_$1"
    created+=("$db")
    sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db" >&2; exit 1; }
    on "$db" migrate >"$tmp/migrate.out" 2>&1 || { cat "$tmp/migrate.out"; echo "cannot migrate $db" >&2; exit 1; }
}
demo_tenant() { # demo_tenant DB: the tenant and domains of dmarcd-reportgen's reports
    on "$1" tenant add demo >/dev/null &&
        for d in example.com shop.example.net acme-widgets.example newsletter.example.org; do
            on "$1" domain add demo "$d" >/dev/null || return 1
        done
}
wait_for() { # wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds
    local n=$(($1 * 10))
    shift
    for _ in $(seq 1 "$n"); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# inbox_left DB: rows still pending or processing
inbox_left() { sql "$1" -e "SELECT COUNT(*) FROM inbox WHERE state IN ('pending', 'processing')"; }
# state_of DB LIKE: the state of the inbox row whose origin matches
state_of() { sql "$1" -e "SELECT state FROM inbox WHERE origin LIKE '$2'"; }
is_state() { [[ $(state_of "$1" "$2") == "$3" ]]; }
done_at_least() { (($(sql "$1" -e "SELECT COUNT(*) FROM inbox WHERE state = 'done'") >= $2)); }

# Report, record, roll-up and TLS content without what differs between two
# databases filled the same way: ids, inbox ids, creation times, and the
# source file and part (two worker threads may store one report found in two
# files from either file). dump DB [AGG TLS]: AGG and TLS are SQL conditions
# on aggregate_reports and tls_reports naming reports left out, with the
# roll-ups of their tenant, domain and day.
dump() {
    local agg=${2:-FALSE} tls=${3:-FALSE}
    sql "$1" -e "
        SELECT tenant_id, report_day, HEX(report_key), policy_domain, org_name, email,
               extra_contact_info, report_id, date_begin, date_end, adkim, aspf, p, sp, np, pct,
               fo, testing, discovery_method, format, version, generator, errors, warnings,
               warnings_dropped, record_count, skipped_records, message_count
        FROM aggregate_reports r WHERE NOT ($agg) ORDER BY tenant_id, HEX(report_key);
        SELECT r.tenant_id, HEX(r.report_key), x.record_no, x.report_day, x.source_ip,
               x.message_count, x.disposition, x.dkim, x.spf, x.reasons, x.header_from,
               x.envelope_from, x.envelope_to, x.auth_results
        FROM aggregate_records x JOIN aggregate_reports r
          ON r.tenant_id = x.tenant_id AND r.report_day = x.report_day AND r.id = x.report_id
        WHERE NOT ($agg) ORDER BY 1, 2, 3;
        SELECT * FROM daily_rollups WHERE (tenant_id, domain, report_day) NOT IN
            (SELECT tenant_id, policy_domain, report_day FROM aggregate_reports r WHERE $agg)
        ORDER BY tenant_id, domain, report_day, source_ip, header_from, disposition, dkim, spf;
        SELECT tenant_id, report_day, HEX(report_key), reported_domain, source_ip, source_port,
               arrival_time, feedback_type, auth_failure, identity_alignment, delivery_result,
               dkim_domain, dkim_selector, spf_dns, reporting_mta, user_agent, incidents, arf,
               sample_kind, warnings
        FROM failure_reports ORDER BY tenant_id, HEX(report_key);
        SELECT tenant_id, report_day, HEX(report_key), organization_name, report_id,
               contact_info, date_begin, date_end, policy_count, successful_sessions,
               failed_sessions, warnings
        FROM tls_reports r WHERE NOT ($tls) ORDER BY tenant_id, HEX(report_key);
        SELECT r.tenant_id, HEX(r.report_key), p.policy_no, p.policy_type, p.policy_domain,
               p.policy_strings, p.mx_hosts, p.successful_sessions, p.failed_sessions
        FROM tls_policies p JOIN tls_reports r
          ON r.tenant_id = p.tenant_id AND r.report_day = p.report_day AND r.id = p.tls_report_id
        WHERE NOT ($tls) ORDER BY 1, 2, 3;
        SELECT r.tenant_id, HEX(r.report_key), f.policy_no, f.detail_no, f.result_type,
               f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo, f.receiving_ip,
               f.failed_session_count, f.failure_reason_code, f.additional_information
        FROM tls_failures f JOIN tls_reports r
          ON r.tenant_id = f.tenant_id AND r.report_day = f.report_day AND r.id = f.tls_report_id
        WHERE NOT ($tls) ORDER BY 1, 2, 3, 4;
        SELECT 'samples', format, COUNT(*) FROM failure_samples GROUP BY format;"
}
# The inbox's own bookkeeping after a run: every row done or quarantined,
# every quarantined one with a reason and a quarantine row of its own,
# every stored report pointing at a done row (a failure report at a row
# deleted once done: its raw message held personal data).
inbox_settled() { # inbox_settled NAME DB
    local name=$1 d=$2
    same "$name: no inbox row pending or processing" "$(inbox_left "$d")" "0"
    same "$name: every quarantined row has a reason and a quarantine row" \
        "$(sql "$d" -e "SELECT COUNT(*) FROM inbox i WHERE state = 'quarantined' AND
            (IFNULL(last_error, '') = '' OR NOT EXISTS (SELECT 1 FROM quarantine q
             WHERE q.inbox_id = i.id AND q.file IS NULL AND q.reason <> ''))")" "0"
    same "$name: every stored report names its done inbox row" \
        "$(sql "$d" -e "SELECT
            (SELECT COUNT(*) FROM aggregate_reports r LEFT JOIN inbox i ON i.id = r.inbox_id
             WHERE i.state IS NULL OR i.state <> 'done')
          + (SELECT COUNT(*) FROM failure_reports r LEFT JOIN inbox i ON i.id = r.inbox_id
             WHERE r.inbox_id IS NULL OR i.state <> 'done')
          + (SELECT COUNT(*) FROM tls_reports r LEFT JOIN inbox i ON i.id = r.inbox_id
             WHERE i.state IS NULL OR i.state <> 'done')")" "0"
}
# Roll-ups against the records they sum, whole result sets.
check_rollups() { # check_rollups NAME DB
    sql "$2" -e "
        SELECT r.tenant_id, r.policy_domain, r.report_day, x.source_ip, IFNULL(x.header_from, ''),
               IFNULL(x.disposition, 'unknown'), IFNULL(x.dkim, 'unknown'),
               IFNULL(x.spf, 'unknown'), SUM(x.message_count), COUNT(*)
        FROM aggregate_records x JOIN aggregate_reports r
          ON r.tenant_id = x.tenant_id AND r.report_day = x.report_day AND r.id = x.report_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8" | LC_ALL=C sort >"$tmp/sums"
    sql "$2" -e "SELECT tenant_id, domain, report_day, source_ip, header_from, disposition, dkim,
                        spf, messages, records FROM daily_rollups" | LC_ALL=C sort >"$tmp/rollups"
    same_files "$1: daily_rollups equal the sums of aggregate_records" "$tmp/sums" "$tmp/rollups"
}
# Reports that two or more files of a directory hold under one identity
# but with different content: which file's version is stored depends on
# which message a worker finishes first. Prints two SQL conditions, on
# aggregate_reports and on tls_reports, one per line ("FALSE" when none).
contested() {
    "$dmarcd" parse --format ndjson "$1" 2>/dev/null | python3 -c '
import collections, json, sys
seen = {"agg": collections.defaultdict(set), "tls": collections.defaultdict(set)}
for line in sys.stdin:
    r = json.loads(line)
    r.pop("source", None)
    if r.get("kind") == "aggregate":
        m, p = r["report_metadata"], r["policy_published"]
        key = (m.get("org_name"), m.get("report_id"), (p.get("domain") or "").lower(),
               m["date_range"]["begin"], m["date_range"]["end"])
        seen["agg"][key].add(json.dumps(r, sort_keys=True))
    elif r.get("kind") == "tlsrpt":
        key = (r.get("organization_name"), r.get("report_id"),
               r["date_range"]["start_datetime"], r["date_range"]["end_datetime"])
        seen["tls"][key].add(json.dumps(r, sort_keys=True))
def lit(v):
    if isinstance(v, int):
        return str(v)
    return "\x27" + str(v).replace("\\", "\\\\").replace("\x27", "\x27\x27") + "\x27"
for kind, cols in (("agg", "r.org_name, r.report_id, r.policy_domain, r.date_begin, r.date_end"),
                   ("tls", "r.organization_name, r.report_id")):
    keys = [k for k, v in seen[kind].items() if len(v) > 1]
    if kind == "tls":
        keys = sorted({k[:2] for k in keys})
    if not keys:
        print("FALSE")
    else:
        rows = ", ".join("(" + ", ".join(lit(x) for x in k) + ")" for k in keys)
        print("(" + cols + ") IN (" + rows + ")")
'
}
# field NAME [FILE]: a number from a summary line ("12 queued,")
field() { grep -Eo "[0-9]+ $1(,|\$)" "${2:-$tmp/out}" | tail -n 1 | awk '{print $1}'; }

# ---- the command line ----
check "worker --help" 0 "$dmarcd" worker --help
expect "worker usage" "^usage: dmarcd \[--config FILE\] worker \[--threads N\]"
check "help lists worker" 0 "$dmarcd" help
expect "help lists worker" "^  worker "
check "worker --threads 0" 2 "$dmarcd" worker --threads 0
expect "worker --threads 0: says why" "--threads wants a whole number from 1 to 64"
check "worker --threads x" 2 "$dmarcd" worker --threads=x
check "worker unknown option" 2 "$dmarcd" worker --frob
check "worker unset database url" 2 env -u DMARCD_DATABASE_URL "$dmarcd" worker
check "worker without master_key_file" 2 env -u DMARCD_MASTER_KEY_FILE "$dmarcd" worker
expect "worker without master_key_file: says so" "master_key_file is not set"
check "worker bad prefix" 2 env DMARCD_QUEUE_PREFIX="has space" "$dmarcd" worker --threads 1
expect "worker bad prefix: says why" "queue prefix"
check "worker database unreachable" 3 \
    env DMARCD_DATABASE_URL="mariadb://$db_user:$db_pass@127.0.0.1:1/dmarc_x" "$dmarcd" worker
expect "worker database unreachable: says so" "database unreachable"
refuse "worker database unreachable: no password shown" "$db_pass"
new_db cli
CLI=$db
check "worker redis unreachable" 3 env DMARCD_REDIS_URL=redis://127.0.0.1:1/0 \
    DMARCD_DATABASE_URL="$url_base/$CLI" "$dmarcd" worker --threads 1
expect "worker redis unreachable: says so" "redis unreachable at redis://127.0.0.1:1/0"
check "import --queue redis unreachable" 3 env DMARCD_REDIS_URL=redis://127.0.0.1:1/0 \
    DMARCD_DATABASE_URL="$url_base/$CLI" "$dmarcd" import --queue "$src/tests/data"
same "import --queue redis unreachable: nothing stored" "$(sql "$CLI" -e "SELECT COUNT(*) FROM inbox")" "0"
check "import --queue unknown tenant" 2 on "$CLI" import --queue --tenant nobody "$src/tests/data"
db="${prefix}_bare"
created+=("$db")
sql "" -e "CREATE DATABASE \`$db\`"
check "worker on an unmigrated database" 1 on "$db" worker --threads 1
expect "unmigrated database: the hint" "dmarcd migrate"

# ---- 1 corpus ----
if [[ ! -d $corpus ]]; then
    echo "note: $corpus absent: check 1 on the shared corpus skipped"
else
    # a copy, so that file times (the day of failure reports without an
    # arrival date) are today's in both runs
    cp -r "$corpus" "$tmp/corpus"
    n_files=$(find "$tmp/corpus" -type f | wc -l)
    n_unique=$(find "$tmp/corpus" -type f -print0 | xargs -0 sha256sum | awk '{print $1}' |
        sort -u | wc -l)
    tenants() {
        on "$1" tenant add acme >/dev/null && on "$1" tenant add globex >/dev/null &&
            on "$1" domain add acme example.com >/dev/null &&
            on "$1" domain add acme example.net >/dev/null &&
            on "$1" domain add globex stalw.art >/dev/null &&
            on "$1" domain add globex test.net >/dev/null
    }
    new_db corpus_queued
    W=$db
    tenants "$W" || bad "1 corpus: tenant setup failed"
    check "1 corpus: import --queue" 0 on "$W" import --queue "$tmp/corpus"
    expect "1 corpus: import --queue summary" \
        "^import: $n_files files, $n_unique queued, $((n_files - n_unique)) duplicates, 0 failed$"
    start=$(now_ms)
    worker "$W" "$tmp/corpus.log" --threads 2 --until-idle
    status=$?
    ms=$(($(now_ms) - start))
    same "1 corpus: worker --until-idle exits 0" "$status" "0"
    summary=$(grep '^worker: ' "$tmp/corpus.log")
    echo "note: corpus through the worker: $summary (${ms} ms)"
    same "1 corpus: one job per message, each done or quarantined" \
        "$(field jobs "$tmp/corpus.log") $(($(field "done" "$tmp/corpus.log") + $(field quarantined "$tmp/corpus.log")))" \
        "$n_unique $n_unique"
    # the raw copies of messages holding a failure report are deleted once done
    forgotten=$((n_unique - $(sql "$W" -e "SELECT COUNT(*) FROM inbox")))
    same "1 corpus: the raw messages of failure reports deleted, the others kept" \
        "$forgotten $(sql "$W" -e "SELECT COUNT(*) FROM failure_reports WHERE inbox_id NOT IN
                                    (SELECT id FROM inbox)") $(sql "$W" -e "SELECT COUNT(*) FROM
                                    failure_reports f JOIN inbox i ON i.id = f.inbox_id")" \
        "$forgotten $(sql "$W" -e "SELECT COUNT(*) FROM failure_reports") 0"
    ((forgotten > 0)) && ok || bad "1 corpus: no failure report routed to a tenant?"
    same "1 corpus: samples sealed for the encrypted policy" \
        "$(sql "$W" -e "SELECT COUNT(*) > 0, SUM(format <> 'aead') FROM failure_samples")" "1	0"
    expect "1 corpus: log lines per job" 'msg="job done" inbox_id=[0-9]+ reports=[0-9]+ records=[0-9]+' \
        "$tmp/corpus.log"
    expect "1 corpus: a message with no report quarantined" \
        'msg="message quarantined" inbox_id=[0-9]+ error=not_report .*detail="no report found in the message' \
        "$tmp/corpus.log"
    inbox_settled "1 corpus" "$W"

    new_db corpus_direct
    D=$db
    tenants "$D" || bad "1 corpus: tenant setup failed"
    check "1 corpus: direct import (some quarantined: exit 1)" 1 on "$D" import "$tmp/corpus"
    { read -r agg_contested && read -r tls_contested; } < <(contested "$tmp/corpus")
    dump "$W" "$agg_contested" "$tls_contested" >"$tmp/dump.queued"
    dump "$D" "$agg_contested" "$tls_contested" >"$tmp/dump.direct"
    same_files "1 corpus: the same reports, records and roll-ups as a direct import" \
        "$tmp/dump.direct" "$tmp/dump.queued"
    # reports held by several files in different versions: one version each
    same "1 corpus: contested reports stored once, as many as directly" \
        "$(sql "$W" -e "SELECT COUNT(*), COUNT(DISTINCT report_key) FROM aggregate_reports r
                        WHERE $agg_contested")" \
        "$(sql "$D" -e "SELECT COUNT(*), COUNT(DISTINCT report_key) FROM aggregate_reports r
                        WHERE $agg_contested")"
    [[ $agg_contested != FALSE ]] && ok || bad "1 corpus: expected contested reports in the corpus"
    check_rollups "1 corpus" "$W"
    (($(grep -c . "$tmp/dump.queued") > 1000)) && ok || bad "1 corpus: suspiciously little stored"
    # the sink's quarantine rows (those naming a file), for the files that
    # became inbox rows (a second file with the same bytes did not)
    sql "$W" -e "SELECT tenant_id, file, part, error_code, reason FROM quarantine
                 WHERE file IS NOT NULL ORDER BY 2, 3, 4, 5, 1" >"$tmp/quar.queued"
    sql "$D" -e "SELECT tenant_id, file, part, error_code, reason FROM quarantine
                 WHERE file IN (SELECT origin FROM \`$W\`.inbox) ORDER BY 2, 3, 4, 5, 1" \
        >"$tmp/quar.direct"
    same_files "1 corpus: the same quarantine rows as a direct import" \
        "$tmp/quar.direct" "$tmp/quar.queued"
    same "1 corpus: the sink's quarantine rows name their inbox row" \
        "$(sql "$W" -e "SELECT COUNT(*) FROM quarantine WHERE inbox_id IS NULL")" "0"
    check "1 corpus: import --queue again" 0 on "$W" import --queue "$tmp/corpus"
    expect "1 corpus: again: duplicates but for the deleted failure-report messages" \
        "^import: $n_files files, $forgotten queued, $((n_files - forgotten)) duplicates, 0 failed$"
fi

# ---- generated reports for the fault scenarios ----
"$reportgen" demo --out "$tmp/demo" --days 45 >/dev/null
mkdir -p "$tmp/big"
"$reportgen" big --out "$tmp/big/big.xml.gz" --gzip --records 300000 --seed 5 >/dev/null
n_demo=$(find "$tmp/demo" -type f | wc -l)
new_db clean_demo
C=$db
demo_tenant "$C"
check "clean run: demo" 0 on "$C" import "$tmp/demo"
dump "$C" >"$tmp/dump.clean_demo"
new_db clean_all
CA=$db
demo_tenant "$CA"
check "clean run: big and demo" 0 on "$CA" import "$tmp/big" "$tmp/demo"
dump "$CA" >"$tmp/dump.clean_all"

# ---- 2 kill -9 mid-job ----
new_db killed
K=$db
demo_tenant "$K"
check "2 kill: import --queue" 0 on "$K" import --queue "$tmp/big" "$tmp/demo"
worker_bg "$K" "$tmp/kill1.log" --threads 2 --visibility-seconds 4
pid=$!
# the big report's records going in (one transaction, so the count stays 0)
caught=""
if wait_for 60 is_state "$K" '%big.xml.gz' processing; then
    for _ in $(seq 1 200); do
        sleep 0.05
        if [[ -n $(sql "" -e "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$K'
                              AND INFO LIKE 'INSERT INTO aggregate_records%'") ]]; then
            caught=yes
            break
        fi
    done
fi
sleep 0.3
kill -9 "$pid"
wait "$pid" 2>/dev/null
[[ -n $caught ]] && ok || bad "2 kill: never caught the worker storing the big report"
same "2 kill: the big report's message left in processing" "$(state_of "$K" '%big.xml.gz')" "processing"
same "2 kill: no record of it committed" \
    "$(sql "$K" -e "SELECT COUNT(*) FROM aggregate_reports WHERE record_count >= 300000")" "0"
echo "note: 2 kill: $(sql "$K" -e "SELECT COUNT(*) FROM inbox WHERE state = 'done'") of" \
    "$((n_demo + 1)) messages done when killed"
start=$(now_ms)
worker "$K" "$tmp/kill2.log" --threads 2 --visibility-seconds 4 --reconcile-seconds 2 --until-idle
same "2 kill: the new worker exits 0" "$?" "0"
echo "note: 2 kill: the new worker finished in $(($(now_ms) - start)) ms"
expect "2 kill: the dead worker's jobs taken over" 'msg="job reclaimed from a silent consumer"' \
    "$tmp/kill2.log"
refuse "2 kill: the long job never taken from the worker renewing its lease" \
    'msg="job skipped" .*state=processing' "$tmp/kill2.log"
same "2 kill: the big message done, claimed twice or more" \
    "$(sql "$K" -e "SELECT state, attempts >= 2 FROM inbox WHERE origin LIKE '%big.xml.gz'")" \
    "done	1"
inbox_settled "2 kill" "$K"
dump "$K" >"$tmp/dump.killed"
same_files "2 kill: content equals a clean run" "$tmp/dump.clean_all" "$tmp/dump.killed"

# ---- 3 Redis loses every key while jobs are pending ----
new_db redis_lost
L=$db
demo_tenant "$L"
check "3 redis: import --queue" 0 on "$L" import --queue "$tmp/demo"
worker_bg "$L" "$tmp/lost.log" --threads 2 --visibility-seconds 4 --reconcile-seconds 2 --until-idle
pid=$!
wait_for 60 done_at_least "$L" 50 || bad "3 redis: the worker did not get going"
wipe_queue
echo "note: 3 redis: keys deleted with $(inbox_left "$L") of $n_demo messages left"
wait "$pid"
same "3 redis: the worker exits 0" "$?" "0"
expect "3 redis: the reconciler queued the lost rows" 'msg="inbox rows re-queued" count=[1-9]' \
    "$tmp/lost.log"
inbox_settled "3 redis" "$L"
dump "$L" >"$tmp/dump.lost"
same_files "3 redis: content equals a clean run" "$tmp/dump.clean_demo" "$tmp/dump.lost"

# ---- 4 bad input among good ----
mkdir -p "$tmp/bad"
cp "$src/tests/data/aggregate/rfc7489.xml" "$tmp/bad/a-good.xml"
gzip -c "$src/tests/data/aggregate/rfc9990.xml" >"$tmp/bad/b-good.xml.gz"
printf 'From: someone@example.org\nTo: dmarc@example.com\nSubject: hello\n\nno report here\n' \
    >"$tmp/bad/c-noreport.eml"
cp "$src/tests/data/aggregate/truncated.xml" "$tmp/bad/d-malformed.xml"
head -c 300000000 /dev/zero | gzip -1 >"$tmp/bad/e-bomb.gz"
python3 - "$tmp/bad/f-bomb.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("report.xml", "w", force_zip64=True) as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(300):
            f.write(chunk)
PY
{
    printf 'From: reports@mbp.example\nTo: dmarc@example.com\nSubject: two reports\n'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n\n'
    for f in "$src/tests/data/aggregate/draft-version.xml" "$src/tests/data/aggregate/truncated.xml"; do
        printf -- '--b0\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64\n'
        printf 'Content-Disposition: attachment; filename="%s.gz"\n\n' "${f##*/}"
        gzip -c "$f" | base64
    done
    printf -- '--b0--\n'
} >"$tmp/bad/g-mixed.eml"
cp "$src/tests/data/aggregate/hybrid-np.xml" "$tmp/bad/h-poison.xml"
new_db bad
X=$db
on "$X" tenant add bad >/dev/null
check "4 bad: import --queue --tenant" 0 on "$X" import --queue --tenant bad "$tmp/bad"
expect "4 bad: all queued" "^import: 8 files, 8 queued, 0 duplicates, 0 failed$"
# a message that workers kept dying on: taken up 5 times already
sql "$X" -e "UPDATE inbox SET attempts = 5 WHERE origin = '$tmp/bad/h-poison.xml'"
worker "$X" "$tmp/bad.log" --threads 2 --until-idle --max-attempts 3
same "4 bad: the worker exits 0" "$?" "0"
inbox_settled "4 bad" "$X"
tab=$'\t'
row() { # row FILE: state, then the message's own quarantine reason
    sql "$X" -e "SELECT i.state, IFNULL((SELECT CONCAT(q.error_code, ': ', q.reason) FROM quarantine q
                  WHERE q.inbox_id = i.id AND q.file IS NULL), '-')
                 FROM inbox i WHERE origin = '$tmp/bad/$1'"
}
stored() { # stored FILE: the reports stored from it, and their tenant
    sql "$X" -e "SELECT COUNT(*), IFNULL(MIN(t.name), '-') FROM aggregate_reports r
                 JOIN inbox i ON i.id = r.inbox_id JOIN tenants t ON t.id = r.tenant_id
                 WHERE i.origin = '$tmp/bad/$1'"
}
same "4 bad: good report stored for the fixed tenant" "$(stored a-good.xml)" "1	bad"
same "4 bad: good gzip'd report stored" "$(stored b-good.xml.gz)" "1	bad"
same "4 bad: no report: quarantined, reason" "$(row c-noreport.eml)" \
    "quarantined	not_report: no report found in the message"
[[ $(row d-malformed.xml) =~ ^quarantined${tab}xml:\ no\ report\ could\ be\ stored:\ .*document\ ends ]] &&
    ok || bad "4 bad: malformed report: got '$(row d-malformed.xml)'"
[[ $(row e-bomb.gz) =~ ^quarantined${tab}(ratio|too_big):\ no\ report\ could\ be\ stored:\ .*(ratio|limit) ]] &&
    ok || bad "4 bad: gzip bomb: got '$(row e-bomb.gz)'"
[[ $(row f-bomb.zip) =~ ^quarantined${tab}(ratio|too_big):\ no\ report\ could\ be\ stored:\ .*(ratio|limit) ]] &&
    ok || bad "4 bad: zip bomb: got '$(row f-bomb.zip)'"
same "4 bad: mixed mail done, its good report stored" "$(row g-mixed.eml) $(stored g-mixed.eml)" \
    "done	- 1	bad"
same "4 bad: mixed mail: its broken attachment quarantined by name" \
    "$(sql "$X" -e "SELECT q.error_code, q.part LIKE '%truncated.xml.gz%', t.name FROM quarantine q
                    JOIN inbox i ON i.id = q.inbox_id JOIN tenants t ON t.id = q.tenant_id
                    WHERE i.origin = '$tmp/bad/g-mixed.eml'")" "xml	1	bad"
expect "4 bad: the log names the quarantined messages" \
    'msg="message quarantined" inbox_id=[0-9]+ error=(ratio|too_big) ' "$tmp/bad.log"
same "4 bad: out of attempts: quarantined, not processed" "$(row h-poison.xml) $(stored h-poison.xml)" \
    "quarantined	too_many: taken up 5 times without finishing: workers kept stopping while processing it 0	-"
expect "4 bad: out of attempts: logged" 'msg="job dead" inbox_id=[0-9]+ ' "$tmp/bad.log"
check "4 bad: queue status: nothing waiting, one dead letter" 0 on "$X" queue status --json
expect "4 bad: queue status json" '"length":0,"waiting":0,"pending":0,.*"dead":1,'

# ---- 6 the database connection killed in the middle of a report ----
new_db reconnect
Y=$db
demo_tenant "$Y"
check "6 reconnect: import --queue" 0 on "$Y" import --queue "$tmp/big"
worker_bg "$Y" "$tmp/reconnect.log" --threads 1 --until-idle
pid=$!
killed=""
for _ in $(seq 1 600); do
    sleep 0.05
    id=$(sql "" -e "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$Y'
                    AND ID <> CONNECTION_ID() AND INFO LIKE 'INSERT INTO aggregate_records%'")
    if [[ -n $id ]]; then
        sql "" -e "KILL CONNECTION $id" 2>/dev/null && killed=$id
        break
    fi
done
wait "$pid"
status=$?
if [[ -z $killed ]]; then
    bad "6 reconnect: never caught the worker inserting records"
else
    same "6 reconnect: the worker exits 0" "$status" "0"
    expect "6 reconnect: read the message again on a new connection" \
        'msg="message read again" inbox_id=[0-9]+ attempt=2 error=db_unavailable' "$tmp/reconnect.log"
    same "6 reconnect: done, the report stored once and whole" \
        "$(state_of "$Y" '%big.xml.gz') $(sql "$Y" -e "SELECT COUNT(*), SUM(record_count) FROM aggregate_reports")" \
        "done 1	300000"
    expect "6 reconnect: counted once, as stored" \
        "^worker: 1 jobs, 1 done, .* 1 reports stored, 300000 records, 0 duplicates" "$tmp/reconnect.log"
fi

# ---- 5 SIGTERM ----
new_db sigterm
S=$db
demo_tenant "$S"
check "5 sigterm: import --queue" 0 on "$S" import --queue "$tmp/big"
worker_bg "$S" "$tmp/term1.log" --threads 1 --shutdown-seconds 1
pid=$!
wait_for 60 is_state "$S" '%big.xml.gz' processing || bad "5 sigterm: the big job never started"
sleep 0.5
start=$(now_ms)
kill -TERM "$pid"
wait "$pid"
status=$?
ms=$(($(now_ms) - start))
same "5 sigterm: short deadline: exit 0" "$status" "0"
((ms < 4000)) && ok || bad "5 sigterm: short deadline: took $ms ms (deadline 1 s)"
expect "5 sigterm: the job released" 'msg="job released at shutdown"' "$tmp/term1.log"
same "5 sigterm: the message back to pending, nothing half stored" \
    "$(state_of "$S" '%big.xml.gz') $(sql "$S" -e "SELECT COUNT(*) FROM aggregate_reports")" "pending 0"
# the released job is unacknowledged: a worker takes it over after the visibility timeout
worker "$S" "$tmp/term2.log" --threads 1 --visibility-seconds 2 --until-idle
same "5 sigterm: the released job taken over and finished" \
    "$?:$(state_of "$S" '%big.xml.gz'):$(sql "$S" -e "SELECT SUM(record_count) FROM aggregate_reports")" \
    "0:done:300000"

new_db sigterm_finish
S2=$db
demo_tenant "$S2"
check "5 sigterm: import --queue (2)" 0 on "$S2" import --queue "$tmp/big"
worker_bg "$S2" "$tmp/term3.log" --threads 2 --shutdown-seconds 240
pid=$!
wait_for 60 is_state "$S2" '%big.xml.gz' processing || bad "5 sigterm: the big job never started (2)"
sleep 0.5
start=$(now_ms)
kill -TERM "$pid"
wait "$pid"
status=$?
ms=$(($(now_ms) - start))
same "5 sigterm: long deadline: exit 0" "$status" "0"
((ms < 240000)) && ok || bad "5 sigterm: long deadline: took $ms ms (deadline 240 s)"
echo "note: 5 sigterm: the job in hand finished $ms ms after SIGTERM"
same "5 sigterm: the job in hand finished first" \
    "$(state_of "$S2" '%big.xml.gz') $(inbox_left "$S2") $(sql "$S2" -e "SELECT SUM(record_count) FROM aggregate_reports")" \
    "done 0 300000"
expect "5 sigterm: summary line" "^worker: 1 jobs, 1 done, 0 quarantined, 0 retried, 0 dead, 0 skipped, 0 released, 1 reports stored, 300000 records" \
    "$tmp/term3.log"
worker_bg "$S2" "$tmp/term4.log" --threads 2
pid=$!
sleep 1
start=$(now_ms)
kill -INT "$pid"
wait "$pid"
status=$?
ms=$(($(now_ms) - start))
same "5 sigterm: idle worker: SIGINT exits 0" "$status" "0"
((ms < 3000)) && ok || bad "5 sigterm: idle worker took $ms ms to stop"

left=$(for d in "${created[@]}"; do echo "$d"; done | sort | tr '\n' ' ')
same "this run's databases are known for dropping" "$left" \
    "$(sql "" -e "SHOW DATABASES LIKE '${prefix}\\_%'" | sort | tr '\n' ' ')"

echo "integration worker: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
