#!/usr/bin/env bash
# Integration test of `dmarcd smtp` with a real SMTP client (swaks) and
# raw sessions over bash's /dev/tcp, against the MariaDB and Redis that
# DMARCD_DATABASE_URL and DMARCD_REDIS_URL name (scripts/test.sh starts
# them); without either, or without swaks, it exits 77 (ctest: skipped).
#
# Each run has its own database dmarc_test_<random>_smtp and Redis key
# prefix. Checks, each named in its failure line:
#   corpus     every .eml of ../shared/corpus sent with swaks: one inbox row
#              per distinct message, pending, each queued once
#   resend     the corpus again: no new row, no new job, "already stored"
#   routing    rua+acme@ and acme@ carry tenant acme; rua@ none
#   relay      a recipient outside smtp_domains: 550 5.7.1, nothing stored
#   starttls   swaks --tls with a certificate made here (openssl)
#   size       a message over smtp_max_message_bytes: 552 5.3.4
#   pipelining commands sent together are answered in order
#   busy       a connection past smtp_max_connections: 421 4.7.0
#   stall      a silent client, idle or in DATA: 421 4.4.2, nothing stored
#   dbdown     a private MariaDB (scripts/services.sh) stopped in the middle
#              of a delivery: 451 4.3.0; after a restart the retry is stored
#              once, and a third try says "already stored"
#   lmtp       smtp_protocol=lmtp: LHLO, one reply per recipient
#   memory     a message past smtp_memory_limit (all connections): 452 4.3.1
#   deadline   a transaction still open at smtp_shutdown_timeout: 421 4.3.2
#   shutdown   SIGTERM: idle sessions 421 4.3.2 at once, a transaction in
#              progress still gets its 250, exit status 0
# and prints a delivery rate (messages/s) for the record.
# Usage: test_smtp.sh DMARCD SOURCE_DIR
set -uo pipefail
dmarcd=${1:?usage: test_smtp.sh DMARCD SOURCE_DIR}
src=${2:?usage: test_smtp.sh DMARCD SOURCE_DIR}
if [[ -z ${DMARCD_DATABASE_URL:-} || -z ${DMARCD_REDIS_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL or DMARCD_REDIS_URL unset: skipped (scripts/test.sh starts both)"
    exit 77
fi
if ! command -v swaks >/dev/null 2>&1; then
    echo "swaks not installed: skipped (scripts/deps.sh --test installs it)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_smtp: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"
rre='^redis://(([^:@/]*):([^@/]*)@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
if [[ ! $DMARCD_REDIS_URL =~ $rre ]]; then
    echo "test_smtp: cannot read DMARCD_REDIS_URL (expected redis://[:pass@]host:port/db)"
    exit 1
fi
redis_pass=${BASH_REMATCH[3]}
redis_host=${BASH_REMATCH[4]}
redis_port=${BASH_REMATCH[6]:-6379}
redis_db=${BASH_REMATCH[8]:-0}
corpus=$src/../shared/corpus

tmp=$(mktemp -d)
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
db="dmarc_test_${tag}_smtp"
prefix="dmarcd-smtptest-$tag:"
svc=$tmp/svc
pids=()
passed=0
failed=0

sql() { # sql [ARGS...]: the mariadb client on the test database
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
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [[ -d $svc ]]; then bash "$src/scripts/services.sh" stop --run-dir "$svc" >/dev/null 2>&1; fi
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
expect_eq() { # expect_eq NAME GOT WANT
    if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}
expect_match() { # expect_match NAME TEXT REGEX
    if [[ $2 =~ $3 ]]; then ok; else bad "$1: '$2' does not match /$3/"; fi
}
expect_file() { # expect_file NAME FILE REGEX
    if grep -Eq -- "$3" "$2"; then ok; else
        bad "$1: output lacks /$3/"
        sed 's/^/    /' "$2" | tail -25
    fi
}

# A TCP port nothing listens on, from a range the kernel does not hand out
# for outgoing connections.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        if [[ -z $(ss -Hltn "sport = :$p" 2>/dev/null) ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# start_smtp NAME PORT [VAR=VALUE...]: runs dmarcd smtp in the background
# (log in $tmp/NAME.log, pid in $smtp_pid) and waits until it listens.
start_smtp() {
    local name=$1 port=$2
    shift 2
    env DMARCD_SMTP_LISTEN="127.0.0.1:$port" DMARCD_SMTP_DOMAINS=reports.test,Other-Reports.test \
        DMARCD_QUEUE_PREFIX="$prefix" DMARCD_SMTP_HOSTNAME=mx.test DMARCD_SMTP_TIMEOUT=3 \
        DMARCD_SMTP_MAX_CONNECTIONS=4 DMARCD_SMTP_MAX_MESSAGE_BYTES=1048576 "$@" \
        "$dmarcd" smtp >"$tmp/$name.log" 2>&1 &
    smtp_pid=$!
    pids+=("$smtp_pid")
    for _ in $(seq 1 100); do
        grep -q 'msg="smtp listening"' "$tmp/$name.log" 2>/dev/null && return 0
        kill -0 "$smtp_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "test_smtp: dmarcd smtp ($name) did not start:"
    cat "$tmp/$name.log"
    exit 1
}

# send PORT TO FILE [SWAKS ARGS...]: one message with swaks; transcript in $tmp/out.
send() {
    local port=$1 to=$2 file=$3
    shift 3
    swaks --server "127.0.0.1:$port" --to "$to" --from sender@reporter.example \
        --helo client.example --data "@$file" "$@" >"$tmp/out" 2>&1
}

# Raw sessions: conn_open PORT sets $fd; reply FD [SECONDS] prints the last
# line of the next (possibly multi-line) reply, or "(none)".
conn_open() {
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
}
reply() {
    local line
    while IFS= read -r -t "${2:-10}" line <&"$1"; do
        line=${line%$'\r'}
        if [[ ! $line =~ ^[0-9]{3}- ]]; then
            echo "$line"
            return 0
        fi
    done
    echo "(none)"
    return 1
}
rows() { sql "$db" -e "SELECT COUNT(*) FROM inbox WHERE source = 'smtp'"; }
jobs() { rcli XLEN "${prefix}jobs"; }
unique_message() { # unique_message FILE SUBJECT: a small message no other run has sent
    printf 'From: reporter@reporter.example\r\nTo: rua@reports.test\r\nSubject: %s\r\n' "$2" >"$1"
    printf 'Message-ID: <%s.%s@reporter.example>\r\n\r\nbody %s\r\n' "$tag" "$RANDOM$RANDOM" \
        "$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')" >>"$1"
}

export DMARCD_DATABASE_URL="$url_base/$db"
sql -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db"; exit 1; }
"$dmarcd" migrate >"$tmp/out" 2>&1 || { echo "migrate failed:"; cat "$tmp/out"; exit 1; }
"$dmarcd" tenant add acme >"$tmp/out" 2>&1 || { echo "tenant add failed:"; cat "$tmp/out"; exit 1; }
acme_id=$(sql "$db" -e "SELECT id FROM tenants WHERE name = 'acme'")

have_tls=0
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
        -days 2 -subj /CN=mx.test >/dev/null 2>&1; then
    have_tls=1
else
    echo "openssl missing or failing: the STARTTLS check is skipped"
fi
tls_env=()
((have_tls)) && tls_env=(DMARCD_SMTP_TLS_CERT="$tmp/cert.pem" DMARCD_SMTP_TLS_KEY="$tmp/key.pem")

port=$(free_port) || { echo "no free port"; exit 1; }
start_smtp main "$port" "${tls_env[@]}" DMARCD_SMTP_SHUTDOWN_TIMEOUT=20
main_pid=$smtp_pid

# ---- corpus, then the same again ----
mapfile -t emls < <(find "$corpus" -name '*.eml' -type f 2>/dev/null | sort)
if ((${#emls[@]} == 0)); then
    echo "no .eml files under $corpus: corpus checks skipped"
else
    start=$(date +%s%N)
    sent=0
    for f in "${emls[@]}"; do
        if send "$port" rua@reports.test "$f" &&
            grep -Eq '^<-  250 2\.0\.0 Ok: (already )?stored as ' "$tmp/out"; then
            sent=$((sent + 1))
        else
            bad "corpus: $f not accepted"
            tail -5 "$tmp/out" | sed 's/^/    /'
        fi
    done
    ms=$((($(date +%s%N) - start) / 1000000))
    # swaks sends CRLF line ends and a final CRLF, so a file and its CRLF
    # twin (the corpus has such pairs) are one message on the wire
    distinct=$(for f in "${emls[@]}"; do tr -d '\r' <"$f" | sed '$a\' | sha256sum; done |
        sort -u | wc -l)
    expect_eq "corpus: inbox rows" "$(rows)" "$distinct"
    expect_eq "corpus: all pending" \
        "$(sql "$db" -e "SELECT COUNT(*) FROM inbox WHERE source = 'smtp' AND state = 'pending'")" \
        "$distinct"
    expect_eq "corpus: jobs queued" "$(jobs)" "$distinct"
    expect_eq "corpus: sender and client in origin" \
        "$(sql "$db" -e "SELECT COUNT(*) FROM inbox WHERE origin LIKE 'smtp 127.0.0.1 helo=client.example from=<sender@reporter.example>%'")" \
        "$distinct"
    echo "corpus: ${#emls[@]} messages by swaks in ${ms} ms (one swaks process each)"

    resent=0
    for f in "${emls[@]}"; do
        send "$port" rua@reports.test "$f" && grep -q '250 2.0.0 Ok: already stored as ' "$tmp/out" &&
            resent=$((resent + 1))
    done
    expect_eq "resend: already stored" "$resent" "${#emls[@]}"
    expect_eq "resend: no new row" "$(rows)" "$distinct"
    expect_eq "resend: no new job" "$(jobs)" "$distinct"
fi

# ---- routing ----
stored_id() { sed -nE 's/^<-  250 2\.0\.0 Ok: stored as ([0-9]+)$/\1/p' "$tmp/out" | head -1; }
tenant_of() { sql "$db" -e "SELECT IFNULL(tenant_id, 0) FROM inbox WHERE id = $1"; }
for to in rua+acme@reports.test ACME@reports.test rua@reports.test nobody+ghost@other-reports.test; do
    unique_message "$tmp/m.eml" "routing $to"
    send "$port" "$to" "$tmp/m.eml"
    id=$(stored_id)
    if [[ -z $id ]]; then
        bad "routing: $to not stored"
        continue
    fi
    want=0
    [[ $to == *acme* || $to == *ACME* ]] && want=$acme_id
    expect_eq "routing: tenant of $to" "$(tenant_of "$id")" "$want"
done

# ---- relay ----
before=$(rows)
unique_message "$tmp/m.eml" relay
send "$port" victim@elsewhere.example "$tmp/m.eml"
expect_file "relay: refused" "$tmp/out" '^<\*\* +550 5\.7\.1 relay access denied'
send "$port" rua@reports.test.evil.example "$tmp/m.eml"
expect_file "relay: look-alike domain refused" "$tmp/out" '^<\*\* +550 5\.7\.1'
expect_eq "relay: nothing stored" "$(rows)" "$before"

# ---- STARTTLS ----
if ((have_tls)); then
    unique_message "$tmp/m.eml" starttls
    send "$port" rua@reports.test "$tmp/m.eml" --tls
    expect_file "starttls: handshake" "$tmp/out" '^=== TLS started'
    expect_file "starttls: stored" "$tmp/out" '^<~  250 2\.0\.0 Ok: stored as '
    id=$(sed -nE 's/^<~  250 2\.0\.0 Ok: stored as ([0-9]+)$/\1/p' "$tmp/out")
    expect_match "starttls: origin" "$(sql "$db" -e "SELECT origin FROM inbox WHERE id = ${id:-0}")" \
        ' tls=TLS1\.[23]$'
fi

# ---- size ----
before=$(rows)
{
    printf 'Subject: too big\r\n\r\n'
    head -c 900000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
} >"$tmp/big.eml"
send "$port" rua@reports.test "$tmp/big.eml"
expect_file "size: refused" "$tmp/out" '^<\*\* +552 5\.3\.4 message size exceeds'
conn_open "$port"
reply "$fd" >/dev/null
printf 'EHLO client.example\r\n' >&"$fd"
reply "$fd" >/dev/null
printf 'MAIL FROM:<sender@reporter.example> SIZE=2000000\r\n' >&"$fd"
expect_match "size: SIZE= refused at MAIL" "$(reply "$fd")" '^552 5\.3\.4'
exec {fd}>&-
expect_eq "size: nothing stored" "$(rows)" "$before"

# ---- pipelining (what swaks --pipeline does, and more in one write) ----
unique_message "$tmp/m.eml" pipelining
send "$port" rua@reports.test "$tmp/m.eml" --pipeline
expect_file "pipelining: swaks" "$tmp/out" '^<-  250 2\.0\.0 Ok: stored as '
conn_open "$port"
reply "$fd" >/dev/null
printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n' >&"$fd"
got="$(reply "$fd")|$(reply "$fd")|$(reply "$fd")|$(reply "$fd")|$(reply "$fd")"
expect_match "pipelining: replies in order" "$got" \
    '^250 ENHANCEDSTATUSCODES\|250 2\.1\.0 Ok\|250 2\.1\.5 Ok\|550 5\.7\.1 .*\|354 '
printf 'Subject: pipelined %s\r\n\r\n..dot\r\n.\r\nNOOP\r\nQUIT\r\n' "$tag" >&"$fd"
got="$(reply "$fd")|$(reply "$fd")|$(reply "$fd")"
expect_match "pipelining: message, NOOP, QUIT" "$got" \
    '^250 2\.0\.0 Ok: stored as [0-9]+\|250 2\.0\.0 Ok\|221 2\.0\.0 '
exec {fd}>&-

# ---- connection limit (4) ----
conns=()
for i in 1 2 3 4; do
    conn_open "$port"
    conns+=("$fd")
    expect_match "busy: connection $i greeted" "$(reply "$fd")" '^220 mx\.test ESMTP'
done
conn_open "$port"
expect_match "busy: fifth refused" "$(reply "$fd")" '^421 4\.7\.0 mx\.test too many connections'
exec {fd}>&-
for c in "${conns[@]}"; do
    printf 'QUIT\r\n' >&"$c"
    exec {c}>&-
done
sleep 0.3
conn_open "$port"
expect_match "busy: room again" "$(reply "$fd")" '^220 '
exec {fd}>&-

# ---- stalled clients (smtp_timeout=3) ----
before=$(rows)
conn_open "$port"
reply "$fd" >/dev/null
t0=$(date +%s)
expect_match "stall: idle client" "$(reply "$fd" 10)" '^421 4\.4\.2 mx\.test timeout'
waited=$(($(date +%s) - t0))
if ((waited >= 2 && waited <= 6)); then ok; else bad "stall: closed after ${waited}s, expected ~3"; fi
exec {fd}>&-
conn_open "$port"
reply "$fd" >/dev/null
printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n' >&"$fd"
for _ in 1 2 3 4; do reply "$fd" >/dev/null; done
printf 'Subject: half a message\r\n\r\nand then nothing' >&"$fd"
expect_match "stall: client silent in DATA" "$(reply "$fd" 10)" '^421 4\.4\.2'
exec {fd}>&-
expect_eq "stall: nothing stored" "$(rows)" "$before"

# ---- MariaDB stopped during a delivery (a private server) ----
dbdown() {
    local dbp rp url pdb_user pdb_pass pdb_port pport
    dbp=$(free_port) && rp=$(free_port) || return 1
    DMARCD_DB_PORT=$dbp DMARCD_REDIS_PORT=$rp bash "$src/scripts/services.sh" start \
        --run-dir "$svc" >"$tmp/svc.log" 2>&1 || {
        bad "dbdown: services.sh start failed"
        cat "$tmp/svc.log"
        return 1
    }
    url=$(. "$svc/env" && echo "$DMARCD_DATABASE_URL")
    local rurl
    rurl=$(. "$svc/env" && echo "$DMARCD_REDIS_URL")
    [[ $url =~ $re ]] || return 1
    pdb_user=${BASH_REMATCH[2]} pdb_pass=${BASH_REMATCH[3]} pdb_port=${BASH_REMATCH[6]}
    psql() { MYSQL_PWD=$pdb_pass mariadb --no-defaults -h 127.0.0.1 -P "$pdb_port" \
        -u "$pdb_user" --batch --skip-column-names dmarc "$@"; }
    DMARCD_DATABASE_URL=$url "$dmarcd" migrate >"$tmp/out" 2>&1 || {
        bad "dbdown: migrate"
        cat "$tmp/out"
        return 1
    }
    pport=$(free_port)
    # a timeout longer than stopping MariaDB takes, so the session waits for it
    start_smtp dbdown "$pport" DMARCD_DATABASE_URL="$url" DMARCD_REDIS_URL="$rurl" \
        DMARCD_SMTP_TIMEOUT=120
    local pid=$smtp_pid
    # the exact bytes of the message after DATA, and their hash
    local body=$'Subject: db down '"$tag"$'\r\n\r\nstored once, whatever happens\r\n'
    local sha
    sha=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
    session() { # one delivery of $body; prints the reply to the final dot
        conn_open "$pport"
        reply "$fd" >/dev/null
        printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n' >&"$fd"
        for _ in 1 2 3 4; do reply "$fd" >/dev/null; done
        printf '%s' "$body" >&"$fd"
        "$@"
        printf '.\r\nQUIT\r\n' >&"$fd"
        reply "$fd" 60
        exec {fd}>&-
    }
    stop_db() { bash "$src/scripts/services.sh" stop --run-dir "$svc" >>"$tmp/svc.log" 2>&1; }
    expect_match "dbdown: 451 when the database went away mid-DATA" "$(session stop_db)" \
        '^451 4\.3\.0 '
    expect_match "dbdown: 451 while it is away" "$(session true)" '^451 4\.3\.0 '
    kill -0 "$pid" 2>/dev/null && ok || bad "dbdown: dmarcd smtp died with the database"
    bash "$src/scripts/services.sh" start --run-dir "$svc" >>"$tmp/svc.log" 2>&1 ||
        bad "dbdown: services.sh restart failed"
    expect_match "dbdown: the retry is stored" "$(session true)" '^250 2\.0\.0 Ok: stored as '
    expect_match "dbdown: and only once" "$(session true)" '^250 2\.0\.0 Ok: already stored as '
    expect_eq "dbdown: one row" "$(psql -e "SELECT COUNT(*) FROM inbox WHERE sha256 = UNHEX('$sha')")" 1
    kill -TERM "$pid"
    wait "$pid"
    expect_eq "dbdown: exit status" "$?" 0
    expect_file "dbdown: tempfails logged" "$tmp/dbdown.log" 'msg="smtp message not stored; sender told to retry" error=db_unavailable'
    bash "$src/scripts/services.sh" stop --run-dir "$svc" >>"$tmp/svc.log" 2>&1
}
dbdown

# ---- LMTP ----
lport=$(free_port)
start_smtp lmtp "$lport" DMARCD_SMTP_PROTOCOL=lmtp DMARCD_SMTP_MEMORY_LIMIT=1048576 \
    DMARCD_SMTP_SHUTDOWN_TIMEOUT=1
lmtp_pid=$smtp_pid
conn_open "$lport"
expect_match "lmtp: greeting" "$(reply "$fd")" '^220 mx\.test LMTP'
printf 'EHLO c\r\n' >&"$fd"
expect_match "lmtp: EHLO refused" "$(reply "$fd")" '^500 5\.5\.1'
printf 'LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua+acme@reports.test>\r\n' >&"$fd"
printf 'RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n' >&"$fd"
got="$(reply "$fd")|$(reply "$fd")|$(reply "$fd")|$(reply "$fd")|$(reply "$fd")|$(reply "$fd")"
expect_match "lmtp: envelope" "$got" '^250 ENHANCEDSTATUSCODES\|250 2\.1\.0 Ok\|250 2\.1\.5 Ok\|550 5\.7\.1 .*\|250 2\.1\.5 Ok\|354 '
printf 'Subject: lmtp %s\r\n\r\nper recipient\r\n.\r\n' "$tag" >&"$fd"
expect_match "lmtp: first recipient" "$(reply "$fd")" '^250 2\.0\.0 <rua\+acme@reports\.test> Ok: stored as [0-9]+$'
expect_match "lmtp: second recipient" "$(reply "$fd")" '^250 2\.0\.0 <rua@reports\.test> Ok: stored as [0-9]+$'
exec {fd}>&-
unique_message "$tmp/m.eml" "lmtp swaks"
swaks --protocol LMTP --server "127.0.0.1:$lport" --to a@reports.test,b@reports.test \
    --from s@r.example --data "@$tmp/m.eml" >"$tmp/out" 2>&1
expect_eq "lmtp: swaks sees two replies" "$(grep -c '^<-  250 2\.0\.0 <[ab]@reports\.test> Ok' "$tmp/out")" 2

# ---- memory budget (1 MiB here): two half-megabyte-plus messages at once ----
head -c 520000 /dev/urandom | base64 -w 76 | sed 's/$/\r/' >"$tmp/half.txt"
lmtp_data() { # lmtp_data: opens a session up to DATA in $fd
    conn_open "$lport"
    reply "$fd" >/dev/null
    printf 'LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n' >&"$fd"
    for _ in 1 2 3 4; do reply "$fd" >/dev/null; done
}
lmtp_data
first=$fd
printf 'Subject: first %s\r\n\r\n' "$tag" >&"$first"
cat "$tmp/half.txt" >&"$first"
sleep 0.5
lmtp_data
second=$fd
printf 'Subject: second %s\r\n\r\n' "$tag" >&"$second"
cat "$tmp/half.txt" >&"$second"
printf '.\r\n' >&"$second"
expect_match "memory: over the budget" "$(reply "$second")" '^452 4\.3\.1 <rua@reports\.test> '
printf '.\r\n' >&"$first"
expect_match "memory: within it" "$(reply "$first")" '^250 2\.0\.0 <rua@reports\.test> Ok: stored'
exec {first}>&- {second}>&-

# ---- shutdown deadline (1 s here): a transaction that does not finish ----
before=$(rows)
lmtp_data
printf 'Subject: never finished\r\n\r\n' >&"$fd"
sleep 0.2
kill -TERM "$lmtp_pid"
t0=$(date +%s)
expect_match "deadline: transaction cut at the deadline" "$(reply "$fd" 10)" '^421 4\.3\.2'
exec {fd}>&-
wait "$lmtp_pid"
expect_eq "deadline: exit status" "$?" 0
waited=$(($(date +%s) - t0))
if ((waited <= 3)); then ok; else bad "deadline: took ${waited}s, expected ~1"; fi
expect_eq "deadline: nothing stored" "$(rows)" "$before"

# ---- delivery rate: unique messages over 3 connections ----
if command -v python3 >/dev/null 2>&1; then
    python3 - "$port" "$tag" <<'PY' >"$tmp/rate" 2>&1 || { bad "rate: sender failed"; cat "$tmp/rate"; }
import smtplib, sys, threading, time
port, tag = int(sys.argv[1]), sys.argv[2]
N, T = 300, 3
errors = []
def worker(k):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("rate.example")
        for i in range(k, N, T):
            msg = ("Subject: rate %s %d\r\n\r\nmessage %d of a rate run\r\n" % (tag, i, i)).encode()
            s.sendmail("s@rate.example", ["rua@reports.test"], msg)
        s.quit()
    except Exception as e:
        errors.append(repr(e))
t0 = time.time()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(T)]
for t in ts: t.start()
for t in ts: t.join()
dt = time.time() - t0
if errors:
    print("errors:", errors); sys.exit(1)
print("rate: %d messages over %d connections in %.2fs: %.0f messages/s" % (N, T, dt, N / dt))
PY
    cat "$tmp/rate"
fi

# ---- graceful shutdown ----
conn_open "$port"
idle=$fd
reply "$idle" >/dev/null
printf 'EHLO c\r\n' >&"$idle"
reply "$idle" >/dev/null
conn_open "$port"
busy=$fd
reply "$busy" >/dev/null
printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rua@reports.test>\r\nDATA\r\n' >&"$busy"
for _ in 1 2 3 4; do reply "$busy" >/dev/null; done
printf 'Subject: in flight at SIGTERM %s\r\n\r\nfirst half\r\n' "$tag" >&"$busy"
sleep 0.2
kill -TERM "$main_pid"
expect_match "shutdown: idle session closed" "$(reply "$idle" 5)" '^421 4\.3\.2 mx\.test shutting down'
sleep 0.5
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    bad "shutdown: still accepting connections"
else ok; fi
printf 'second half\r\n.\r\n' >&"$busy"
expect_match "shutdown: transaction in progress finished" "$(reply "$busy" 10)" \
    '^250 2\.0\.0 Ok: stored as '
expect_match "shutdown: then closed" "$(reply "$busy" 5)" '^421 4\.3\.2'
exec {idle}>&- {busy}>&-
wait "$main_pid"
expect_eq "shutdown: exit status" "$?" 0
expect_file "shutdown: logged" "$tmp/main.log" 'msg="smtp stopped"'
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/*.log; then
    bad "sanitizer reports in the listener logs"
    grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/*.log | head -20
else ok; fi

echo "test_smtp: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
