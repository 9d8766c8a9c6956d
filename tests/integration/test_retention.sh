#!/usr/bin/env bash
# Integration test of `dmarcd retention` (storage/retention.h) against the
# MariaDB of DMARCD_DATABASE_URL; exits 77 (ctest: skipped) without it.
#
# One tenant per tier (basic, basic-plus, advanced, enterprise) holds
# aggregate reports (dmarcd-reportgen, every third day over three years),
# failure reports with encrypted samples and TLS reports (one a month),
# plus a tenant cancelled 15 days ago with accounts, sessions and tokens,
# and one cancelled a minute ago. Raw inbox copies, quarantine and audit
# rows of several ages. Horizons are evaluated --now 2027-02-15 (after
# the data, so every tier loses something and whole partitions expire).
# Checks, each named in its failure line:
#   dry        --dry-run changes no table, and counts exactly what a real
#              run then removes
#   exact      afterwards each table holds exactly the rows of the kept
#              ranges (row hashes compared), nothing older
#   queries    overview, day series, sources and report list over each
#              tenant's kept range are the same before and after
#   purge      the tenant cancelled 15 days ago has zero rows in every
#              table, its tenants row and its lone account are gone, a
#              shared account stays; the trail holds ids and counts only
#   grace      the tenant cancelled a minute ago is not purged yet
#   partition  monthly partitions older than the longest horizon dropped
#   inbox/quarantine/audit  the dated tables keep exactly the newer rows
#   concurrent two runs at once both succeed; a third removes nothing
# Usage: test_retention.sh DMARCD REPORTGEN QUERIES
set -uo pipefail
dmarcd=${1:?usage: test_retention.sh DMARCD REPORTGEN QUERIES}
reportgen=${2:?usage: test_retention.sh DMARCD REPORTGEN QUERIES}
queries=${3:?usage: test_retention.sh DMARCD REPORTGEN QUERIES}
if [[ -z ${DMARCD_DATABASE_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL unset: skipped (scripts/test.sh starts a database)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_retention: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"

tmp=$(mktemp -d)
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
db="dmarc_test_${tag}_retention"
cleanup() {
    sql "" -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
sql() {
    local d=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${d:+"$d"} "$@"
}
q() { sql "$db" -e "$1"; }
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
check() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local got=$?
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out" | head -40
    fi
}
expect() {
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then ok; else
        bad "$1: output lacks /$2/"
        sed 's/^/    /' "${3:-$tmp/out}" | head -20
    fi
}
same() { if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi; }
same_files() {
    if cmp -s "$2" "$3"; then ok; else
        bad "$1: contents differ"
        diff "$2" "$3" | head -10 | sed 's/^/    /'
    fi
}
export DMARCD_LOG_LEVEL=warn
on() { DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" "$@"; }
tid() { q "SELECT id FROM tenants WHERE name = '$1'"; }
step() { echo "test_retention: $1 (${SECONDS}s)"; }

NOW=2027-02-15
declare -A tier=([basic]=basic [plus]=basic-plus [adv]=advanced [ent]=enterprise
    [gone]=basic [fresh]=basic)
declare -A cutoff=([basic]=2026-11-15 [plus]=2026-11-15 [adv]=2026-02-15 [ent]=2025-02-15
    [fresh]=2026-11-15)
LAST_DAY=2026-11-22

# ---- setup ----
step "setup"
sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db"; exit 1; }
on migrate >"$tmp/migrate.out" 2>&1 || { cat "$tmp/migrate.out"; echo "cannot migrate $db"; exit 1; }
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/master.key"
chmod 600 "$tmp/master.key"
export DMARCD_MASTER_KEY_FILE=$tmp/master.key
for t in basic plus adv ent gone fresh; do
    on tenant add "$t" --tier "${tier[$t]}" >/dev/null &&
        on domain add "$t" "$t-$tag.example" >/dev/null || { echo "cannot add tenant $t"; exit 1; }
done

# aggregate reports: every third day of three years, imported for basic,
# copied row for row to the other tenants
"$reportgen" demo --out "$tmp/gen" --days 1100 --end "$LAST_DAY" --domains 1 >/dev/null ||
    { echo "reportgen failed"; exit 1; }
for f in "$tmp/gen"/*; do
    b=${f##*/}
    b=${b#*!*!}
    (( (${b%%!*} / 86400) % 3 == 0 )) || rm -f "$f"
done
on import --tenant basic "$tmp/gen" >"$tmp/import.out" 2>&1 || { cat "$tmp/import.out"; exit 1; }
copy_rows() { # copy_rows TABLE FROM_ID TO_ID
    local cols sel
    cols=$(q "SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY ORDINAL_POSITION)
              FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$1'")
    sel=${cols/\`tenant_id\`/$3}
    q "INSERT INTO \`$1\` ($cols) SELECT $sel FROM \`$1\` WHERE tenant_id = $2"
}
for t in plus adv ent gone fresh; do
    for table in aggregate_reports aggregate_records daily_rollups; do
        copy_rows "$table" "$(tid basic)" "$(tid "$t")" || { echo "copy to $t failed"; exit 1; }
    done
done

# failure (encrypted samples) and TLS reports: one a month, for every tenant
step "failure and tls reports"
for t in basic plus adv ent gone fresh; do
    mkdir -p "$tmp/mail-$t"
    d="$t-$tag.example"
    for k in $(seq 0 35); do
        day=$(date -u -d "2023-12-10 +$k month" +%Y-%m-%d)
        rfc=$(date -u -d "$day 09:00:00" '+%a, %d %b %Y %H:%M:%S +0000')
        cat >"$tmp/mail-$t/arf-$k.eml" <<EOF
From: Reporter <dmarc@receiver.example>
To: ruf@$d
Subject: DMARC failure report for $d
Message-ID: <arf-$t-$k@receiver.example>
Date: $rfc
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="=_b_"

--=_b_
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: TestReporter/1.0
Version: 1
Original-Rcpt-To: <person-$k@rcpt.example>
Arrival-Date: $rfc
Source-IP: 192.0.2.$((k + 1))
Reported-Domain: $d
Auth-Failure: dmarc

--=_b_
Content-Type: text/rfc822-headers

From: news@$d
To: person-$k@rcpt.example
Subject: message $k

--=_b_--
EOF
        cat >"$tmp/mail-$t/tls-$k.json" <<EOF
{"organization-name": "TLS Reporter",
 "date-range": {"start-datetime": "${day}T00:00:00Z", "end-datetime": "${day}T23:59:59Z"},
 "contact-info": "tlsrpt@reporter.example", "report-id": "tls-$t-$k",
 "policies": [{"policy": {"policy-type": "sts", "policy-string": ["version: STSv1"],
                          "policy-domain": "$d", "mx-host": ["mx.$d"]},
               "summary": {"total-successful-session-count": 100,
                           "total-failure-session-count": 2},
               "failure-details": [{"result-type": "certificate-expired",
                                    "sending-mta-ip": "192.0.2.25",
                                    "receiving-mx-hostname": "mx.$d",
                                    "failed-session-count": 2}]}]}
EOF
    done
    on import --tenant "$t" "$tmp/mail-$t" >"$tmp/import.out" 2>&1 ||
        { cat "$tmp/import.out"; exit 1; }
    expect "setup: $t reports" "72 reports stored" "$tmp/import.out"
done

# accounts: one only in gone, one in gone and basic; a session and a token each
step "accounts"
basic_id=$(tid basic)
gone_id=$(tid gone)
fresh_id=$(tid fresh)
q "INSERT INTO users (id, email) VALUES (901, 'lone@gone.example'), (902, 'shared@both.example');
   INSERT INTO user_tenants (tenant_id, user_id, role) VALUES ($gone_id, 901, 'owner'),
       ($gone_id, 902, 'viewer'), ($basic_id, 902, 'viewer');
   INSERT INTO api_tokens (tenant_id, user_id, name, token_hash) VALUES
       ($gone_id, 901, 't1', UNHEX(SHA2('t1', 256))), ($basic_id, 902, 't2', UNHEX(SHA2('t2', 256)))"
have_sessions=$(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                   AND TABLE_NAME = 'api_sessions'")
if [[ $have_sessions == 1 ]]; then
    q "INSERT INTO api_sessions (id_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at)
       VALUES (UNHEX(SHA2('s1', 256)), 901, UNHEX(SHA2('c1', 256)), NOW(), NOW(), NOW()),
              (UNHEX(SHA2('s2', 256)), 902, UNHEX(SHA2('c2', 256)), NOW(), NOW(), NOW())"
fi
# raw messages, quarantine and audit rows of several ages
inbox() { # inbox NAME TENANT_SQL RECEIVED STATE
    q "INSERT INTO inbox (tenant_id, sha256, source, state, received_at, updated_at, raw_size,
                          compression, compressed)
       VALUES ($2, UNHEX(SHA2('$1-$tag', 256)), 'import', '$4', '$3', '$3', 1, 'none', 'x')"
}
inbox old-done "$basic_id" "2026-11-01 10:00:00" done
inbox new-done "$basic_id" "2027-02-14 10:00:00" done
inbox old-pending "$basic_id" "2026-10-01 10:00:00" pending
inbox old-quarantined "$basic_id" "2026-10-01 10:00:00" quarantined
inbox old-unrouted NULL "2026-10-01 10:00:00" done
inbox gone-new "$gone_id" "2027-02-14 10:00:00" done
q "INSERT INTO quarantine (tenant_id, error_code, reason, created_at) VALUES
       ($basic_id, 'xml', 'old', '2026-06-01'), ($basic_id, 'xml', 'new', '2027-02-01'),
       ($gone_id, 'xml', 'gone', '2027-02-01');
   INSERT INTO audit_log (tenant_id, actor, action, at) VALUES
       (NULL, 'cli', 'test.old', '2025-06-01'), ($basic_id, 'cli', 'test.new', '2026-12-01')"
on tenant cancel gone >/dev/null && on tenant cancel fresh >/dev/null || exit 1
q "UPDATE tenants SET cancelled_at = UTC_TIMESTAMP() - INTERVAL 15 DAY WHERE id = $gone_id;
   UPDATE tenants SET cancelled_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE id = $fresh_id"

# ---- expectations, taken before any run ----
step "expectations"
# every table's rows as sorted hashes; "keep" limits the report tables to
# each tenant's kept range and drops the purged tenant everywhere
tables=$(q "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
            AND TABLE_NAME NOT IN ('retention_log', 'schema_migrations') ORDER BY 1")
report_tables=$(q "SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
                   AND COLUMN_NAME IN ('tenant_id', 'report_day') GROUP BY TABLE_NAME
                   HAVING COUNT(*) = 2 ORDER BY 1")
keep_where() { # keep_where TABLE: what must survive in it
    local w="1" t
    q "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
       AND TABLE_NAME = '$1' AND COLUMN_NAME = 'tenant_id'" | grep -q 1 &&
        w="NOT (tenant_id <=> $gone_id)"
    if grep -qx "$1" <<<"$report_tables"; then
        for t in basic plus adv ent fresh; do
            w="$w AND NOT (tenant_id = $(tid $t) AND report_day < '${cutoff[$t]}')"
        done
    fi
    case $1 in
    inbox) w="$w AND NOT (received_at < '2027-02-08' AND state IN ('done', 'quarantined'))" ;;
    quarantine) w="$w AND created_at >= '2026-11-17'" ;;
    audit_log) w="$w AND at >= '2026-02-15'" ;;
    tenants) w="id <> $gone_id" ;;
    users) w="id <> 901" ;;
    user_tenants | api_tokens | api_sessions) w="$w AND NOT (user_id <=> 901)" ;;
    esac
    echo "$w"
}
hashes() { # hashes TABLE WHERE: one MD5 per row, sorted
    local cols
    cols=$(q "SELECT GROUP_CONCAT(CONCAT('IFNULL(HEX(\`', COLUMN_NAME, '\`), ''-'')')
                                  ORDER BY ORDINAL_POSITION SEPARATOR ', ')
              FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$1'")
    q "SELECT MD5(CONCAT_WS('|', $cols)) FROM \`$1\` WHERE $2" | LC_ALL=C sort
}
snapshot() { # snapshot DIR [keep]: every table's row hashes
    mkdir -p "$1"
    local t
    for t in $tables; do
        if [[ ${2:-} == keep ]]; then hashes "$t" "$(keep_where "$t")"; else hashes "$t" 1; fi \
            >"$1/$t"
    done
}
total_rows() {
    local t n=0
    for t in $tables; do n=$((n + $(q "SELECT COUNT(*) FROM \`$t\`"))); done
    echo $n
}
checksums() { for t in $tables; do q "CHECKSUM TABLE \`$t\`"; done; }
view() { # view TENANT: what the API shows over its kept range
    DMARCD_DATABASE_URL="$url_base/$db" "$queries" "$(tid "$1")" "${cutoff[$1]}" "$LAST_DAY"
}

snapshot "$tmp/expected" keep
for t in basic plus adv ent; do view "$t" >"$tmp/view-$t.before" || bad "queries: $t before"; done
rows_before=$(total_rows)
same "setup: old rows exist" "$(q "SELECT COUNT(*) > 0 FROM aggregate_records
                                  WHERE tenant_id = $(tid ent) AND report_day < '2024-06-01'")" 1
checksums >"$tmp/sums.before"

# ---- dry run ----
step "dry run"
check "dry: runs" 0 on retention --dry-run --now "$NOW"
cp "$tmp/out" "$tmp/dry.out"
expect "dry: summary" "^retention \(dry run, nothing changed\) as of $NOW: [0-9]+ rows would go, 1 tenants purged, 12 partitions would be dropped"
expect "dry: purge line" "^purge .*tenant gone \(id $gone_id, cancelled\): aggregate_records: [0-9]+ rows would go"
expect "dry: horizon line" "^horizon .*tenant adv \(id $(tid adv), advanced, before 2026-02-15\): failure_samples: [0-9]+ rows would go"
checksums >"$tmp/sums.dry"
same_files "dry: changed nothing" "$tmp/sums.before" "$tmp/sums.dry"
same "dry: no trail" "$(q "SELECT COUNT(*) FROM retention_log")" 0
dry_rows=$(grep -Eo '[0-9]+ rows would go, ' "$tmp/dry.out" | tail -1 | awk '{print $1}')

# ---- two runs at once ----
step "two runs"
on retention --now "$NOW" >"$tmp/run1.out" 2>&1 &
p1=$!
on retention --now "$NOW" >"$tmp/run2.out" 2>&1 &
p2=$!
wait $p1
s1=$?
wait $p2
s2=$?
same "concurrent: both succeed" "$s1 $s2" "0 0"
cat "$tmp/run1.out" "$tmp/run2.out" >"$tmp/runs.out"
expect "concurrent: one did the work" "^retention as of $NOW: [0-9]+ rows removed, 1 tenants purged, 12 partitions dropped" "$tmp/runs.out"

# ---- exactly the right rows ----
step "checks"
snapshot "$tmp/after"
for t in $tables; do
    same_files "exact: $t" "$tmp/expected/$t" "$tmp/after/$t"
done
same "dry: counted exactly what went" "$dry_rows" $((rows_before - $(total_rows)))
for t in basic plus adv ent fresh; do
    for table in $report_tables; do
        same "exact: nothing older in $table for $t" "$(q "SELECT COUNT(*) FROM \`$table\`
            WHERE tenant_id = $(tid $t) AND report_day < '${cutoff[$t]}'")" 0
    done
done
same "exact: enterprise keeps two years" "$(q "SELECT MIN(report_day) >= '2025-02-15'
    AND MIN(report_day) < '2025-02-20' FROM aggregate_reports WHERE tenant_id = $(tid ent)")" 1
for t in basic plus adv ent; do
    view "$t" >"$tmp/view-$t.after" || bad "queries: $t after"
    same_files "queries: $t unchanged over its kept range" "$tmp/view-$t.before" "$tmp/view-$t.after"
done

# ---- purge ----
for t in $(q "SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
             AND COLUMN_NAME = 'tenant_id' AND TABLE_NAME <> 'retention_log'"); do
    same "purge: $t empty for the tenant" "$(q "SELECT COUNT(*) FROM \`$t\` WHERE tenant_id = $gone_id")" 0
done
same "purge: tenants row" "$(q "SELECT COUNT(*) FROM tenants WHERE id = $gone_id")" 0
same "purge: accounts" "$(q "SELECT GROUP_CONCAT(id ORDER BY id) FROM users")" 902
[[ $have_sessions == 1 ]] &&
    same "purge: sessions" "$(q "SELECT GROUP_CONCAT(user_id) FROM api_sessions")" 902
same "purge: trail" "$(q "SELECT action, tier, cutoff IS NULL, rows_removed > 0,
    JSON_VALUE(detail, '$.tenants'), JSON_VALUE(detail, '$.users')
    FROM retention_log WHERE tenant_id = $gone_id")" "purge	basic	1	1	1	1"
same "purge: trail holds nothing personal" "$(q "SELECT COUNT(*) FROM retention_log
    WHERE detail LIKE '%@%' OR detail LIKE '%gone%' OR detail LIKE '%example%'")" 0
same "grace: fresh tenant kept" "$(q "SELECT status FROM tenants WHERE id = $fresh_id")" cancelled
same "grace: its recent data kept" "$(q "SELECT COUNT(*) > 0 FROM aggregate_reports
                                        WHERE tenant_id = $fresh_id")" 1

# ---- partitions and dated tables ----
same "partition: dropped" "$(q "SELECT COUNT(*) FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IN ('p202411', 'p202412', 'p202501')")" 0
same "partition: later ones kept" "$(q "SELECT COUNT(DISTINCT TABLE_NAME) FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME = 'p202502'")" 4
same "inbox: kept" "$(q "SELECT GROUP_CONCAT(state ORDER BY id) FROM inbox")" "done,pending"
same "quarantine: kept" "$(q "SELECT GROUP_CONCAT(reason) FROM quarantine")" new
same "audit: old row gone" "$(q "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'test.%'")" 1
same "trail: steps" "$(q "SELECT GROUP_CONCAT(DISTINCT CONCAT(action) ORDER BY CONCAT(action))
                          FROM retention_log")" "audit,horizon,inbox,partition,purge,quarantine"

# ---- again: nothing to do ----
checksums >"$tmp/sums.after"
check "again: runs" 0 on retention --now "$NOW"
expect "again: nothing removed" "^retention as of $NOW: 0 rows removed, 0 tenants purged, 0 partitions dropped"
checksums | grep -v retention_log >"$tmp/sums.again"
grep -v retention_log "$tmp/sums.after" >"$tmp/sums.after2"
same_files "again: no table changed" "$tmp/sums.after2" "$tmp/sums.again"
check "usage: bad date" 2 on retention --now 2027-02-30
check "usage: unknown option" 2 on retention --force

echo "test_retention: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
