#!/usr/bin/env bash
# Integration test of `dmarcd migrate`, `dmarcd tenant` and `dmarcd domain`
# against the MariaDB that DMARCD_DATABASE_URL points at (scripts/test.sh
# starts one). Without DMARCD_DATABASE_URL it exits 77 (ctest: skipped).
#
# Each scenario gets a fresh database dmarc_test_<random>_<name> created with
# the URL's credentials (user dmarcd may create dmarc%); all are dropped on
# exit. Covers: fresh migrate (every table, every file recorded with its
# sha256, monthly partitions), a second run as a no-op, two concurrent
# runs, a tampered checksum, a database newer than the binary, upgrading
# from every earlier version (--to) to the same schema as a fresh install,
# the tenant/domain commands, an unreachable database (exit 3) and an
# unset URL (exit 2). Usage: test_migrate.sh PATH/TO/dmarcd
set -uo pipefail
dmarcd=${1:?usage: test_migrate.sh DMARCD}
if [[ -z ${DMARCD_DATABASE_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL unset: skipped (scripts/test.sh starts a database)"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_migrate: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"

tmp=$(mktemp -d)
prefix="dmarc_test_$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')"
created=()
cleanup() {
    local d
    for d in "${created[@]}"; do
        sql "" -e "DROP DATABASE IF EXISTS \`$d\`" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0

# sql DB ARGS...: the mariadb client as the URL's user (password via env, not argv).
sql() {
    local db=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${db:+"$db"} "$@"
}
new_db() { # new_db NAME: creates it, sets $db (not in a subshell: `created` must keep it)
    db="${prefix}_$1"
    created+=("$db")
    sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db" >&2; exit 1; }
}
url_of() { echo "$url_base/$1"; }

ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
# check NAME EXPECTED_STATUS COMMAND...: output in $tmp/out
check() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local got=$?
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out"
    fi
}
expect() { # expect NAME REGEX [FILE]
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then ok; else
        bad "$1: output lacks /$2/"
        sed 's/^/    /' "${3:-$tmp/out}"
    fi
}
same() { # same NAME GOT WANT
    if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}
on() { # on DB COMMAND...: dmarcd with DMARCD_DATABASE_URL pointing at DB
    local d=$1
    shift
    DMARCD_DATABASE_URL=$(url_of "$d") DMARCD_LOG_LEVEL=warn "$dmarcd" "$@"
}
schema_of() { # columns and indexes of every table, to compare two databases
    sql "" -e "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '-'),
                      COLLATION_NAME, ORDINAL_POSITION
               FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$1' ORDER BY 1, 7;
               SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME
               FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$1' ORDER BY 1, 2, 4;
               SELECT TABLE_NAME, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1' ORDER BY 1"
}

# ---- what the binary carries ----
check "migrate --list" 0 "$dmarcd" migrate --list
cp "$tmp/out" "$tmp/list"
latest=$(awk 'END {print $1}' "$tmp/list")
[[ $latest =~ ^[0-9]+$ && $latest -ge 1 ]] && ok || bad "migrate --list gave no versions"

# ---- configuration and reachability ----
check "unset url" 2 env -u DMARCD_DATABASE_URL -u DMARCD_CONFIG "$dmarcd" migrate
expect "unset url names the variable" "database_url .*required by dmarcd migrate.*DMARCD_DATABASE_URL"
check "unset url (tenant)" 2 env -u DMARCD_DATABASE_URL -u DMARCD_CONFIG "$dmarcd" tenant list
start=$(date +%s)
check "unreachable" 3 env DMARCD_DATABASE_URL="mariadb://$db_user:$db_pass@127.0.0.1:1/dmarc_x" \
    "$dmarcd" migrate
elapsed=$(($(date +%s) - start))
((elapsed <= 10)) && ok || bad "unreachable took ${elapsed}s (want a few seconds)"
expect "unreachable says so" "database unreachable at mariadb://$db_user:\*\*\*@127.0.0.1:1/dmarc_x"
if grep -qF -- "$db_pass" "$tmp/out"; then bad "password printed"; else ok; fi
check "unreachable (domain)" 3 env DMARCD_DATABASE_URL="mariadb://$db_user:$db_pass@127.0.0.1:1/dmarc_x" \
    "$dmarcd" domain list
check "--to past the latest" 2 on "${prefix}_none" migrate --to $((latest + 1))
check "--to junk" 2 on "${prefix}_none" migrate --to x

# ---- a fresh database ----
new_db fresh
A=$db
check "fresh migrate" 0 on "$A" migrate
expect "fresh migrate reports versions" "schema migrated from version 0 to $latest"
expect "fresh migrate adds partitions" "added [0-9]+ monthly partition"
tables=$(sql "$A" -e "SHOW TABLES" | tr '\n' ' ')
for t in schema_migrations tenants tenant_domains users user_tenants api_tokens inbox quarantine \
    audit_log aggregate_reports aggregate_records daily_rollups failure_reports tls_reports \
    tls_policies tls_failures; do
    [[ " $tables " == *" $t "* ]] && ok || bad "table $t missing after migrate (have: $tables)"
done
recorded=$(sql "$A" -e "SELECT version, name, sha256 FROM schema_migrations ORDER BY version")
same "schema_migrations holds every file with its sha256" "$recorded" "$(tr ' ' '\t' <"$tmp/list")"
nopk=$(sql "" -e "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = '$A'
    AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA
    AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY')")
same "every table has a primary key (Galera)" "$nopk" ""
notinno=$(sql "" -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$A'
    AND (ENGINE <> 'InnoDB' OR TABLE_COLLATION NOT LIKE 'utf8mb4%')")
same "every table InnoDB utf8mb4" "$notinno" ""
for t in aggregate_reports aggregate_records daily_rollups failure_reports; do
    n=$(sql "" -e "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = '$A'
        AND TABLE_NAME = '$t' AND PARTITION_NAME RLIKE '^p[0-9]{6}\$'")
    ((n >= 28)) && ok || bad "$t has $n monthly partitions, expected >= 28"
    last=$(sql "" -e "SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = '$A'
        AND TABLE_NAME = '$t' ORDER BY PARTITION_ORDINAL_POSITION DESC LIMIT 1")
    same "$t ends with the MAXVALUE catch-all" "$last" "p_max"
done
this_month=p$(date -u +%Y%m)
n=$(sql "" -e "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = '$A'
    AND PARTITION_NAME = '$this_month'")
same "this month's partition exists on the 4 big tables" "$n" 4
applied_before=$(sql "$A" -e "SELECT GROUP_CONCAT(applied_at) FROM schema_migrations")
check "second migrate" 0 on "$A" migrate
expect "second migrate is a no-op" "^schema up to date at version $latest\$"
if grep -q "applying\|partition" "$tmp/out"; then bad "second migrate did something"; else ok; fi
same "second migrate left schema_migrations alone" \
    "$(sql "$A" -e "SELECT GROUP_CONCAT(applied_at) FROM schema_migrations")" "$applied_before"
schema_of "$A" >"$tmp/schema.fresh"
check "--to behind the database" 2 on "$A" migrate --to 1 --lock-timeout 5
[[ $latest -gt 1 ]] && expect "--to behind says forward only" "only go forward" || ok

# ---- two at once ----
new_db concurrent
B=$db
on "$B" migrate >"$tmp/c1" 2>&1 &
p1=$!
on "$B" migrate >"$tmp/c2" 2>&1 &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
same "concurrent migrate statuses" "$s1 $s2" "0 0"
cat "$tmp/c1" "$tmp/c2" >"$tmp/out"
n_applied=$(grep -c "schema migrated from version 0 to $latest" "$tmp/out")
n_uptodate=$(grep -c "^schema up to date at version $latest\$" "$tmp/out")
same "one run applied, the other found it up to date" "$n_applied $n_uptodate" "1 1"
same "concurrent runs recorded each file once" \
    "$(sql "$B" -e "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations")" "$latest	$latest"

# ---- a database newer than this binary ----
sql "$B" -e "INSERT INTO schema_migrations VALUES ($((latest + 1)), '999_future.sql', REPEAT('0', 64), UTC_TIMESTAMP(6), 0)"
check "newer database refused" 1 on "$B" migrate
expect "newer database explained" "schema version $((latest + 1)) \(999_future.sql\).*knows only up to $latest"

# ---- a changed migration ----
first=$(awk 'NR == 1 {print $2}' "$tmp/list")
sql "$A" -e "UPDATE schema_migrations SET sha256 = SHA2('tampered', 256) WHERE version = 1"
check "tampered checksum refused" 1 on "$A" migrate
expect "tampered file named" "migration $first was changed after it was applied"
sql "$A" -e "UPDATE schema_migrations SET sha256 = '$(awk 'NR == 1 {print $3}' "$tmp/list")' WHERE version = 1"
check "restored checksum accepted" 0 on "$A" migrate

# ---- upgrading from every earlier version ----
for ((v = 1; v < latest; v++)); do
    new_db "from$v"
U=$db
    check "migrate --to $v" 0 on "$U" migrate --to "$v"
    expect "--to $v stops there" "schema migrated from version 0 to $v"
    same "--to $v recorded $v files" "$(sql "$U" -e "SELECT MAX(version) FROM schema_migrations")" "$v"
    check "upgrade from $v" 0 on "$U" migrate
    expect "upgrade from $v reaches the latest" "schema migrated from version $v to $latest"
    schema_of "$U" >"$tmp/schema.from$v"
    if diff -u "$tmp/schema.fresh" "$tmp/schema.from$v" >"$tmp/diff"; then ok; else
        bad "schema after upgrading from $v differs from a fresh install"
        head -40 "$tmp/diff"
    fi
done

# ---- tenants and domains ----
T=$A
check "tenant add" 0 on "$T" tenant add acme --tier advanced
expect "tenant add says" "^tenant acme added \(id [0-9]+, tier advanced\)"
check "tenant add default tier" 0 on "$T" tenant add globex
expect "default tier basic" "tier basic"
check "tenant add duplicate" 1 on "$T" tenant add acme
expect "duplicate named" "tenant acme already exists"
check "tenant add invalid name" 2 on "$T" tenant add "Bad_Name"
expect "invalid name explained" "invalid tenant name"
check "tenant add name too long" 2 on "$T" tenant add "$(printf 'a%.0s' {1..64})"
check "tenant add invalid tier" 2 on "$T" tenant add initech --tier gold
check "tenant add no name" 2 on "$T" tenant add
check "tenant unknown subcommand" 2 on "$T" tenant frob
check "domain add" 0 on "$T" domain add acme Example.COM.
expect "domain normalised" "^domain example.com added to tenant acme"
check "domain add sub" 0 on "$T" domain add acme mail.example.com
check "domain add other tenant's" 1 on "$T" domain add globex example.com
expect "other tenant named" "belongs to another tenant \(acme\)"
check "domain add twice" 1 on "$T" domain add acme example.com
check "domain add unknown tenant" 1 on "$T" domain add nobody example.net
expect "unknown tenant named" "no tenant named nobody"
check "domain add invalid" 2 on "$T" domain add acme "bad domain"
check "domain add ip" 2 on "$T" domain add acme 192.0.2.1
check "domain add tld" 2 on "$T" domain add acme com
check "domain add globex" 0 on "$T" domain add globex globex.example
check "tenant list" 0 on "$T" tenant list
expect "tenant list header" "^NAME +TIER +STATUS +FORENSIC +DOMAINS +CREATED +CANCELLED$"
expect "tenant list acme" "^acme +advanced +active +encrypted +2 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +-$"
check "domain list" 0 on "$T" domain list
expect "domain list header" "^DOMAIN +TENANT +STATUS +ADDED$"
same "domain list rows" "$(awk 'NR > 1 {print $1 "/" $2}' "$tmp/out" | tr '\n' ' ')" \
    "example.com/acme mail.example.com/acme globex.example/globex "
check "domain list tenant" 0 on "$T" domain list globex
same "domain list globex rows" "$(awk 'NR > 1 {print $1}' "$tmp/out" | tr '\n' ' ')" "globex.example "
check "domain list unknown tenant" 1 on "$T" domain list nobody
check "tenant cancel" 0 on "$T" tenant cancel globex
expect "cancel says" "tenant globex cancelled"
check "tenant cancel again" 0 on "$T" tenant cancel globex
expect "cancel again says" "already cancelled"
check "tenant cancel unknown" 1 on "$T" tenant cancel nobody
check "domain add to cancelled" 1 on "$T" domain add globex new.example
check "tenant list after cancel" 0 on "$T" tenant list
expect "cancelled row" "^globex +basic +cancelled +encrypted +1 +[0-9-]{10} [0-9:]{8} +[0-9-]{10} [0-9:]{8}$"
same "audit rows" "$(sql "$T" -e "SELECT action, target FROM audit_log WHERE actor = 'cli' ORDER BY id" | tr '\t\n' ': ')" \
    "tenant.add:acme tenant.add:globex domain.add:example.com domain.add:mail.example.com domain.add:globex.example tenant.cancel:globex "
check "tenant help" 0 "$dmarcd" tenant --help
expect "tenant usage" "^usage: dmarcd .*tenant add NAME"
check "migrate help" 0 "$dmarcd" help migrate
expect "migrate usage" "--to VERSION"

left=$(for d in "${created[@]}"; do echo "$d"; done | sort | tr '\n' ' ')
same "this run's databases are known for dropping" "$left" \
    "$(sql "" -e "SHOW DATABASES LIKE '${prefix}\\_%'" | sort | tr '\n' ' ')"

echo "integration migrate/tenant: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
