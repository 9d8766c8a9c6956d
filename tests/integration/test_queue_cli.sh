#!/usr/bin/env bash
# Integration test of `dmarcd queue status` against the MariaDB and Redis
# that DMARCD_DATABASE_URL and DMARCD_REDIS_URL name (scripts/test.sh starts
# them); without either it exits 77 (ctest: skipped).
#
# Builds a known state by hand: a fresh database dmarc_test_<random>_queue
# with inbox rows in every state, and queue keys under a prefix of this run
# only (jobs waiting and pending, a delayed retry, a dead letter), then
# checks the text and --json output, the exit status when Redis or the
# database cannot be reached (3), and usage errors (2).
# Usage: test_queue_cli.sh PATH/TO/dmarcd
set -uo pipefail
dmarcd=${1:?usage: test_queue_cli.sh DMARCD}
if [[ -z ${DMARCD_DATABASE_URL:-} || -z ${DMARCD_REDIS_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL or DMARCD_REDIS_URL unset: skipped (scripts/test.sh starts both)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_queue_cli: cannot read DMARCD_DATABASE_URL" \
        "(expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"
rre='^redis://(([^:@/]*):([^@/]*)@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
if [[ ! $DMARCD_REDIS_URL =~ $rre ]]; then
    echo "test_queue_cli: cannot read DMARCD_REDIS_URL (expected redis://[:pass@]host:port/db)"
    exit 1
fi
redis_pass=${BASH_REMATCH[3]}
redis_host=${BASH_REMATCH[4]}
redis_port=${BASH_REMATCH[6]:-6379}
redis_db=${BASH_REMATCH[8]:-0}

tmp=$(mktemp -d)
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
db="dmarc_test_${tag}_queue"
prefix="dmarcd-clitest-$tag:"
passed=0
failed=0

sql() {
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names "$@"
}
rcli() { # the password through the environment, not argv
    if [[ -n $redis_pass ]]; then
        REDISCLI_AUTH=$redis_pass redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    else
        redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    fi
}
cleanup() {
    sql -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1
    rcli DEL "${prefix}jobs" "${prefix}delayed" "${prefix}dead" "${prefix}known" >/dev/null 2>&1
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
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    cat "$tmp/err" >>"$tmp/out"
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out"
    fi
}
expect() { # expect NAME REGEX: the last output matches
    if grep -Eq -- "$2" "$tmp/out"; then ok; else
        bad "$1: output lacks /$2/"
        sed 's/^/    /' "$tmp/out"
    fi
}

export DMARCD_DATABASE_URL="$url_base/$db"
sql -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db"; exit 1; }
"$dmarcd" migrate >"$tmp/out" 2>&1 || { echo "migrate failed:"; cat "$tmp/out"; exit 1; }

# an empty queue and inbox
check "status empty" 0 "$dmarcd" queue status --prefix "$prefix"
expect "empty: stream" "^queue ${prefix}jobs \(group workers: missing"
expect "empty: length" "^  length +0$"
expect "empty: inbox" "^  pending +0$"

# inbox: 3 pending (the oldest 90 s old), 1 processing, 2 done, 1 quarantined
row() { # row BYTES SOURCE STATE UPDATED_AT: one INSERT (no message bytes needed here)
    echo "INSERT INTO inbox (sha256, source, state, received_at, updated_at, raw_size," \
        "compressed) VALUES (UNHEX(SHA2('$1', 256)), '$2', '$3', UTC_TIMESTAMP(3), $4, 0, '');"
}
now="UTC_TIMESTAMP(3)"
{
    row a smtp pending "$now - INTERVAL 90 SECOND"
    row b imap pending "$now"
    row c imap pending "$now"
    row d smtp processing "$now"
    row e smtp done "$now"
    row f smtp done "$now"
    row g upload quarantined "$now"
} | sql "$db" || { echo "cannot fill the inbox"; exit 1; }

# queue: 4 jobs of which 1 delivered and not acknowledged, 1 retry waiting, 1 dead letter
for id in 1 2 3 4; do rcli XADD "${prefix}jobs" '*' id "$id" attempt 1 >/dev/null; done
rcli XGROUP CREATE "${prefix}jobs" workers 0 >/dev/null
rcli XREADGROUP GROUP workers t1 COUNT 1 STREAMS "${prefix}jobs" '>' >/dev/null
rcli ZADD "${prefix}delayed" 99999999999999 "5:2" >/dev/null
rcli XADD "${prefix}dead" '*' id 6 attempt 8 reason "gave up" entry 1-0 >/dev/null
sleep 1.1

check "status" 0 "$dmarcd" queue status --prefix "$prefix"
expect "stream" "^queue ${prefix}jobs \(group workers\)$"
expect "length" "^  length +4$"
expect "waiting" "^  waiting +3 "
expect "pending" "^  pending +1 "
expect "lag" "^  lag +1\.[0-9]s "
expect "oldest" "^  oldest +1\.[0-9]s "
expect "delayed" "^  delayed +1 "
expect "dead" "^  dead +1$"
expect "consumers" "^  consumers +1$"
expect "inbox pending" "^  pending +3$"
expect "inbox processing" "^  processing +1$"
expect "inbox done" "^  done +2$"
expect "inbox quarantined" "^  quarantined +1$"
expect "inbox oldest" "^  oldest +1m3[0-9]s "

check "status --json" 0 "$dmarcd" queue status --json "--prefix=$prefix"
expect "json queue" "\"queue\":\{\"stream\":\"${prefix}jobs\",\"group\":\"workers\","
expect "json counts" "\"group_exists\":true,\"length\":4,\"waiting\":3,\"pending\":1,"
expect "json times" "\"lag_ms\":1[0-9]{3},\"oldest_ms\":1[0-9]{3},"
expect "json rest" "\"delayed\":1,\"dead\":1,\"consumers\":1\}"
expect "json inbox" "\"inbox\":\{\"pending\":3,\"processing\":1,\"done\":2,\"quarantined\":1,"
expect "json inbox oldest" "\"oldest_pending_ms\":9[0-9]{4}\}\}$"
if [[ $(wc -l <"$tmp/out") -eq 1 ]]; then ok; else bad "json: one line"; fi

# unreachable services: exit 3, the other side still shown
check "redis unreachable" 3 env DMARCD_REDIS_URL=redis://127.0.0.1:1/0 "$dmarcd" queue status --json
expect "redis unreachable message" "redis unreachable at redis://127.0.0.1:1/0"
expect "redis unreachable json" "\"queue\":null,\"inbox\":\{\"pending\":3"
check "database unreachable" 3 env DMARCD_DATABASE_URL="${url_base%:*}:1/$db" \
    "$dmarcd" queue status --prefix "$prefix"
expect "database unreachable message" "database unreachable"
expect "database unreachable text" "^inbox unreachable$"
expect "database unreachable queue shown" "^  length +4$"
if grep -q -- "$db_pass" "$tmp/out"; then bad "password printed"; else ok; fi

# usage
check "no subcommand" 2 "$dmarcd" queue
check "unknown subcommand" 2 "$dmarcd" queue frob
check "unknown option" 2 "$dmarcd" queue status --frob
check "bad prefix" 2 "$dmarcd" queue status --prefix "has space"
check "help" 0 "$dmarcd" queue --help
expect "help text" "^usage: dmarcd \[--config FILE\] queue status"
check "bad redis url" 2 env DMARCD_REDIS_URL=http://x "$dmarcd" queue status

echo "test_queue_cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
