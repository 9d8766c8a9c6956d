#!/usr/bin/env bash
# ingest_bench.sh [BUILD_DIR] [MESSAGES] [THREADS] - the ingest pipeline's
# benchmark: `dmarcd import --queue` (inbox + Redis) -> `dmarcd worker`
# (parse + store) -> MariaDB, per stage and end to end.
#
# Input (made once under the work dir, kept for the next run):
#   default   `dmarcd-reportgen demo` with enough days for MESSAGES distinct
#             report files (default 20000; eight policy domains, every
#             reporter's real naming and compression: zip, gzip), so every
#             message stores a new report;
#   --corpus  the shared corpus (../shared/corpus) repeated to MESSAGES
#             messages: copy n of each file is a mail carrying it as an
#             attachment under its own Message-ID, so the inbox keeps every
#             copy, and the reports of copies after the first are found to
#             be duplicates (parsed, looked up, not stored again).
# Runs, each in a fresh database dmarc_bench_ingest_<pid>_<n> on the server
# DMARCD_DATABASE_URL names (its user may create databases dmarc%), with a
# Redis key prefix of its own (DMARCD_REDIS_URL), both removed afterwards:
#   1 staged     import --queue of everything, then worker --until-idle:
#                each stage's messages/s, and the worker's records/s
#   2 pipelined  the worker already running while import --queue fills the
#                queue: end-to-end messages/s and records/s, from the first
#                message in to the last one done
# The worker's time runs from its start to the last inbox row it settled
# (the server's clock), so its idle check at the end does not count.
# Run by hand (not under ctest); `. /tmp/svc/env` or scripts/services.sh
# first. Needs: mariadb client, redis-cli, awk, base64.
set -euo pipefail
corpus_mode=false
args=()
for a in "$@"; do
    if [[ $a == --corpus ]]; then corpus_mode=true; else args+=("$a"); fi
done
set -- "${args[@]+"${args[@]}"}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
messages=${2:-20000}
threads=${3:-2}
dmarcd=$build/cmd/dmarcd
reportgen=$build/bench/reportgen/dmarcd-reportgen
work=${DMARCD_BENCH_DIR:-$build/ingest-bench}

die() {
    echo "ingest_bench: $*" >&2
    exit 1
}
[[ $messages =~ ^[1-9][0-9]{0,6}$ ]] || die "MESSAGES must be a number from 1 to 9999999"
[[ $threads =~ ^[1-9][0-9]?$ ]] || die "THREADS must be a number from 1 to 64"
for tool in "$dmarcd" "$reportgen" mariadb redis-cli awk base64; do
    command -v "$tool" >/dev/null || die "missing $tool (build first; scripts/deps.sh)"
done
[[ -n ${DMARCD_DATABASE_URL:-} && -n ${DMARCD_REDIS_URL:-} ]] ||
    die "DMARCD_DATABASE_URL and DMARCD_REDIS_URL must be set (. /tmp/svc/env, or scripts/services.sh)"
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
[[ $DMARCD_DATABASE_URL =~ $re ]] || die "cannot read DMARCD_DATABASE_URL (mariadb://user:pass@host:port/db)"
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"
rre='^redis://(([^:@/]*):([^@/]*)@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
[[ $DMARCD_REDIS_URL =~ $rre ]] || die "cannot read DMARCD_REDIS_URL (redis://[:pass@]host:port/db)"
redis_pass=${BASH_REMATCH[3]}
redis_host=${BASH_REMATCH[4]}
redis_port=${BASH_REMATCH[6]:-6379}
redis_db=${BASH_REMATCH[8]:-0}
mkdir -p "$work"
export DMARCD_QUEUE_PREFIX="dmarcd-bench-$$:" DMARCD_LOG_LEVEL=warn
unset DMARCD_CONFIG

sql() {
    local db=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${db:+"$db"} "$@"
}
rcli() {
    if [[ -n $redis_pass ]]; then
        REDISCLI_AUTH=$redis_pass redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    else
        redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" "$@"
    fi
}
databases=()
cleanup() {
    local d keys
    for d in "${databases[@]+"${databases[@]}"}"; do
        sql "" -e "DROP DATABASE IF EXISTS \`$d\`" >/dev/null 2>&1 || true
    done
    keys=$(rcli --scan --pattern "${DMARCD_QUEUE_PREFIX}*" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one key per word
    [[ -z $keys ]] || rcli DEL $keys >/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---- the input set ----
if $corpus_mode; then
    corpus=$root/../shared/corpus
    [[ -d $corpus ]] || die "$corpus absent"
    input=$work/corpus-$messages
    if [[ ! -f $input.complete ]]; then
        echo "making $messages messages from the corpus into $input ..."
        rm -rf "$input"
        mkdir -p "$input"
        mapfile -t files < <(find "$corpus" -type f ! -name INDEX.md ! -name MANIFEST.sha256 | sort)
        for ((n = 0; n < messages; n++)); do
            f=${files[n % ${#files[@]}]}
            {
                printf 'From: bench@example.net\nTo: dmarc@example.com\nSubject: bench %d\n' "$n"
                printf 'Message-ID: <bench-%d@example.net>\nMIME-Version: 1.0\n' "$n"
                printf 'Content-Type: multipart/mixed; boundary="b0"\n\n--b0\n'
                printf 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n'
                printf 'Content-Disposition: attachment; filename="%s"\n\n' "${f##*/}"
                base64 "$f"
                printf -- '--b0--\n'
            } >"$input/$(printf '%07d' "$n").eml"
        done
        touch "$input.complete"
    fi
else
    # the demo writes about 6.3 files per (domain, day) with 8 domains
    days=$(((messages + 49) / 50))
    ((days <= 3660)) || die "MESSAGES too large for the demo generator"
    input=$work/demo-$days
    if [[ ! -f $input.complete ]]; then
        rm -rf "$input"
        "$reportgen" demo --out "$input" --days "$days" --domains 8 >/dev/null
        touch "$input.complete"
    fi
fi
n_msgs=$(find "$input" -type f | wc -l)
n_bytes=$(du -sb "$input" | awk '{print $1}')

tenant_setup() { # the demo's and the corpus's policy domains
    local d=$1 dom
    DMARCD_DATABASE_URL="$url_base/$d" "$dmarcd" tenant add bench >/dev/null
    for dom in example.com shop.example.net acme-widgets.example newsletter.example.org \
        brightlane.example nordwind-travel.example kitchen-co.example tiny-club.example.org \
        example.org example.net stalw.art test.net; do
        DMARCD_DATABASE_URL="$url_base/$d" "$dmarcd" domain add bench "$dom" >/dev/null 2>&1 || true
    done
}
new_db() {
    db="dmarc_bench_ingest_$$_$1"
    databases+=("$db")
    sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
    DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" migrate >/dev/null 2>&1 || die "migrate failed"
    tenant_setup "$db"
}
now_s() { date +%s.%N; }
server_now() { sql "" -e "SELECT UTC_TIMESTAMP(3)"; }
wipe_queue() {
    local keys
    keys=$(rcli --scan --pattern "${DMARCD_QUEUE_PREFIX}*")
    # shellcheck disable=SC2086
    [[ -z $keys ]] || rcli DEL $keys >/dev/null
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
row() { printf '%-34s %9s %10s %12s %12s\n' "$@"; }

echo "input: $n_msgs messages, $((n_bytes / 1024)) KiB, $input; worker threads: $threads"
echo "server: $(sql "" -e "SELECT VERSION()"), $(nproc) cores"
row stage messages seconds messages/s records/s

# ---- 1 staged ----
new_db staged
S=$db
t0=$(now_s)
DMARCD_DATABASE_URL="$url_base/$S" "$dmarcd" import --queue "$input" >"$work/import.out"
t1=$(now_s)
import_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
row "import --queue (inbox + queue)" "$n_msgs" "$import_s" "$(rate "$n_msgs" "$import_s")" "-"
start=$(server_now)
DMARCD_DATABASE_URL="$url_base/$S" "$dmarcd" worker --threads "$threads" --until-idle \
    >"$work/worker.out" 2>"$work/worker.err" || die "worker failed: $(tail -3 "$work/worker.err")"
work_s=$(sql "$S" -e "SELECT TIMESTAMPDIFF(MICROSECOND, '$start', MAX(updated_at)) / 1e6 FROM inbox")
records=$(sql "$S" -e "SELECT COUNT(*) FROM aggregate_records")
done_n=$(sql "$S" -e "SELECT COUNT(*) FROM inbox WHERE state IN ('done', 'quarantined')")
row "worker (parse + store, $threads threads)" "$done_n" "$work_s" "$(rate "$done_n" "$work_s")" \
    "$(rate "$records" "$work_s")"
echo "  $(cat "$work/worker.out")"
echo "  $(sql "$S" -e "SELECT CONCAT(SUM(state = 'done'), ' done, ', SUM(state = 'quarantined'),
        ' quarantined') FROM inbox")"
wipe_queue

# ---- 2 pipelined ----
new_db piped
P=$db
DMARCD_DATABASE_URL="$url_base/$P" "$dmarcd" worker --threads "$threads" \
    >"$work/worker2.out" 2>"$work/worker2.err" &
wpid=$!
sleep 1
start=$(server_now)
DMARCD_DATABASE_URL="$url_base/$P" "$dmarcd" import --queue "$input" >"$work/import2.out"
for _ in $(seq 1 36000); do
    left=$(sql "$P" -e "SELECT COUNT(*) FROM inbox WHERE state IN ('pending', 'processing')")
    [[ $left == 0 ]] && break
    sleep 0.1
done
kill -TERM "$wpid"
wait "$wpid" || true
end_s=$(sql "$P" -e "SELECT TIMESTAMPDIFF(MICROSECOND, '$start', MAX(updated_at)) / 1e6 FROM inbox")
records=$(sql "$P" -e "SELECT COUNT(*) FROM aggregate_records")
row "end to end (import and worker at once)" "$n_msgs" "$end_s" "$(rate "$n_msgs" "$end_s")" \
    "$(rate "$records" "$end_s")"
echo "  records stored: $records"
