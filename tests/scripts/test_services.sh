#!/usr/bin/env bash
# test_services.sh — end-to-end test of scripts/services.sh with real servers.
#
# Starts private MariaDB/Redis instances in throwaway run directories and
# checks: start/status/env, TCP logins and privileges, idempotent start,
# recovery after kill -9 (stale pid files), port conflicts (a second instance
# and an unrelated listener), --fresh, stop, and status after stop. Everything
# it starts is stopped and its temp directory removed on exit, pass or fail.
# Needs scripts/deps.sh (base set); uses python3 for the listener if present.
# Exit status 0 iff every check passed; prints "N passed, N failed" last.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICES=$HERE/../../scripts/services.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmarcd-svc-test.XXXXXX")
A=$TMP/a # main instance
B=$TMP/b # second instance, same preferred ports
C=$TMP/c # instance whose preferred DB port is held by a foreign listener
listener_pid=""
listener_port=""
passed=0
failed=0

cleanup() {
  local d
  set +e
  stop_listener
  for d in "$A" "$B" "$C"; do
    [[ -d $d ]] && "$SERVICES" stop --run-dir "$d" >/dev/null 2>&1
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
  passed=$((passed + 1))
  echo "ok   - $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL - $1"
}
# check DESCRIPTION CMD...: run CMD, pass if it exits 0. CMD's output lands in
# $TMP/out only after CMD ends, so a check may grep the previous check's output.
check() {
  local desc=$1
  shift
  if "$@" >"$TMP/out.new" 2>&1; then
    mv -f "$TMP/out.new" "$TMP/out"
    ok "$desc"
  else
    mv -f "$TMP/out.new" "$TMP/out"
    fail "$desc"
    sed 's/^/       | /' "$TMP/out" | tail -n 15
  fi
}
# check_not DESCRIPTION CMD...: pass if CMD exits non-zero.
check_not() {
  local desc=$1
  shift
  if "$@" >"$TMP/out.new" 2>&1; then
    mv -f "$TMP/out.new" "$TMP/out"
    fail "$desc (unexpectedly succeeded)"
    sed 's/^/       | /' "$TMP/out" | tail -n 15
  else
    mv -f "$TMP/out.new" "$TMP/out"
    ok "$desc"
  fi
}
expect_eq() { # expect_eq DESCRIPTION ACTUAL EXPECTED
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}
expect_ne() { # expect_ne DESCRIPTION ACTUAL OTHER
  if [[ -n $2 && $2 != "$3" ]]; then ok "$1"; else fail "$1: got '$2', must differ from '$3'"; fi
}

svc() { "$SERVICES" "$@"; }
# Read a variable from a run dir's env file without polluting our environment.
envvar() { (
  # shellcheck disable=SC1091
  source "$1/env"
  printf '%s' "${!2}"
); }
db_port() { sed -n 's/^db=//p' "$1/ports"; }
redis_port() { sed -n 's/^redis=//p' "$1/ports"; }
db_pass() { cat "$1/secrets/db_password"; }
pidof_file() { tr -dc 0-9 <"$1" 2>/dev/null || true; }
file_mode() { stat -c %a "$1"; }

# sql DIR USER PASS SQL [DB]: a TCP login to DIR's server.
sql() {
  mariadb --no-defaults --connect-timeout=5 -h127.0.0.1 -P "$(db_port "$1")" \
    -u"$2" -p"$3" --batch --skip-column-names -e "$4" ${5:+"$5"}
}
app_select1() { [[ $(sql "$1" dmarcd "$(db_pass "$1")" 'select 1' dmarc) == 1 ]]; }
redis_pong() { [[ $(redis-cli -h 127.0.0.1 -p "$(redis_port "$1")" ping) == PONG ]]; }
# URL from the env file works (password and port taken from DMARCD_DATABASE_URL).
url_login() {
  local url rest user pass port db
  url=$(envvar "$1" DMARCD_DATABASE_URL)
  rest=${url#mariadb://}
  user=${rest%%:*}
  rest=${rest#*:}
  pass=${rest%%@*}
  rest=${rest#*@127.0.0.1:}
  port=${rest%%/*}
  db=${rest#*/}
  [[ $(mariadb --no-defaults -h127.0.0.1 -P "$port" -u"$user" -p"$pass" "$db" \
    --batch --skip-column-names -e 'select 1') == 1 ]]
}
gone() { # gone PID...: all exited within 10 s (zombies count as gone)
  local p i left
  for ((i = 0; i < 100; i++)); do
    left=0
    for p in "$@"; do
      readlink "/proc/$p/cwd" >/dev/null 2>&1 && left=1
    done
    ((left)) || return 0
    sleep 0.1
  done
  return 1
}
# listen PORT: start a foreign TCP listener on 127.0.0.1:PORT (0 = any free
# port) in the background; sets listener_pid and listener_port.
listen() {
  local i
  rm -f "$TMP/listener.port"
  python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # port may be in TIME_WAIT
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(600)
' "$1" >"$TMP/listener.port" 2>/dev/null &
  listener_pid=$!
  for ((i = 0; i < 50; i++)); do
    if [[ -s $TMP/listener.port ]]; then
      listener_port=$(head -n 1 "$TMP/listener.port")
      return 0
    fi
    kill -0 "$listener_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
stop_listener() {
  [[ -n $listener_pid ]] || return 0
  kill "$listener_pid" 2>/dev/null || true
  wait "$listener_pid" 2>/dev/null || true
  listener_pid=""
}

echo "# services.sh test in $TMP (as $(id -un))"

# --- 1. first start ---------------------------------------------------------------
check "start (first run: install + start)" svc start --run-dir "$A"
check "status exits 0 when both run" svc status --run-dir "$A"
if grep -q '^mariadb: running on 127.0.0.1:' "$TMP/out" && grep -q '^redis: running on 127.0.0.1:' "$TMP/out"; then
  ok "status names both services as running"
else
  fail "status output: $(tr '\n' ';' <"$TMP/out")"
fi
check "env prints the env file" svc env --run-dir "$A"
for v in DMARCD_DATABASE_URL DMARCD_REDIS_URL DMARCD_TEST_DB_SOCKET DMARCD_RUN_DIR; do
  check "env file exports $v" grep -q "^export $v=" "$A/env"
done
expect_eq "env file mode 600" "$(file_mode "$A/env")" 600
expect_eq "password file mode 600" "$(file_mode "$A/secrets/db_password")" 600
expect_eq "DMARCD_REDIS_URL matches ports file" "$(envvar "$A" DMARCD_REDIS_URL)" \
  "redis://127.0.0.1:$(redis_port "$A")/0"
expect_eq "DMARCD_TEST_DB_SOCKET is a socket in the run dir" \
  "$(envvar "$A" DMARCD_TEST_DB_SOCKET)" "$(cd "$A" && pwd -P)/mariadb/mariadb.sock"
check "socket from env file exists" test -S "$(envvar "$A" DMARCD_TEST_DB_SOCKET)"

# --- 2. logins and privileges -----------------------------------------------------------
check "dmarcd logs in over TCP: select 1" app_select1 "$A"
check "DMARCD_DATABASE_URL credentials work" url_login "$A"
check "dmarcd can create/drop dmarc_test_* databases" \
  sql "$A" dmarcd "$(db_pass "$A")" 'create database dmarc_test_x; create table dmarc_test_x.t (i int); drop database dmarc_test_x'
check_not "dmarcd cannot create other databases" sql "$A" dmarcd "$(db_pass "$A")" 'create database other_db'
check_not "dmarcd cannot read mysql.*" sql "$A" dmarcd "$(db_pass "$A")" 'select count(*) from mysql.global_priv'
check_not "root is refused over TCP" sql "$A" root "" 'select 1'
check "root works through the socket" mariadb --no-defaults --socket="$A/mariadb/mariadb.sock" -uroot -e 'select 1'
check "redis-cli ping = PONG" redis_pong "$A"
check "seed a row for the restart check" \
  sql "$A" dmarcd "$(db_pass "$A")" 'create table dmarc.survive (i int); insert into dmarc.survive values (42)'

# --- 3. idempotent start ---------------------------------------------------------------
ports_before=$(cat "$A/ports")
db_pid_before=$(pidof_file "$A/mariadb/mariadbd.pid")
redis_pid_before=$(pidof_file "$A/redis/redis.pid")
pass_before=$(db_pass "$A")
check "second start succeeds" svc start --run-dir "$A"
check "second start reports already running" grep -q 'already running' "$TMP/out"
expect_eq "second start keeps the ports" "$(cat "$A/ports")" "$ports_before"
expect_eq "second start keeps the mariadb pid" "$(pidof_file "$A/mariadb/mariadbd.pid")" "$db_pid_before"
expect_eq "second start keeps the redis pid" "$(pidof_file "$A/redis/redis.pid")" "$redis_pid_before"
expect_eq "second start keeps the password" "$(db_pass "$A")" "$pass_before"

# --- 4. kill -9, stale pid files --------------------------------------------------------
kill -9 "$db_pid_before" "$redis_pid_before"
check "servers die on kill -9" gone "$db_pid_before" "$redis_pid_before"
check "stale mariadb pid file left behind" test -f "$A/mariadb/mariadbd.pid"
check_not "status exits non-zero after kill -9" svc status --run-dir "$A"
check "start after kill -9 succeeds" svc start --run-dir "$A"
check "start after kill -9 mentions the stale pid file" grep -q 'stale pid file' "$TMP/out"
expect_eq "restart reuses the recorded (free) ports" "$(cat "$A/ports")" "$ports_before"
expect_ne "mariadb got a new pid" "$(pidof_file "$A/mariadb/mariadbd.pid")" "$db_pid_before"
check "status exits 0 after recovery" svc status --run-dir "$A"
check "dmarcd login works after recovery" app_select1 "$A"
expect_eq "committed data survived kill -9" \
  "$(sql "$A" dmarcd "$(db_pass "$A")" 'select i from dmarc.survive' 2>&1)" 42
check "redis answers after recovery" redis_pong "$A"

# --- 5. port conflicts -------------------------------------------------------------------
check "second instance (same preferred ports) starts" svc start --run-dir "$B"
expect_ne "second instance picks another mariadb port" "$(db_port "$B")" "$(db_port "$A")"
expect_ne "second instance picks another redis port" "$(redis_port "$B")" "$(redis_port "$A")"
check "second instance: dmarcd login works" app_select1 "$B"
check "second instance: redis answers" redis_pong "$B"
check "first instance still answers" app_select1 "$A"

if command -v python3 >/dev/null 2>&1; then
  # A foreign listener, made C's preferred DB port. Not an ephemeral port
  # (listen 0): the ports just above it are the kernel's for outgoing
  # connections, so the one services.sh picks next could be taken between
  # its check and MariaDB's bind by any other process on the machine.
  foreign=0
  for _ in 1 2 3 4 5; do
    if listen $((20000 + RANDOM % 10000)); then foreign=1; break; fi
  done
  if ((foreign)); then
    busy=$listener_port
    check "instance with a foreign listener on its preferred port starts" \
      env DMARCD_DB_PORT="$busy" DMARCD_REDIS_PORT=$((busy + 1)) "$SERVICES" start --run-dir "$C"
    expect_ne "it skips the busy port" "$(db_port "$C")" "$busy"
    check "its mariadb answers" app_select1 "$C"
    check "stop it" svc stop --run-dir "$C"
    stop_listener
    # Restart must not blindly reuse a recorded port that someone else now holds.
    recorded=$(db_port "$C")
    if listen "$recorded"; then
      check "restart with its recorded port taken starts" svc start --run-dir "$C"
      expect_ne "restart moves off the taken recorded port" "$(db_port "$C")" "$recorded"
      check "its mariadb answers on the new port" app_select1 "$C"
      check "stop it again" svc stop --run-dir "$C"
      stop_listener
    else
      fail "python3 listener on port $recorded did not start"
    fi
  else
    fail "python3 listener did not start"
  fi
else
  echo "skip - python3 not found: foreign-listener checks"
fi

# --- 6. --fresh ----------------------------------------------------------------------------
pass_b=$(db_pass "$B")
check "start --fresh wipes and restarts" svc start --fresh --run-dir "$B"
expect_ne "--fresh generated a new password" "$(db_pass "$B")" "$pass_b"
check "--fresh instance: dmarcd login works" app_select1 "$B"
check_not "--fresh wiped the data" sql "$B" dmarcd "$(db_pass "$B")" 'select 1 from dmarc.survive'

# --- 7. stop --------------------------------------------------------------------------------
db_pid=$(pidof_file "$A/mariadb/mariadbd.pid")
redis_pid=$(pidof_file "$A/redis/redis.pid")
check "stop succeeds" svc stop --run-dir "$A"
check "servers are gone after stop" gone "$db_pid" "$redis_pid"
check_not "mariadb pid file removed" test -e "$A/mariadb/mariadbd.pid"
check_not "redis pid file removed" test -e "$A/redis/redis.pid"
check_not "status exits non-zero after stop" svc status --run-dir "$A"
if [[ $(grep -c ': stopped$' "$TMP/out") -eq 2 ]]; then
  ok "status reports both stopped"
else
  fail "status output: $(tr '\n' ';' <"$TMP/out")"
fi
if out=$(svc stop --run-dir "$A" 2>&1) && [[ -z $out ]]; then
  ok "stop with nothing running is quiet and succeeds"
else
  fail "stop with nothing running: '$out'"
fi
check "stop second instance" svc stop --run-dir "$B"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
