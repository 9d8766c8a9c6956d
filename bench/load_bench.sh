#!/usr/bin/env bash
# load_bench.sh [BUILD_DIR] [RECORDS] - the storage benchmark: `dmarcd import`
# against a plain LOAD DATA LOCAL INFILE of the same rows, as the ceiling.
#
# 1. Starts a private MariaDB (scripts/services.sh --fresh, run dir under
#    BUILD_DIR/load-bench), gives InnoDB a 2 GiB buffer pool and a 1 GiB
#    redo log (SET GLOBAL; DMARCD_BENCH_SET to change, '' for services.sh's
#    256 MiB / 64 MiB test settings), creates database dmarc_bench, migrates
#    it, adds a tenant owning the reports' policy domain.
#    DMARCD_DATABASE_URL is ignored on purpose: the bench drops databases
#    and changes global settings, and only figures from a fresh server of
#    known settings can be compared.
# 2. Generates (once, kept for the next run) aggregate reports totalling
#    RECORDS records (default 5,000,000): `dmarcd-reportgen big` with seeds
#    1, 2, ..., sizes log-uniform in 100..5000 records (mean ~1250, so ~4100
#    reports for 5M: per-report costs are in the figure), gzipped, spread
#    over 30 days in order (as live reports arrive) so roll-ups and
#    partitions see several days.
# 3. Times `dmarcd import DIR` (routed by policy domain, as in production).
#    It writes aggregate_reports, aggregate_records and daily_rollups, one
#    transaction per report.
# 4. Dumps the aggregate_records rows dmarcd stored (SELECT ... INTO OUTFILE,
#    not timed) and times LOAD DATA LOCAL INFILE of that file, as the same
#    application user over the same TCP connection type, into an empty
#    aggregate_records_ceiling created LIKE aggregate_records (same columns,
#    keys and partitions). CHECKSUM TABLE then proves both tables equal.
#    Before each timed step the server's dirty pages are flushed, so neither
#    run pays for the other's writes.
# 5. Prints rows, seconds, records/s, % of the ceiling, dmarcd's peak RSS and
#    CPU seconds, the server's CPU seconds (all its threads), pages it read
#    from disk and redo log it wrote during each step, the load average
#    around each step, the tables' sizes and the server settings that decide
#    such figures. Appends the same to load-bench/results.txt.
#
# Target (issue 4): dmarcd import >= 50% of the ceiling's records/s on 2 cores.
# The machine's other work counts: compare runs at similar load averages.
# Run by hand (not under ctest). Needs: mariadb client and server, redis
# (started by services.sh), /usr/bin/time, awk. DMARCD_BENCH_KEEP=1 leaves
# the server running afterwards; otherwise it is stopped and, when the run
# succeeded, its data deleted. See bench/README.md for figures.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
records=${2:-5000000}
dmarcd=$build/cmd/dmarcd
reportgen=$build/bench/reportgen/dmarcd-reportgen
work=${DMARCD_BENCH_DIR:-$build/load-bench}
run_dir=$work/run
set_dir=$work/reports-$records
db=dmarc_bench
days=30
end_day=2026-11-22

die() {
    echo "load_bench: $*" >&2
    exit 1
}

[[ $records =~ ^[1-9][0-9]{0,8}$ ]] || die "RECORDS must be a number from 1 to 999999999: $records"
for tool in "$dmarcd" "$reportgen" mariadb /usr/bin/time awk; do
    command -v "$tool" >/dev/null || die "missing $tool (build first; scripts/deps.sh; apt-get install time)"
done
mkdir -p "$work"

# ---- the report set ---------------------------------------------------------------

# One line per report: seed, records, day (0: the first of the days).
# Sizes are log-uniform in 100..5000 from a Park-Miller generator (exact in
# awk's doubles, so every awk gives the same plan); the last report takes
# what is left. Days run in order, each with an equal share of the
# records, as reports come in (a day's reports arrive the next day): the
# roll-ups of one day are hot at a time, not all of them.
plan() {
    awk -v total="$records" -v days="$days" 'BEGIN {
        x = 20240611; left = total
        for (i = 1; left > 0; i++) {
            x = (x * 16807) % 2147483647
            n = int(100 * exp(log(50) * x / 2147483647))
            if (n > left) n = left
            printf "%d %d %d\n", i, n, int((total - left) * days / total)
            left -= n
        }
    }'
}

# Makes the report set of the plan, unless the one on disk is of the same plan.
generate() {
    local tmp=$set_dir.tmp end_s d seed n day
    local -a dates
    end_s=$(date -u -d "$end_day" +%s)
    for ((d = 0; d < days; d++)); do
        dates[d]=$(date -u -d "@$((end_s - (days - 1 - d) * 86400))" +%F)
    done
    plan | while read -r seed n day; do
        printf '%s %s %s r%06d.xml.gz\n' "$seed" "$n" "${dates[day]}" "$seed"
    done >"$work/plan.txt"
    if [[ -f $set_dir/MANIFEST ]] && cmp -s "$work/plan.txt" "$set_dir/PLAN"; then
        return 0
    fi
    echo "generating reports totalling $records records into $set_dir ..."
    rm -rf "$tmp" "$set_dir"
    mkdir -p "$tmp/reports"
    cp "$work/plan.txt" "$tmp/PLAN"
    # Two at a time: the machine has two cores, and other work on it.
    # shellcheck disable=SC2016 # expanded by sh, not here
    (cd "$tmp/reports" && xargs -P 2 -L 1 sh -c \
        '"$0" big --seed "$1" --records "$2" --end "$3" --out "$4" --gzip >/dev/null' \
        "$reportgen" <"$tmp/PLAN")
    [[ $(find "$tmp/reports" -name '*.xml.gz' | wc -l) == $(wc -l <"$tmp/PLAN") ]] ||
        die "report generation incomplete"
    awk '{ n++; r += $2 } END { printf "reports=%d records=%d\n", n, r }' "$tmp/PLAN" >"$tmp/MANIFEST"
    mv "$tmp" "$set_dir"
}

# ---- the server ---------------------------------------------------------------------

server_up=0
ok=0
cleanup() {
    ((server_up)) || return 0
    if [[ ${DMARCD_BENCH_KEEP:-0} == 1 ]]; then
        echo "server left running: . $run_dir/env; $root/scripts/services.sh stop --run-dir $run_dir"
    elif ((ok)); then
        "$root/scripts/services.sh" stop --fresh --run-dir "$run_dir" >/dev/null
    else
        "$root/scripts/services.sh" stop --run-dir "$run_dir" >/dev/null || true
        echo "load_bench: failed; server logs kept in $run_dir/mariadb" >&2
    fi
}
trap cleanup EXIT

sock=$run_dir/mariadb/mariadb.sock
root_sql() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names "$@"; }
app_sql() { mariadb --defaults-file="$work/client.cnf" --batch --skip-column-names "$db" "$@"; }
status_var() { root_sql -e "SHOW GLOBAL STATUS LIKE '$1'" | awk '{ print $2 }'; }

start_server() {
    DMARCD_DB_PORT=${DMARCD_DB_PORT:-3476} DMARCD_REDIS_PORT=${DMARCD_REDIS_PORT:-6549} \
        "$root/scripts/services.sh" start --fresh --run-dir "$run_dir" >/dev/null
    server_up=1
    # shellcheck disable=SC1091
    . "$run_dir/env"
    local url=$DMARCD_DATABASE_URL rest user pass hostport
    export DMARCD_DATABASE_URL=${url%/*}/$db
    # mariadb://USER:PASS@HOST:PORT/DB, as services.sh writes it
    rest=${url#mariadb://}
    user=${rest%%:*}
    rest=${rest#*:}
    pass=${rest%%@*}
    hostport=${rest#*@}
    hostport=${hostport%%/*}
    (
        umask 077
        printf '[client]\nuser=%s\npassword=%s\nhost=%s\nport=%s\nlocal-infile=1\n' \
            "$user" "$pass" "${hostport%:*}" "${hostport##*:}" >"$work/client.cnf"
    )
    root_sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
    {
        "$dmarcd" migrate &&
            "$dmarcd" tenant add bench --tier enterprise &&
            "$dmarcd" domain add bench example.com
    } >"$work/setup.log" 2>&1 || {
        cat "$work/setup.log" >&2
        die "setting up database $db failed"
    }
}

# Flushes every dirty page, so that the next timed step starts from a clean
# buffer pool and a recent checkpoint.
quiesce() {
    local pct i dirty
    pct=$(root_sql -e "SELECT @@GLOBAL.innodb_max_dirty_pages_pct")
    root_sql -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
    for ((i = 0; i < 1200; i++)); do
        dirty=$(status_var Innodb_buffer_pool_pages_dirty)
        ((dirty == 0)) && break
        sleep 0.5
    done
    root_sql -e "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
    ((dirty == 0)) || echo "load_bench: warning: $dirty dirty pages left after 10 minutes" >&2
}

# The server's counters now: CPU seconds, pages read from disk, bytes
# written to the redo log.
snapshot() {
    local pid cpu
    pid=$(tr -dc 0-9 <"$run_dir/mariadb/mariadbd.pid")
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' \
        "/proc/$pid/stat")
    echo "$cpu $(status_var Innodb_buffer_pool_reads) $(status_var Innodb_os_log_written)"
}

# Server settings for the run, SET GLOBAL after the start ("name = value,
# ..."; sizes in bytes). The default gives InnoDB what a server taking in
# such volumes would have: a buffer pool holding what ingest touches at
# random (daily_rollups and the two source_ip indexes, ~1.5 GiB at 5M
# records) and a redo log that does not force flushing every few seconds.
# DMARCD_BENCH_SET='' keeps services.sh's test settings (256 MiB pool,
# 64 MiB redo log), under which the import is bound by random reads (see
# bench/README.md).
settings=${DMARCD_BENCH_SET-innodb_buffer_pool_size = 2147483648, innodb_log_file_size = 1073741824}

# Applies $settings and waits for a buffer pool resize to finish.
server_settings() {
    local i
    [[ -n $settings ]] || return 0
    [[ $settings =~ ^[a-z_]+\ *=\ *[0-9*]+(\ *,\ *[a-z_]+\ *=\ *[0-9*]+)*$ ]] ||
        die "DMARCD_BENCH_SET: want 'name = number, ...' (e.g. innodb_buffer_pool_size = 2147483648)"
    root_sql -e "SET GLOBAL $settings"
    for ((i = 0; i < 600; i++)); do
        [[ $(status_var Innodb_buffer_pool_resize_status) != *[Rr]esizing* ]] && return 0
        sleep 0.5
    done
    die "buffer pool resize did not finish in 5 minutes"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- the steps ---------------------------------------------------------------------

generate
read -r _ expect_records < <(sed 's/[a-z]*=//g' "$set_dir/MANIFEST")
[[ $expect_records == "$records" ]] || die "$set_dir/MANIFEST: $expect_records records, expected $records"
nreports=$(wc -l <"$set_dir/PLAN")

start_server
server_settings
quiesce

# 1. dmarcd import
load_before=$(loadavg)
snap0=$(snapshot)
/usr/bin/time -f "%e %M %U %S" -o "$work/import.time" "$dmarcd" import "$set_dir/reports" \
    >"$work/import.out" 2>"$work/import.err" || {
    cat "$work/import.out" "$work/import.err" >&2
    die "dmarcd import failed"
}
snap1=$(snapshot)
load_import=$(loadavg)
read -r imp_s imp_kib imp_user imp_sys <"$work/import.time"
summary=$(grep '^import:' "$work/import.out") || die "no summary line from dmarcd import"
stored=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^records,?$/) print $i }' <<<"$summary")
[[ $stored == "$records" && $summary == *" $nreports reports stored,"* && $summary == *" 0 duplicates, 0 quarantined, 0 failed,"* ]] ||
    die "import stored something else than $nreports reports and $records records: $summary"

# 2. the ceiling
tsv=$work/records.tsv
rm -f "$tsv"
root_sql "$db" -e "SELECT * FROM aggregate_records INTO OUTFILE '$tsv'"
root_sql "$db" -e "CREATE TABLE aggregate_records_ceiling LIKE aggregate_records"
quiesce
snap2=$(snapshot)
load_before_ceiling=$(loadavg)
/usr/bin/time -f "%e %M" -o "$work/ceiling.time" \
    mariadb --defaults-file="$work/client.cnf" --batch --skip-column-names "$db" \
    -e "LOAD DATA LOCAL INFILE '$tsv' INTO TABLE aggregate_records_ceiling CHARACTER SET utf8mb4;
        SELECT @@warning_count" >"$work/ceiling.out"
snap3=$(snapshot)
load_ceiling=$(loadavg)
read -r ceil_s _ <"$work/ceiling.time"
[[ $(cat "$work/ceiling.out") == 0 ]] || die "LOAD DATA had warnings: $(cat "$work/ceiling.out")"

# Same rows, same values?
read -r sum_a sum_b < <(root_sql "$db" -e "CHECKSUM TABLE aggregate_records, aggregate_records_ceiling" |
    awk '{ printf "%s ", $2 } END { print "" }')
[[ $sum_a == "$sum_b" ]] || die "the ceiling table differs from aggregate_records ($sum_a, $sum_b)"
ceil_rows=$(app_sql -e "SELECT COUNT(*) FROM aggregate_records_ceiling")
[[ $ceil_rows == "$records" ]] || die "LOAD DATA loaded $ceil_rows rows, expected $records"
read -r nrollups rollup_records < <(app_sql -e "SELECT COUNT(*), SUM(records) FROM daily_rollups")
sizes=$(app_sql -e "SELECT GROUP_CONCAT(CONCAT(table_name, ' ',
            ROUND((data_length + index_length) / 1048576), ' MiB (secondary indexes ',
            ROUND(index_length / 1048576), ')') ORDER BY table_name SEPARATOR ', ')
        FROM information_schema.tables WHERE table_schema = DATABASE()
        AND table_name IN ('aggregate_reports', 'aggregate_records', 'daily_rollups')")

# ---- the figures --------------------------------------------------------------------

setting() { root_sql -e "SELECT @@GLOBAL.$1"; }
{
    echo "== load_bench $(date -u +%FT%TZ) $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"
    printf 'input: %s reports, %s records (sizes 100-5000, log-uniform; %d days; gzip %s MiB)\n' \
        "$nreports" "$records" "$days" "$(du -sm "$set_dir/reports" | cut -f1)"
    printf 'server: MariaDB %s, innodb_buffer_pool_size=%s MiB, innodb_log_file_size=%s MiB,\n' \
        "$(setting version)" "$(($(setting innodb_buffer_pool_size) / 1048576))" \
        "$(($(setting innodb_log_file_size) / 1048576))"
    printf '        innodb_flush_log_at_trx_commit=%s, log_bin=%s, innodb_doublewrite=%s, innodb_flush_method=%s\n' \
        "$(setting innodb_flush_log_at_trx_commit)" "$(setting log_bin)" \
        "$(setting innodb_doublewrite)" "$(setting innodb_flush_method)"
    printf 'machine: %s cores\n' "$(nproc)"
    echo
    awk -v r="$records" -v is="$imp_s" -v cs="$ceil_s" -v kib="$imp_kib" -v cu="$imp_user" \
        -v cy="$imp_sys" -v a="$snap0" -v b="$snap1" -v c="$snap2" -v d="$snap3" 'BEGIN {
        split(a, s0); split(b, s1); split(c, s2); split(d, s3)
        printf "%-23s %8s %8s %10s %8s %9s %7s %7s %9s %8s\n", "run", "rows", "seconds",
            "records/s", "%ceiling", "peak RSS", "cli CPU", "srv CPU", "pages rd", "redo MiB"
        printf "%-23s %8d %8.1f %10.0f %7.1f%% %5.1f MiB %6.1fs %6.1fs %9d %8.0f\n",
            "dmarcd import", r, is, r / is, 100 * cs / is, kib / 1024, cu + cy, s1[1] - s0[1],
            s1[2] - s0[2], (s1[3] - s0[3]) / 1048576
        printf "%-23s %8d %8.1f %10.0f %7.1f%% %9s %7s %6.1fs %9d %8.0f\n",
            "LOAD DATA LOCAL INFILE", r, cs, r / cs, 100, "-", "-", s3[1] - s2[1],
            s3[2] - s2[2], (s3[3] - s2[3]) / 1048576
    }'
    echo
    echo "dmarcd import: $summary"
    echo "  one transaction per report: aggregate_reports INSERT + UPDATE, aggregate_records"
    printf '  in array-bound batches, daily_rollups upserts (%s rows, summing %s records)\n' \
        "$nrollups" "$rollup_records"
    echo "LOAD DATA: aggregate_records rows only, one statement, into an empty copy of the table"
    echo "tables: $sizes"
    echo "load average (1/5/15 min): before import $load_before, after $load_import;" \
        "before LOAD DATA $load_before_ceiling, after $load_ceiling"
    echo "target: dmarcd import >= 50% of the LOAD DATA ceiling"
} | tee -a "$work/results.txt"
rm -f "$tsv"
ok=1
