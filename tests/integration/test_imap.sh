#!/usr/bin/env bash
# Integration test of `dmarcd imap` against a real Dovecot (scripts/dovecot.sh
# starts a private one), the MariaDB of DMARCD_DATABASE_URL and the Redis of
# DMARCD_REDIS_URL (scripts/test.sh starts both). Exits 77 (ctest: skipped)
# without Dovecot or without those two. Each scenario has its own folder in
# the test user's Maildir (its inbox rows are told apart by their origin);
# all share one database dmarc_test_<random>_imap and queue keys under a
# prefix of this run, both removed on exit.
#
#   1 corpus    the shared corpus (../shared/corpus/**/*.eml) and generated
#               messages (a 3 MB line, IMAP-looking lines, 8-bit bytes) over
#               IMAPS with a CA file, for a tenant: one inbox row per distinct
#               message, bytes as the server serves them, all moved to the
#               processed folder, one job each; a second pass takes nothing
#   2 flag      flag mode over STARTTLS with an OAuth2 bearer token from a
#               file: flagged \Seen + DmarcdStored, not moved; the next pass
#               ignores them and takes only new ones; without Redis the
#               messages are still stored and flagged
#   3 dbdown    a private MariaDB (scripts/services.sh) stopped: exit 3,
#               nothing moved; started again: everything stored and moved
#   4 dbkill    the database connection killed mid-run: what was committed
#               is moved, the rest stays; a rerun takes the rest
#   5 drop      the IMAP session killed mid-batch: a rerun stores every
#               message exactly once and moves them all
#   6 loop      the service (no --once) while Dovecot is stopped and started
#               again mid-run: it reconnects with backoff, takes everything,
#               and SIGTERM ends it with status 0
#   7 big       6,000 messages in batches: peak RSS stays small; the rate
#   8 toobig    a message past the 64 MiB limit stays, is reported, exit 1
#   9 errors    bad password, untrusted certificate, no server, no mailbox,
#               credentials in the URL, an unknown tenant; no secret printed
# Usage: test_imap.sh DMARCD SOURCE_DIR
set -uo pipefail
dmarcd=${1:?usage: test_imap.sh DMARCD SOURCE_DIR}
src=${2:?usage: test_imap.sh DMARCD SOURCE_DIR}
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
if ! command -v dovecot >/dev/null 2>&1; then
    echo "dovecot not installed: skipped (scripts/deps.sh --test installs it)"
    exit 77
fi
if [[ -z ${DMARCD_DATABASE_URL:-} || -z ${DMARCD_REDIS_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL or DMARCD_REDIS_URL unset: skipped (scripts/test.sh starts both)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_imap: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"
rre='^redis://(([^:@/]*):([^@/]*)@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
if [[ ! $DMARCD_REDIS_URL =~ $rre ]]; then
    echo "test_imap: cannot read DMARCD_REDIS_URL (expected redis://[:pass@]host:port/db)"
    exit 1
fi
redis_pass=${BASH_REMATCH[3]}
redis_host=${BASH_REMATCH[4]}
redis_port=${BASH_REMATCH[6]:-6379}
redis_db=${BASH_REMATCH[8]:-0}

tmp=$(mktemp -d)
chmod 755 "$tmp" # Dovecot's own users (when run as root) must reach its files
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
prefix="dmarc_test_${tag}"
qprefix="dmarcd-imaptest-$tag:"
dv=$tmp/dv        # the Dovecot run dir
svc=$tmp/svc      # the private MariaDB of scenario 3
created=()
bg=()
passed=0
failed=0

sql() { # sql DB ARGS...: the mariadb client as the URL's user (password via env)
    local d=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${d:+"$d"} "$@"
}
rcli() {
    if [[ -n $redis_pass ]]; then
        REDISCLI_AUTH=$redis_pass redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    else
        redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    fi
}
cleanup() {
    local d p
    for p in "${bg[@]}"; do kill -9 "$p" 2>/dev/null; done
    for d in "${created[@]}"; do sql "" -e "DROP DATABASE IF EXISTS \`$d\`" >/dev/null 2>&1; done
    rcli DEL "${qprefix}jobs" "${qprefix}delayed" "${qprefix}dead" "${qprefix}known" >/dev/null 2>&1
    bash "$src/scripts/dovecot.sh" stop --run-dir "$dv" >/dev/null 2>&1
    [[ -d $svc ]] && bash "$src/scripts/services.sh" stop --run-dir "$svc" >/dev/null 2>&1
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
    cat "$tmp/out" >>"$tmp/all.out"
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out" | tail -n 30
    fi
}
expect() { # expect NAME REGEX [FILE]
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then ok; else
        bad "$1: output lacks /$2/"
        sed 's/^/    /' "${3:-$tmp/out}" | tail -n 30
    fi
}
same() { # same NAME GOT WANT
    if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}
# field NAME: a number from the last summary line in $tmp/out ("imap: 3 found, 2 stored, ...")
field() { grep -E '^imap: ' "$tmp/out" | tail -n 1 | grep -Eo "[0-9]+ $1" | awk '{print $1}'; }

# phase NAME: notes how long the previous scenario took
phase_name=""
phase_start=$SECONDS
phase() {
    [[ -z $phase_name ]] || echo "note: $phase_name took $((SECONDS - phase_start)) s"
    phase_name=$1
    phase_start=$SECONDS
}

# ---- the servers ----
if ! bash "$src/scripts/dovecot.sh" start --run-dir "$dv" >"$tmp/dovecot.out" 2>&1; then
    cat "$tmp/dovecot.out"
    echo "test_imap: cannot start dovecot"
    exit 1
fi
# shellcheck source=/dev/null
source "$dv/dovecot/env"
imap_pw=$(cat "$DOVECOT_PASSWORD_FILE")
md=$DOVECOT_MAILDIR
dovecot_sh() { bash "$src/scripts/dovecot.sh" "$@" --run-dir "$dv" >>"$tmp/dovecot.out" 2>&1; }

new_db() { # new_db NAME: creates and migrates it, sets $db
    db="${prefix}_$1"
    created+=("$db")
    sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" ||
        { echo "cannot create $db"; exit 1; }
    DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" migrate >"$tmp/migrate.out" 2>&1 ||
        { cat "$tmp/migrate.out"; echo "cannot migrate $db"; exit 1; }
}

# imap FOLDER DB [VAR=VALUE | -VAR]... -- ARGS: dmarcd imap on folder FOLDER of
# the test mailbox over IMAPS (moved to FOLDER-done), the inbox in DB; VAR=VALUE
# sets a variable, -VAR leaves it out. Run under "${wrap[@]}" when set.
wrap=()
imap() {
    local folder=$1 d=$2 k
    shift 2
    local -A v=(
        [DMARCD_DATABASE_URL]="$url_base/$d" [DMARCD_QUEUE_PREFIX]="$qprefix"
        [DMARCD_IMAP_URL]="imaps://localhost:$DOVECOT_IMAPS_PORT/$folder"
        [DMARCD_IMAP_USERNAME]="$DOVECOT_USER" [DMARCD_IMAP_PASSWORD_FILE]="$DOVECOT_PASSWORD_FILE"
        [DMARCD_IMAP_CA_FILE]="$DOVECOT_CA_FILE" [DMARCD_IMAP_PROCESSED_FOLDER]="$folder-done"
        [DMARCD_IMAP_TIMEOUT]=10 [DMARCD_LOG_LEVEL]=info)
    while [[ $# -gt 0 && $1 != -- ]]; do
        case "$1" in
            -*) unset "v[${1#-}]" ;;
            *) v[${1%%=*}]=${1#*=} ;;
        esac
        shift
    done
    shift
    local vars=()
    for k in "${!v[@]}"; do vars+=("$k=${v[$k]}"); done
    if [[ -n ${IMAP_EXEC:-} ]]; then # in the background: $! is then dmarcd itself
        exec "${wrap[@]}" env "${vars[@]}" "$dmarcd" imap "$@"
    fi
    "${wrap[@]}" env "${vars[@]}" "$dmarcd" imap "$@"
}

# files FOLDER: messages in the Maildir folder
files() { find "$md/.$1/cur" "$md/.$1/new" -type f 2>/dev/null | wc -l; }
rows() { sql "$C" -e "SELECT COUNT(*) FROM inbox WHERE origin LIKE '%/$1;UIDVALIDITY=%'"; }
jobs() { rcli XLEN "${qprefix}jobs"; }
# imap_cmd FOLDER COMMAND: one IMAP command by curl (an independent client)
imap_cmd() {
    printf 'user = "%s:%s"\n' "$DOVECOT_USER" "$imap_pw" |
        curl -sS -K - --cacert "$DOVECOT_CA_FILE" "imaps://localhost:$DOVECOT_IMAPS_PORT/$1" \
            -X "$2"
}
# count FOLDER SEARCH-KEY: how many messages match, by curl
count() { imap_cmd "$1" "UID SEARCH $2" | tr -d '\r' | awk '/^\* SEARCH/ {print NF - 2}'; }

# gen DIR N NAME [BODY]: N small distinct messages
gen() {
    local dir=$1 n=$2 name=$3 i
    local head='From: reports@%s.example\nTo: dmarc@example.com\n'
    head+='Subject: Report Domain: example.com Submitter: %s Report-ID: <%s-%d>\n'
    head+='Message-ID: <%s-%d-%s@test.example>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n'
    head+='MIME-Version: 1.0\nContent-Type: text/plain\n\nmessage %d of %s\n'
    mkdir -p "$dir"
    for ((i = 1; i <= n; i++)); do
        # shellcheck disable=SC2059 # the format is ours
        printf "$head" "$name" "$name" "$name" "$i" "$name" "$i" "$tag" "$i" "$name" \
            >"$dir/$name-$i.eml"
    done
}

# ---- 1 corpus, over IMAPS with a CA file, for a tenant ----
phase "1 corpus"
new_db imap     # one database: each scenario's rows are told apart by their origin
C=$db
DMARCD_DATABASE_URL="$url_base/$C" "$dmarcd" tenant add imaptest >/dev/null ||
    { echo "cannot add the tenant"; exit 1; }
tenant_id=$(sql "$C" -e "SELECT id FROM tenants WHERE name = 'imaptest'")
mkdir -p "$tmp/corpus"
corpus=$src/../shared/corpus
n_corpus=0
if [[ -d $corpus ]]; then
    while IFS= read -r -d '' f; do
        n_corpus=$((n_corpus + 1))
        cp -- "$f" "$tmp/corpus/c$n_corpus.eml"
    done < <(find "$corpus" -name '*.eml' -type f -print0 | sort -z)
else
    echo "note: 1 corpus: $corpus missing: generated messages only"
fi
gen "$tmp/corpus" 20 corpusgen
{   # a 3 MB line, lines that look like IMAP responses and tags, 8-bit bytes
    printf 'From: a@b.example\nSubject: long line\n\n'
    head -c 3000000 /dev/zero | tr '\0' 'x'
    printf '\n* 1 FETCH (UID 1 BODY[] {3}\nD4 OK fake\n+ more\n\xc3\xa9\xff\xfe end\n'
} >"$tmp/corpus/special.eml"
cp "$tmp/corpus/corpusgen-1.eml" "$tmp/corpus/again.eml"   # the same bytes twice: one row
dovecot_sh add --folder corpus "$tmp/corpus"
n_files=$(find "$tmp/corpus" -type f | wc -l)
# distinct as served: the server sends every line ending as CRLF
n_distinct=$(find "$tmp/corpus" -type f |
    while IFS= read -r f; do tr -d '\r' <"$f" | sha256sum; done | sort -u | wc -l)
echo "note: 1 corpus: $n_corpus corpus messages, $n_files files, $n_distinct distinct"
same "1 corpus: delivered" "$(files corpus)" "$n_files"
rcli DEL "${qprefix}jobs" >/dev/null
check "1 corpus: imap --once" 0 imap corpus "$C" DMARCD_IMAP_TENANT=imaptest -- --once
same "1 corpus: found every message" "$(field found)" "$n_files"
same "1 corpus: stored + duplicates" "$(($(field stored) + $(field duplicates)))" "$n_files"
same "1 corpus: one row per distinct message" "$(rows corpus)" "$n_distinct"
same "1 corpus: all moved" "$(field moved) $(files corpus) $(files corpus-done)" \
    "$n_files 0 $n_files"
same "1 corpus: one job per row" "$(jobs)" "$n_distinct"
same "1 corpus: rows pending, source imap, the tenant's" \
    "$(sql "$C" -e "SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND source = 'imap'
                    AND tenant_id = $tenant_id")" "$n_distinct"   # only these have a tenant
same "1 corpus: origins name the mailbox, UIDVALIDITY and UID" \
    "$(sql "$C" -e "SELECT COUNT(*) FROM inbox WHERE origin REGEXP
        '^imaps://localhost:$DOVECOT_IMAPS_PORT/corpus;UIDVALIDITY=[0-9]+/;UID=[0-9]+\$'")" \
    "$n_distinct"
expect "1 corpus: log line" 'level=info msg="imap poll done" found='
# the stored bytes are what the server serves: fetched again by curl from the processed folder
uids=$(imap_cmd corpus-done "UID SEARCH ALL" | tr -d '\r' | sed -n 's/^\* SEARCH //p')
for u in $uids; do
    printf 'user = "%s:%s"\n' "$DOVECOT_USER" "$imap_pw" |
        curl -sS -K - --cacert "$DOVECOT_CA_FILE" \
            "imaps://localhost:$DOVECOT_IMAPS_PORT/corpus-done;UID=$u" | sha256sum | cut -c1-64
done | sort -u >"$tmp/served.sha"
sql "$C" -e "SELECT LOWER(HEX(sha256)) FROM inbox WHERE origin LIKE '%/corpus;%'" |
    sort >"$tmp/stored.sha"
if cmp -s "$tmp/served.sha" "$tmp/stored.sha"; then ok; else
    bad "1 corpus: stored bytes differ from what the server serves"
    diff "$tmp/served.sha" "$tmp/stored.sha" | head -5
fi
same "1 corpus: the 3 MB message whole" \
    "$(sql "$C" -e "SELECT COUNT(*) FROM inbox WHERE raw_size > 3000000")" "1"
check "1 corpus: second pass" 0 imap corpus "$C" DMARCD_IMAP_TENANT=imaptest -- --once
same "1 corpus: second pass takes nothing" "$(field found) $(field stored) $(rows corpus) $(jobs)" \
    "0 0 $n_distinct $n_distinct"

# ---- 2 flag mode, STARTTLS, OAuth2 bearer token from a file ----
phase "2 flag"
F=$C
gen "$tmp/flag" 30 flag
dovecot_sh add --folder flag "$tmp/flag"
printf '%s\n' "$imap_pw" >"$tmp/token"
flag_imap() {
    imap flag "$F" DMARCD_IMAP_MODE=flag \
        DMARCD_IMAP_URL="imap://localhost:$DOVECOT_IMAP_PORT/flag" -DMARCD_IMAP_PASSWORD_FILE \
        DMARCD_IMAP_OAUTH2_TOKEN_FILE="$tmp/token" "$@"
}
jobs0=$(jobs)
check "2 flag: imap --once" 0 flag_imap -- --once
same "2 flag: stored and queued" \
    "$(field stored) $(field moved) $(rows flag) $(($(jobs) - jobs0))" "30 30 30 30"
same "2 flag: nothing moved" "$(files flag) $(files flag-done)" "30 0"
same "2 flag: flagged" "$(count flag "KEYWORD DmarcdStored") $(count flag SEEN)" "30 30"
if grep -q 'method=OAUTHBEARER\|method=XOAUTH2' "$dv/dovecot/dovecot.log"; then ok; else
    bad "2 flag: dovecot saw no OAuth2 login"
fi
if grep -q 'method=.*, TLS' "$dv/dovecot/dovecot.log"; then ok; else bad "2 flag: no TLS login"; fi
check "2 flag: second pass" 0 flag_imap -- --once
same "2 flag: second pass takes nothing" "$(field found) $(rows flag)" "0 30"
gen "$tmp/flag2" 5 flagmore
dovecot_sh add --folder flag "$tmp/flag2"
check "2 flag: without redis" 0 flag_imap DMARCD_REDIS_URL=redis://127.0.0.1:1/0 -- --once
same "2 flag: only the new ones, stored and flagged" "$(field found) $(field stored) \
$(field queued) $(rows flag) $(count flag "KEYWORD DmarcdStored")" "5 5 0 35 35"
expect "2 flag: redis unavailable said" "redis unavailable|not queued"

# ---- 3 the database down: a private MariaDB, stopped and started ----
phase "3 dbdown"
if bash "$src/scripts/services.sh" start --run-dir "$svc" >"$tmp/svc.out" 2>&1; then
    # shellcheck source=/dev/null
    svc_url=$(source "$svc/env" && echo "$DMARCD_DATABASE_URL")
    DMARCD_DATABASE_URL="$svc_url" "$dmarcd" migrate >"$tmp/migrate.out" 2>&1 ||
        { cat "$tmp/migrate.out"; bad "3 dbdown: cannot migrate the private database"; }
    gen "$tmp/dbdown" 20 dbdown
    dovecot_sh add --folder dbdown "$tmp/dbdown"
    bash "$src/scripts/services.sh" stop --run-dir "$svc" >>"$tmp/svc.out" 2>&1
    dbdown_imap() { imap dbdown none DMARCD_DATABASE_URL="$svc_url" "$@"; }
    check "3 dbdown: database stopped: exit 3" 3 dbdown_imap -- --once
    expect "3 dbdown: says so" "database unavailable"
    same "3 dbdown: nothing moved" "$(files dbdown) $(files dbdown-done)" "20 0"
    bash "$src/scripts/services.sh" start --run-dir "$svc" >>"$tmp/svc.out" 2>&1 ||
        bad "3 dbdown: the private database would not start again"
    check "3 dbdown: database back" 0 dbdown_imap -- --once
    same "3 dbdown: all stored and moved" "$(field stored) $(files dbdown) $(files dbdown-done)" \
        "20 0 20"
    bash "$src/scripts/services.sh" stop --run-dir "$svc" >>"$tmp/svc.out" 2>&1
else
    bad "3 dbdown: cannot start a private MariaDB"
    tail -n 20 "$tmp/svc.out"
fi

# ---- 4 the database connection killed mid-run ----
phase "4 dbkill"
K=$C
gen "$tmp/dbkill" 3000 dbkill
dovecot_sh add --folder dbkill "$tmp/dbkill"
jobs0=$(jobs)
IMAP_EXEC=1 imap dbkill "$K" DMARCD_IMAP_BATCH=10 -- --once >"$tmp/dbkill.out" 2>&1 &
pid=$!
bg+=("$pid")
killed=""
for _ in $(seq 1 600); do
    sleep 0.05
    if (($(rows dbkill) >= 200)); then
        id=$(sql "" -e "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '$K'
                        AND ID <> CONNECTION_ID() LIMIT 1")
        [[ -n $id ]] && sql "" -e "KILL CONNECTION $id" 2>/dev/null && killed=$id
        break
    fi
done
wait "$pid"
status=$?
cp "$tmp/dbkill.out" "$tmp/out"
if [[ -z $killed ]]; then
    bad "4 dbkill: never caught the poller with its database connection"
else
    same "4 dbkill: exit 3" "$status" "3"
    stored=$(rows dbkill)
    echo "note: 4 dbkill: $stored of 3000 stored when the connection was killed"
    if ((stored < 3000)); then ok; else bad "4 dbkill: the kill came after the last message"; fi
    # The kill may land after a COMMIT reached the server but before its
    # reply did: that message is stored, yet the poller saw a failure, so it
    # neither moved nor queued it (lost=1). The rerun finds it a duplicate;
    # its row stays pending for the reconciler, as after a crash between
    # commit and push.
    moved=$(files dbkill-done)
    lost=$((stored - moved))
    if ((lost == 0 || lost == 1)); then ok; else
        bad "4 dbkill: exactly the committed ones moved (moved $moved of $stored stored)"
    fi
    check "4 dbkill: rerun" 0 imap dbkill "$K" -- --once
    same "4 dbkill: rerun took the rest" \
        "$(field stored) $(field duplicates) $(rows dbkill) $(files dbkill) $(files dbkill-done)" \
        "$((3000 - stored)) $lost 3000 0 3000"
    same "4 dbkill: one job per row, but a lost reply's" "$(($(jobs) - jobs0))" "$((3000 - lost))"
fi

# ---- 5 the IMAP session killed mid-batch ----
phase "5 drop"
D=$C
gen "$tmp/drop" 3000 drop
dovecot_sh add --folder drop "$tmp/drop"
jobs0=$(jobs)
IMAP_EXEC=1 imap drop "$D" DMARCD_IMAP_BATCH=7 -- --once >"$tmp/drop.out" 2>&1 &
pid=$!
bg+=("$pid")
dropped=0
for _ in $(seq 1 600); do
    sleep 0.05
    if (($(rows drop) >= 300)); then
        dovecot_sh kill-sessions && dropped=1
        break
    fi
done
wait "$pid"
status=$?
cp "$tmp/drop.out" "$tmp/out"
if ((!dropped)); then
    bad "5 drop: never caught the poller mid-run"
else
    same "5 drop: exit 3 (connection lost)" "$status" "3"
    expect "5 drop: says so" "connection lost"
    stored=$(rows drop)
    moved=$(files drop-done)
    echo "note: 5 drop: $stored stored and $moved moved when the session was killed"
    if ((stored < 3000 && moved <= stored)); then ok; else
        bad "5 drop: after the kill: $stored stored, $moved moved"
    fi
    check "5 drop: rerun" 0 imap drop "$D" -- --once
    same "5 drop: every message stored exactly once, all moved" \
        "$(rows drop) $(files drop) $(files drop-done)" "3000 0 3000"
    same "5 drop: the stored-not-moved came again as duplicates" \
        "$(field duplicates) $(field stored)" "$((stored - moved)) $((3000 - stored))"
    same "5 drop: one job per row, the broken-off batch's too" "$(($(jobs) - jobs0))" "3000"
fi

# ---- 6 the service: Dovecot stopped and started under it, then SIGTERM ----
phase "6 loop"
L=$C
gen "$tmp/loop" 1500 loop
dovecot_sh add --folder loop "$tmp/loop"
IMAP_EXEC=1 imap loop "$L" DMARCD_IMAP_BATCH=5 DMARCD_IMAP_POLL_SECONDS=2 -- >"$tmp/loop.out" 2>&1 &
pid=$!
bg+=("$pid")
for _ in $(seq 1 600); do
    sleep 0.05
    (($(rows loop) >= 200)) && break
done
dovecot_sh stop
stopped_at=$(rows loop)
sleep 3
dovecot_sh start
for _ in $(seq 1 600); do
    sleep 0.1
    [[ $(files loop-done) == 1500 ]] && break
done
kill -TERM "$pid"
wait "$pid"
status=$?
cp "$tmp/loop.out" "$tmp/out"
echo "note: 6 loop: $stopped_at stored when dovecot stopped"
same "6 loop: SIGTERM: exit 0" "$status" "0"
expect "6 loop: lost the connection" 'msg="imap poll failed"'
expect "6 loop: stopped cleanly" 'msg="imap poller stopping"'
same "6 loop: all stored once and moved" "$(rows loop) $(files loop) $(files loop-done)" \
    "1500 0 1500"
if (($(grep -c 'msg="imap connected"' "$tmp/out") >= 2)); then ok; else
    bad "6 loop: never reconnected"
fi

# ---- 7 a big mailbox, in batches, in little memory ----
phase "7 big"
B=$C
gen "$tmp/big" 6000 big
dovecot_sh add --folder big "$tmp/big"
[[ -x /usr/bin/time ]] && wrap=(/usr/bin/time -f 'peak_rss_kb=%M')
check "7 big: imap --once" 0 imap big "$B" DMARCD_LOG_LEVEL=warn -- --once
wrap=()
rss=$(sed -n 's/^peak_rss_kb=//p' "$tmp/out" | tail -n 1)
echo "note: 7 big: $(grep -E '^imap: ' "$tmp/out"), peak RSS ${rss:-?} KiB"
same "7 big: all stored and moved" "$(rows big) $(files big) $(files big-done)" "6000 0 6000"
if [[ -z $rss ]]; then
    echo "note: 7 big: /usr/bin/time missing (scripts/deps.sh --test): peak RSS not measured"
elif "$dmarcd" version | grep -q 'sanitizers on'; then
    echo "note: 7 big: a sanitizer build: its shadow memory makes the peak RSS meaningless"
elif ((rss < 65536)); then ok; else bad "7 big: peak RSS $rss KiB >= 64 MiB"; fi

# ---- 8 a message past the size limit stays ----
phase "8 toobig"
T=$C
gen "$tmp/toobig" 2 toobig
{
    printf 'From: a@b.example\nSubject: huge\n\n'
    head -c $((64 * 1024 * 1024 + 100)) /dev/zero | tr '\0' 'y'
    printf '\n'
} >"$tmp/toobig/huge.eml"
dovecot_sh add --folder toobig "$tmp/toobig"
rm -rf "$tmp/toobig"
check "8 toobig: exit 1" 1 imap toobig "$T" -- --once
same "8 toobig: the others taken, the huge one left" \
    "$(field stored) $(field "too big") $(files toobig) $(files toobig-done)" "2 1 1 2"
expect "8 toobig: named in the log" 'message too big to store: left in the mailbox.* uid=[0-9]+ '

# ---- 9 errors, and no secret ever printed ----
phase "9 errors"
E=$C
echo wrong >"$tmp/wrong"
check "9 errors: wrong password: exit 2" 2 \
    imap INBOX "$E" DMARCD_IMAP_PASSWORD_FILE="$tmp/wrong" -- --once
expect "9 errors: login refused" "refused the login of $DOVECOT_USER"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/o.key" \
    -out "$tmp/other-ca.pem" -days 1 -subj "/CN=other" >/dev/null 2>&1
check "9 errors: untrusted certificate: exit 2" 2 \
    imap INBOX "$E" DMARCD_IMAP_CA_FILE="$tmp/other-ca.pem" -- --once
expect "9 errors: certificate not trusted" "certificate not trusted"
check "9 errors: no server: exit 3" 3 \
    imap INBOX "$E" DMARCD_IMAP_URL=imaps://127.0.0.1:1/INBOX -- --once
expect "9 errors: unreachable" "unreachable"
check "9 errors: no such mailbox: exit 2" 2 imap nosuchfolder "$E" -- --once
expect "9 errors: cannot select" "cannot select the mailbox"
check "9 errors: plain text with imap_starttls = off" 0 imap INBOX "$E" \
    DMARCD_IMAP_URL="imap://127.0.0.1:$DOVECOT_IMAP_PORT/INBOX" DMARCD_IMAP_STARTTLS=off -- --once
check "9 errors: credentials in the URL: exit 2" 2 imap INBOX "$E" \
    DMARCD_IMAP_URL="imaps://me:$imap_pw@localhost:$DOVECOT_IMAPS_PORT/INBOX" -- --once
expect "9 errors: no user or password in the URL" "no user or password in the URL"
check "9 errors: unknown tenant: exit 2" 2 imap INBOX "$E" DMARCD_IMAP_TENANT=nosuch -- --once
expect "9 errors: names the tenant" "no tenant named nosuch"
check "9 errors: no password: exit 2" 2 imap INBOX "$E" -DMARCD_IMAP_PASSWORD_FILE -- --once
expect "9 errors: asks for one" "set imap_password or imap_oauth2_token"
check "9 errors: a debug run" 0 imap INBOX "$E" DMARCD_LOG_LEVEL=debug -- --once
check "9 errors: usage" 2 "$dmarcd" imap --frob
check "9 errors: help" 0 "$dmarcd" imap --help
expect "9 errors: help text" "^usage: dmarcd \[--config FILE\] imap \[--once\]"
if grep -qF -- "$imap_pw" "$tmp"/*.out; then bad "no run printed the password"; else ok; fi

phase ""
left=$(for d in "${created[@]}"; do echo "$d"; done | sort | tr '\n' ' ')
same "this run's databases are known for dropping" "$left" \
    "$(sql "" -e "SHOW DATABASES LIKE '${prefix}\\_%'" | sort | tr '\n' ' ')"

echo "integration imap: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
