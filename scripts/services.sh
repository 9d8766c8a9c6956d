#!/usr/bin/env bash
# services.sh start|stop|status|env [--run-dir DIR] [--fresh]
#
# Runs a private MariaDB and Redis on 127.0.0.1 for the tests and the demo,
# without systemd and without touching the system services or /etc: every
# file (data, sockets, pid files, logs, secrets) lives under the run directory,
# so several checkouts or test runs can have their own servers side by side.
#
#   start   start both servers (idempotent), create database `dmarc` and user
#           `dmarcd` (all privileges on databases `dmarc%`), write DIR/env
#   stop    shut both down and remove their pid files (quiet if not running)
#   status  one line per service; exit 0 only if both are running
#   env     print DIR/env (source it: `eval "$(scripts/services.sh env)"`)
#
#   --run-dir DIR  default: $DMARCD_RUN_DIR, else <repo>/run
#   --fresh        stop and wipe the servers' state first (data, ports, secrets)
#
# Preferred ports: $DMARCD_DB_PORT (3406) and $DMARCD_REDIS_PORT (6479); when
# taken by something else the next free port is used. Chosen ports are kept in
# DIR/ports and reused on restart while free. MariaDB root has an empty password
# and is reachable only through DIR/mariadb/mariadb.sock (directory mode 700).
set -euo pipefail

# mariadbd lives in /usr/sbin, which a normal user's PATH on Debian lacks.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DB_NAME=dmarc
DB_USER=dmarcd
DB_PREFERRED_PORT=${DMARCD_DB_PORT:-3406}
REDIS_PREFERRED_PORT=${DMARCD_REDIS_PORT:-6479}
PORT_SCAN=200          # how far above the preferred port to look for a free one
DB_START_TIMEOUT=60    # seconds
REDIS_START_TIMEOUT=30 # seconds
STOP_TIMEOUT=30        # seconds before SIGKILL

usage() {
  echo "usage: $0 start|stop|status|env [--run-dir DIR] [--fresh]" >&2
  exit 2
}
die() {
  echo "services: $*" >&2
  exit 1
}

cmd=""
run_dir=${DMARCD_RUN_DIR:-$REPO_DIR/run}
fresh=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    start | stop | status | env)
      [[ -z $cmd ]] || usage
      cmd=$1
      ;;
    --run-dir)
      [[ $# -ge 2 && -n $2 ]] || usage
      run_dir=$2
      shift
      ;;
    --run-dir=*) run_dir=${1#--run-dir=} ;;
    --fresh) fresh=1 ;;
    -h | --help) usage ;;
    *)
      echo "services: unknown argument: $1" >&2
      usage
      ;;
  esac
  shift
done
[[ -n $cmd ]] || usage

for port in "$DB_PREFERRED_PORT" "$REDIS_PREFERRED_PORT"; do
  if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
    die "invalid port: $port (DMARCD_DB_PORT / DMARCD_REDIS_PORT)"
  fi
done

if [[ $cmd == env ]]; then
  [[ -f $run_dir/env ]] || die "no $run_dir/env: run '$0 start' first"
  cat "$run_dir/env"
  exit 0
fi

if [[ ! -d $run_dir && $cmd != start ]]; then # nothing was ever started here
  if [[ $cmd == status ]]; then
    printf 'mariadb: stopped\nredis: stopped\n'
    exit 1
  fi
  exit 0
fi
mkdir -p "$run_dir"
RUN=$(cd "$run_dir" && pwd -P) # canonical: compared with /proc/PID/cwd
DB_DIR=$RUN/mariadb
DB_DATA=$DB_DIR/data
DB_SOCK=$DB_DIR/mariadb.sock
DB_PID=$DB_DIR/mariadbd.pid
DB_ERRLOG=$DB_DIR/error.log
DB_OUT=$DB_DIR/mariadbd.out
REDIS_DIR=$RUN/redis
REDIS_PID=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/redis.log
SECRETS_DIR=$RUN/secrets
PASS_FILE=$SECRETS_DIR/db_password
PORTS_FILE=$RUN/ports
ENV_FILE=$RUN/env
ME=$(id -un)

# A unix socket path must fit in sun_path (108 bytes including the NUL).
((${#DB_SOCK} < 108)) || die "run dir path too long for a unix socket: $DB_SOCK"

# One services.sh at a time per run dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$RUN/.lock"
  flock -w 120 9 || die "another services.sh holds $RUN/.lock"
fi

# --- process helpers ------------------------------------------------------------

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# is_ours PID COMM DIR: the process is a COMM server of this run dir. Both
# servers chdir into their own directory, so /proc/PID/cwd identifies them even
# after the pid has been reused, and is unreadable for other users' processes.
is_ours() {
  local pid=$1 comm=$2 dir=$3 c cwd
  alive "$pid" || return 1
  { read -r c <"/proc/$pid/comm"; } 2>/dev/null || return 1
  [[ $c == "$comm" ]] || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$dir" ]]
}

# find_pid PIDFILE COMM DIR: print the pid of our running server, if any. Falls
# back to scanning /proc in case the pid file is missing (killed mid-start).
find_pid() {
  local pidfile=$1 comm=$2 dir=$3 pid p
  if [[ -f $pidfile ]]; then
    pid=$(tr -dc 0-9 <"$pidfile" 2>/dev/null) || pid=""
    if is_ours "$pid" "$comm" "$dir"; then
      echo "$pid"
      return 0
    fi
  fi
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    if is_ours "$pid" "$comm" "$dir"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

db_pid() { find_pid "$DB_PID" mariadbd "$DB_DATA"; }
redis_pid() { find_pid "$REDIS_PID" redis-server "$REDIS_DIR"; }

db_admin() { mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot --connect-timeout=2 "$@"; }
db_sql() { mariadb --no-defaults --socket="$DB_SOCK" -uroot --batch --skip-column-names "$@"; }
db_ping() { db_admin ping >/dev/null 2>&1; }
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

# wait_gone PID SECONDS
wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  ! alive "$pid"
}

# terminate PID NAME: SIGTERM, then SIGKILL after STOP_TIMEOUT.
terminate() {
  local pid=$1 name=$2
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    echo "services: $name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name (pid $pid) would not die"
  fi
}

# --- ports ------------------------------------------------------------------------

port_busy() {
  local port=$1
  if command -v ss >/dev/null 2>&1 && [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
    return 0
  fi
  # Also catches listeners in other network views that ss might not list.
  timeout 1 bash -c ": </dev/tcp/127.0.0.1/$port" 2>/dev/null
}

recorded_port() { # recorded_port KEY
  [[ -f $PORTS_FILE ]] || return 1
  sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$PORTS_FILE" | head -n 1 | grep .
}

# pick_port KEY PREFERRED AVOID: the recorded port if free, else the first free
# port from PREFERRED upwards (never AVOID, the other service's port).
pick_port() {
  local key=$1 preferred=$2 avoid=$3 port
  if port=$(recorded_port "$key") && [[ $port != "$avoid" ]] && ! port_busy "$port"; then
    echo "$port"
    return 0
  fi
  for ((port = preferred; port < preferred + PORT_SCAN && port < 65536; port++)); do
    [[ $port == "$avoid" ]] && continue
    if ! port_busy "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port in $preferred..$((preferred + PORT_SCAN - 1)) for $key"
}

write_ports() {
  local tmp=$PORTS_FILE.tmp
  printf 'db=%s\nredis=%s\n' "$1" "$2" >"$tmp"
  mv -f "$tmp" "$PORTS_FILE"
}

# --- MariaDB ----------------------------------------------------------------------

db_install() {
  [[ -d $DB_DATA/mysql ]] && return 0
  rm -rf "$DB_DATA"
  mkdir -p "$DB_DATA"
  # --skip-name-resolve --force: a fresh machine (or container) may have no /etc/hosts
  # entry for its host name, and mariadb-install-db then refuses to run.
  if ! mariadb-install-db --no-defaults --datadir="$DB_DATA" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force \
    --user="$ME" >"$DB_DIR/install.log" 2>&1; then
    rm -rf "$DB_DATA"
    die "mariadb-install-db failed; see $DB_DIR/install.log"
  fi
}

db_fail() {
  echo "services: mariadb: $1; last lines of $DB_ERRLOG:" >&2
  tail -n 20 "$DB_ERRLOG" >&2 2>/dev/null || true
  if [[ -s $DB_OUT ]]; then
    echo "services: last lines of $DB_OUT:" >&2
    tail -n 5 "$DB_OUT" >&2
  fi
  echo "services: to discard this instance's data and start over: $0 start --fresh --run-dir $RUN" >&2
  exit 1
}

# db_start PORT: start mariadbd in the background, wait until it answers.
db_start() {
  local port=$1 pid spid i user_opt=()
  rm -f "$DB_PID" "$DB_SOCK" "$DB_SOCK.lock"
  mkdir -p "$DB_DIR/tmp"
  # --user is only meaningful (and only accepted quietly) as root.
  [[ $(id -u) -eq 0 ]] && user_opt=(--user="$ME")
  setsid nohup mariadbd --no-defaults \
    --datadir="$DB_DATA" --socket="$DB_SOCK" --pid-file="$DB_PID" \
    --port="$port" --bind-address=127.0.0.1 "${user_opt[@]}" \
    --log-error="$DB_ERRLOG" --tmpdir="$DB_DIR/tmp" \
    --skip-name-resolve --skip-log-bin --performance-schema=OFF \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=64M \
    --innodb-flush-log-at-trx-commit=2 --max-allowed-packet=64M \
    --local-infile=1 --character-set-server=utf8mb4 \
    --max-connections=200 \
    </dev/null >>"$DB_OUT" 2>&1 9>&- &
  pid=$!
  for ((i = 0; i < DB_START_TIMEOUT * 10; i++)); do
    if db_ping; then
      echo "mariadb: started on 127.0.0.1:$port (pid $(db_pid || echo "$pid"))"
      return 0
    fi
    if ! alive "$pid" && ! db_pid >/dev/null; then
      db_fail "mariadbd exited during startup"
    fi
    sleep 0.1
  done
  spid=$(db_pid) || spid=$pid # prefer the pid the server wrote itself
  if alive "$spid"; then terminate "$spid" mariadb; fi
  db_fail "not answering on $DB_SOCK after ${DB_START_TIMEOUT}s"
}

db_wait_ready() {
  local i
  for ((i = 0; i < DB_START_TIMEOUT * 10; i++)); do
    db_ping && return 0
    sleep 0.1
  done
  db_fail "running but not answering on $DB_SOCK after ${DB_START_TIMEOUT}s"
}

db_password() {
  if [[ ! -s $PASS_FILE ]]; then
    (
      umask 077
      mkdir -p "$SECRETS_DIR"
      od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$PASS_FILE.tmp"
      mv -f "$PASS_FILE.tmp" "$PASS_FILE"
    )
  fi
  chmod 700 "$SECRETS_DIR"
  chmod 600 "$PASS_FILE"
  tr -d '\n' <"$PASS_FILE"
}

# Idempotent: database, application user, and no root or anonymous account
# other than root@localhost (= the unix socket).
db_setup() {
  local pass=$1 extra
  extra=$(db_sql -e "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.global_priv
    WHERE (User = 'root' AND Host <> 'localhost') OR User = ''") ||
    die "mariadb: cannot query accounts through $DB_SOCK"
  {
    while IFS= read -r account; do
      [[ -n $account ]] && echo "DROP USER IF EXISTS $account;"
    done <<<"$extra"
    cat <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$pass';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$pass';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`${DB_NAME}%\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`${DB_NAME}%\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  } | db_sql || die "mariadb: creating database/user failed (server log: $DB_ERRLOG)"
}

db_stop() {
  local pid
  pid=$(db_pid) || {
    rm -f "$DB_PID" "$DB_SOCK" "$DB_SOCK.lock"
    return 0
  }
  if db_ping; then
    timeout "$STOP_TIMEOUT" mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot \
      --connect-timeout=2 shutdown >/dev/null 2>&1 || true
  fi
  wait_gone "$pid" "$STOP_TIMEOUT" || terminate "$pid" mariadb
  rm -f "$DB_PID" "$DB_SOCK" "$DB_SOCK.lock"
  echo "mariadb: stopped (pid $pid)"
}

# --- Redis ------------------------------------------------------------------------

redis_start() {
  local port=$1 pid i
  rm -f "$REDIS_PID"
  setsid nohup redis-server --port "$port" --bind 127.0.0.1 \
    --save '' --appendonly no --daemonize no \
    --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
    </dev/null >>"$REDIS_DIR/redis.out" 2>&1 9>&- &
  pid=$!
  for ((i = 0; i < REDIS_START_TIMEOUT * 10; i++)); do
    if redis_ping "$port"; then
      echo "redis: started on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    terminate "$pid" redis
    echo "services: redis: not answering on 127.0.0.1:$port after ${REDIS_START_TIMEOUT}s; last lines of $REDIS_LOG:" >&2
  else
    echo "services: redis: exited during startup; last lines of $REDIS_LOG:" >&2
  fi
  tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
  tail -n 5 "$REDIS_DIR/redis.out" >&2 2>/dev/null || true
  exit 1
}

redis_stop() {
  local pid
  pid=$(redis_pid) || {
    rm -f "$REDIS_PID"
    return 0
  }
  terminate "$pid" redis
  rm -f "$REDIS_PID"
  echo "redis: stopped (pid $pid)"
}

# --- commands ---------------------------------------------------------------------

do_stop() {
  db_stop
  redis_stop
}

wipe() {
  rm -rf "$DB_DIR" "$REDIS_DIR" "$SECRETS_DIR" "$PORTS_FILE" "$ENV_FILE"
}

do_start() {
  local dbp rp db_port redis_port pass tool
  for tool in mariadb-install-db mariadbd mariadb mariadb-admin redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/deps.sh"
  done
  mkdir -p "$DB_DIR" "$REDIS_DIR"
  chmod 700 "$DB_DIR" "$REDIS_DIR" # the root socket lives in DB_DIR

  # Ports: keep those of servers already running, else recorded-if-free/preferred.
  dbp=$(db_pid) || dbp=""
  rp=$(redis_pid) || rp=""
  if [[ -n $dbp ]]; then
    db_port=$(recorded_port db) || die "mariadb runs (pid $dbp) but $PORTS_FILE has no port; run '$0 stop'"
  fi
  if [[ -n $rp ]]; then
    redis_port=$(recorded_port redis) || die "redis runs (pid $rp) but $PORTS_FILE has no port; run '$0 stop'"
  fi
  [[ -n $dbp ]] || db_port=$(pick_port db "$DB_PREFERRED_PORT" "${redis_port:-}")
  [[ -n $rp ]] || redis_port=$(pick_port redis "$REDIS_PREFERRED_PORT" "$db_port")
  write_ports "$db_port" "$redis_port"

  if [[ -n $dbp ]]; then
    db_wait_ready
    echo "mariadb: already running on 127.0.0.1:$db_port (pid $dbp)"
  else
    [[ ! -e $DB_PID ]] || echo "mariadb: removing stale pid file $DB_PID"
    db_install
    db_start "$db_port"
  fi
  pass=$(db_password)
  db_setup "$pass"

  if [[ -n $rp ]]; then
    redis_ping "$redis_port" || {
      sleep 1
      redis_ping "$redis_port"
    } || die "redis (pid $rp) not answering on 127.0.0.1:$redis_port; see $REDIS_LOG"
    echo "redis: already running on 127.0.0.1:$redis_port (pid $rp)"
  else
    [[ ! -e $REDIS_PID ]] || echo "redis: removing stale pid file $REDIS_PID"
    redis_start "$redis_port"
  fi

  (
    umask 077
    {
      printf 'export DMARCD_DATABASE_URL=%q\n' "mariadb://$DB_USER:$pass@127.0.0.1:$db_port/$DB_NAME"
      printf 'export DMARCD_REDIS_URL=%q\n' "redis://127.0.0.1:$redis_port/0"
      printf 'export DMARCD_TEST_DB_SOCKET=%q\n' "$DB_SOCK"
      printf 'export DMARCD_RUN_DIR=%q\n' "$RUN"
    } >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
  )
  chmod 600 "$ENV_FILE"
}

do_status() {
  local rc=0 pid port
  port=$(recorded_port db) || port="-"
  if pid=$(db_pid) && db_ping; then
    echo "mariadb: running on 127.0.0.1:$port (pid $pid)"
  elif [[ -n ${pid:-} ]]; then
    echo "mariadb: not answering on 127.0.0.1:$port (pid $pid); see $DB_ERRLOG"
    rc=1
  else
    echo "mariadb: stopped"
    rc=1
  fi
  pid=""
  port=$(recorded_port redis) || port="-"
  if pid=$(redis_pid) && redis_ping "$port"; then
    echo "redis: running on 127.0.0.1:$port (pid $pid)"
  elif [[ -n ${pid:-} ]]; then
    echo "redis: not answering on 127.0.0.1:$port (pid $pid); see $REDIS_LOG"
    rc=1
  else
    echo "redis: stopped"
    rc=1
  fi
  return "$rc"
}

case "$cmd" in
  start)
    if ((fresh)); then
      do_stop
      wipe
    fi
    do_start
    ;;
  stop)
    do_stop
    if ((fresh)); then wipe; fi
    ;;
  status) do_status ;;
esac
exit 0
