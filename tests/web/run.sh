#!/usr/bin/env bash
# run.sh static WORK_DIR SOURCE_ROOT
# run.sh e2e WORK_DIR SOURCE_ROOT DMARCD REPORTGEN [SANITIZED]
# run.sh serve WORK_DIR SOURCE_ROOT DMARCD REPORTGEN
#
# The dashboard's tests (ctest web.static and web.e2e; see CMakeLists.txt).
#
# static: node checks web/ (static.mjs): no HTML from strings, no inline
#   script or style, imports resolve, vendor/ matches package-lock.json
#   (only when npm can reach its registry or cache), size budget, verdict
#   rule unit tests.
# e2e: installs playwright-core from package-lock.json into WORK_DIR
#   (again only when the lock file changes), then:
#   1. a database: a throwaway `dmarc_web_<random>` on the server of
#      DMARCD_DATABASE_URL when set (scripts/test.sh exports it), else a
#      private MariaDB and Redis under WORK_DIR/services (scripts/services.sh);
#   2. `dmarcd migrate`, tenant `webtest` (tier advanced) with the four
#      domains of `dmarcd-reportgen demo`, an owner, an analyst and a viewer;
#      a second tenant with a report the first must never see; someone in
#      both tenants;
#   3. imports: 30 days of `dmarcd-reportgen demo` ending yesterday, the
#      shared corpus ($SRC/../shared/corpus) with --tenant, and a report
#      whose org_name is HTML, through the inbox and a worker (so its raw
#      file is kept, for the download link); an OpenPGP test key (gpg), and
#      a failure report the second tenant keeps encrypted to it;
#   4. `dmarcd api` on a free loopback port with api_web_root = $SRC/web;
#   5. e2e.mjs: Chromium headless through playwright-core; screenshots and
#      timings.json under WORK_DIR/output.
#   Everything it started is stopped and the database dropped on exit.
# serve: steps 1-4, then prints the address and waits (for a person to look;
#   Ctrl-C cleans up).
#
# Exit 77 (skipped) only when node/npm or Chromium are missing outside CI;
# in CI (CI=true) that fails. Chromium: $CHROMIUM, else chromium on PATH.
set -uo pipefail
mode=${1:?usage: run.sh static|e2e|serve WORK_DIR SOURCE_ROOT [DMARCD REPORTGEN [SANITIZED]]}
work=${2:?usage: run.sh MODE WORK_DIR SOURCE_ROOT ...}
root=${3:?usage: run.sh MODE WORK_DIR SOURCE_ROOT ...}
root=$(cd "$root" && pwd)
dmarcd=${4:-}
reportgen=${5:-}
sanitized=${6:-0}
here=$root/tests/web
start=$(date +%s)

say() { printf 'web-test: %s\n' "$*"; }
die() {
    printf 'web-test: FAIL: %s\n' "$*" >&2
    exit 1
}
unavailable() {
    if [[ ${CI:-} == true ]]; then
        die "$* (CI must run this test: scripts/deps.sh --test installs nodejs, npm and chromium)"
    fi
    say "SKIP: $*"
    exit 77
}

command -v node >/dev/null 2>&1 || unavailable "node not found (apt-get install nodejs)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "node $(node --version) is too old: 18 or later needed"
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [[ $mode == static ]]; then
    exec node --test-reporter=spec "$here/static.mjs" "$root"
fi
[[ $mode == e2e || $mode == serve ]] || die "unknown mode $mode"
[[ -x $dmarcd && -x $reportgen ]] || die "usage: run.sh $mode WORK_DIR SOURCE_ROOT DMARCD REPORTGEN"

# --- tools -------------------------------------------------------------------
chromium=${CHROMIUM:-}
if [[ -z $chromium ]]; then
    for c in chromium chromium-browser; do
        if command -v "$c" >/dev/null 2>&1; then
            chromium=$(command -v "$c")
            break
        fi
    done
fi
[[ -n $chromium && -x $chromium ]] || unavailable "Chromium not found (scripts/deps.sh --browser, or set CHROMIUM)"
command -v npm >/dev/null 2>&1 || unavailable "npm not found (apt-get install npm)"
command -v mariadb >/dev/null 2>&1 || die "the mariadb client is missing (scripts/deps.sh)"

node_dir=$work/node
stamp=$node_dir/installed.sha256
want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ ! -d $node_dir/node_modules || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    say "npm ci (node $(node --version), npm $(npm --version)) into $node_dir"
    mkdir -p "$node_dir"
    rm -f "$stamp"
    cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
    if ! (cd "$node_dir" && npm ci --no-audit --no-fund --ignore-scripts --cache "$node_dir/npm-cache") \
        >"$node_dir/npm-ci.log" 2>&1; then
        tail -n 30 "$node_dir/npm-ci.log" >&2
        die "npm ci failed (full log: $node_dir/npm-ci.log)"
    fi
    echo "$want" >"$stamp"
fi

# --- cleanup -----------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmarcd-web.XXXXXX")
api_pid=
worker_pid=
db=
services_dir=
cleanup() {
    [[ -n $worker_pid ]] && kill "$worker_pid" 2>/dev/null
    if [[ -n $api_pid ]] && kill -0 "$api_pid" 2>/dev/null; then
        kill -TERM "$api_pid" 2>/dev/null
        wait "$api_pid" 2>/dev/null
    fi
    [[ -n $db ]] && sql "" -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1
    if [[ -n $services_dir ]]; then
        "$root/scripts/services.sh" stop --run-dir "$services_dir" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- database and Redis ------------------------------------------------------
if [[ -z ${DMARCD_DATABASE_URL:-} ]]; then
    services_dir=$work/services
    say "no DMARCD_DATABASE_URL: starting a private MariaDB and Redis under $services_dir"
    "$root/scripts/services.sh" start --run-dir "$services_dir" >"$tmp/services.log" 2>&1 || {
        cat "$tmp/services.log" >&2
        die "scripts/services.sh start failed"
    }
    # shellcheck source=/dev/null
    source "$services_dir/env"
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
[[ $DMARCD_DATABASE_URL =~ $re ]] || die "cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
sql() { # sql DB ARGS...
    local d=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${d:+"$d"} "$@"
}
db="dmarc_web_$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')"
sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || die "cannot create database $db"
export DMARCD_DATABASE_URL="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port/$db"
export DMARCD_QUEUE_PREFIX="dmarcd-web-${db#dmarc_web_}:"
export DMARCD_LOG_LEVEL=warn
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/master.key"
chmod 600 "$tmp/master.key"
export DMARCD_MASTER_KEY_FILE=$tmp/master.key

run() { # run LOG COMMAND...: quiet unless it fails
    local log=$1
    shift
    "$@" </dev/null >"$tmp/$log" 2>&1 || {
        tail -n 30 "$tmp/$log" >&2
        die "failed: $*"
    }
}
run migrate.log "$dmarcd" migrate

# --- tenants, domains, people --------------------------------------------------
tenant=webtest
password='e2e-Dashboard-pass-2026'
domains=(example.com shop.example.net acme-widgets.example newsletter.example.org)
run tenant.log "$dmarcd" tenant add "$tenant" --tier advanced
for d in "${domains[@]}"; do run domain.log "$dmarcd" domain add "$tenant" "$d"; done
for r in owner analyst viewer; do
    printf '%s\n' "$password" | "$dmarcd" user add "$tenant" "$r@web.test" --role "$r" \
        >"$tmp/user.log" 2>&1 || { cat "$tmp/user.log" >&2; die "cannot add $r@web.test"; }
done
run tenant2.log "$dmarcd" tenant add webother --tier basic
run domain2.log "$dmarcd" domain add webother other-tenant.example
# An OpenPGP key (no passphrase, throwaway home): the settings page uploads
# it for webtest; webother keeps its failure reports encrypted to it.
if ! command -v gpg >/dev/null 2>&1; then die "gpg is missing (scripts/deps.sh --test installs gnupg)"; fi
mkdir -m 700 "$tmp/gnupg"
if ! GNUPGHOME=$tmp/gnupg gpg --batch --passphrase '' --quick-gen-key 'dmarcd web test <pgp@web.test>' \
    future-default default never >"$tmp/gpg.log" 2>&1 ||
    ! GNUPGHOME=$tmp/gnupg gpg --armor --export pgp@web.test >"$tmp/pgp-public.asc" 2>>"$tmp/gpg.log"; then
    cat "$tmp/gpg.log" >&2
    die "cannot make an OpenPGP test key"
fi
GNUPGHOME=$tmp/gnupg gpgconf --kill gpg-agent >/dev/null 2>&1
run policy.log "$dmarcd" tenant policy webother pgp --pgp-key "$tmp/pgp-public.asc"
# Someone in both tenants: viewer here, admin there (the tenant switcher).
if ! printf '%s\n' "$password" | "$dmarcd" user add webother multi@web.test --role admin >"$tmp/user.log" 2>&1 ||
    ! "$dmarcd" user add "$tenant" multi@web.test --role viewer </dev/null >>"$tmp/user.log" 2>&1; then
    cat "$tmp/user.log" >&2
    die "cannot add multi@web.test"
fi

# --- reports ------------------------------------------------------------------
yesterday=$(date -u -d yesterday +%F)
run reportgen.log "$reportgen" demo --out "$tmp/demo" --days 30 --end "$yesterday"
run import-demo.log "$dmarcd" import --tenant "$tenant" "$tmp/demo"
corpus=$root/../shared/corpus
if [[ -d $corpus ]]; then
    # Some corpus files are broken on purpose: exit 1 (some failed) is fine.
    "$dmarcd" import --tenant "$tenant" "$corpus" >"$tmp/import-corpus.log" 2>&1
    rc=$?
    ((rc <= 1)) || { tail -n 20 "$tmp/import-corpus.log" >&2; die "importing the corpus failed ($rc)"; }
else
    say "note: no shared corpus at $corpus"
fi

# A report whose reporter name is HTML, stored through the inbox by a worker
# so that its raw file is kept. And one for the other tenant, same reporter.
xss_org='<script>window.__dmarcdXss=1</script><img src=x onerror="window.__dmarcdXss=2">'
xss_org_xml='&lt;script&gt;window.__dmarcdXss=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__dmarcdXss=2&quot;&gt;'
begin=$(date -u -d "$yesterday 00:00:00" +%s)
end=$((begin + 86399))
xss_report() { # xss_report DOMAIN REPORT_ID FILE
    cat >"$3" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>$xss_org_xml</org_name>
    <email>noreply@reporter.example</email>
    <report_id>$2</report_id>
    <date_range><begin>$begin</begin><end>$end</end></date_range>
  </report_metadata>
  <policy_published><domain>$1</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct></policy_published>
  <record>
    <row><source_ip>192.0.2.250</source_ip><count>7</count>
      <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>$1</header_from></identifiers>
    <auth_results><spf><domain>$1</domain><result>fail</result></spf></auth_results>
  </record>
</feedback>
EOF
}
mkdir -p "$tmp/xss" "$tmp/xss-other"
xss_report example.com web-e2e-xss-1 "$tmp/xss/xss.xml"
xss_report other-tenant.example web-e2e-other-1 "$tmp/xss-other/other.xml"
run import-xss.log "$dmarcd" import --queue --tenant "$tenant" "$tmp/xss/xss.xml"
run import-other.log "$dmarcd" import --tenant webother "$tmp/xss-other/other.xml"
arf=$corpus/draft-ietf-dmarc-failure-reporting/appendix-A-example-failure-report.eml
[[ -f $arf ]] || die "no failure report to store under the pgp policy: $arf"
run import-pgp.log "$dmarcd" import --tenant webother "$arf"
run worker.log timeout 120 "$dmarcd" worker --threads 1 --until-idle
stored=$(sql "$db" -e "SELECT COUNT(*) FROM aggregate_reports WHERE report_id = 'web-e2e-xss-1'")
[[ $stored == 1 ]] || { cat "$tmp/worker.log" >&2; die "the worker did not store the HTML-named report"; }
say "data: $(sql "$db" -e "SELECT CONCAT(COUNT(*), ' aggregate reports, ', COALESCE(SUM(message_count), 0), ' messages') FROM aggregate_reports") for $tenant and webother"

# --- the API ----------------------------------------------------------------
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export DMARCD_API_LISTEN=127.0.0.1:$port
export DMARCD_API_WEB_ROOT=$root/web
"$dmarcd" api >"$work/api.log" 2>&1 &
api_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; die "dmarcd api exited"; }
    sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null 2>&1 || { tail -n 20 "$work/api.log" >&2; die "dmarcd api not ready at $base"; }
say "dmarcd api at $base (web root $root/web, database $db) after $(($(date +%s) - start))s"

if [[ $mode == serve ]]; then
    say "open $base/ and sign in as owner@web.test, analyst@web.test or viewer@web.test, password $password; Ctrl-C stops"
    wait "$api_pid"
    exit 0
fi

# --- the browser tests ----------------------------------------------------------
out=$work/output
rm -rf "$out"
mkdir -p "$out"
failure_id=$(sql "$db" -e "SELECT f.id FROM failure_reports f JOIN tenants t ON t.id = f.tenant_id WHERE t.name = '$tenant' ORDER BY f.id LIMIT 1")
other_report=$(sql "$db" -e "SELECT id FROM aggregate_reports WHERE report_id = 'web-e2e-other-1'")
pgp_failure=$(sql "$db" -e "SELECT f.id FROM failure_reports f JOIN tenants t ON t.id = f.tenant_id WHERE t.name = 'webother' ORDER BY f.id LIMIT 1")
status=0
WEB_BASE=$base WEB_CHROMIUM=$chromium WEB_NODE_DIR=$node_dir WEB_OUT=$out WEB_ROOT=$root/web \
    WEB_PASSWORD=$password WEB_TENANT=$tenant WEB_DOMAINS="${domains[*]}" WEB_XSS_ORG=$xss_org \
    WEB_FAILURE_ID=$failure_id WEB_OTHER_REPORT=$other_report WEB_SANITIZED=$sanitized \
    WEB_PGP_KEY=$tmp/pgp-public.asc WEB_PGP_FAILURE_ID=$pgp_failure \
    node --test-reporter=spec "$here/e2e.mjs" || status=$?

kill -TERM "$api_pid" 2>/dev/null
api_status=0
wait "$api_pid" || api_status=$?
api_pid=
if ((api_status != 0)); then
    tail -n 30 "$work/api.log" >&2
    die "dmarcd api did not shut down cleanly (exit $api_status)"
fi
((status == 0)) || die "browser tests failed (screenshots: $out; API log: $work/api.log)"
say "all browser tests passed in $(($(date +%s) - start))s; screenshots and timings in $out"
