#!/usr/bin/env bash
# dovecot.sh start|stop|status|env|add|kill-sessions [--run-dir DIR] [--fresh] [...]
#
# Runs a private Dovecot IMAP server on 127.0.0.1 for the IMAP poller's tests,
# without systemd and without touching /etc or the system's Dovecot: its
# configuration, sockets, state, logs, TLS certificate and the test user's
# Maildir all live under DIR/dovecot, so several can run side by side.
#
#   start          start the server (idempotent): one user with a random
#                  password, a Maildir, a throwaway CA and a certificate for
#                  localhost/127.0.0.1; IMAP with STARTTLS and IMAPS; writes
#                  DIR/dovecot/env (source it)
#   stop           shut it down, cutting off the sessions in progress (quiet if
#                  not running)
#   status         exit 0 only if it is running
#   env            print DIR/dovecot/env
#   add [--folder NAME] PATH...
#                  deliver the message files PATH (files, or directories
#                  searched recursively) into the Maildir (INBOX, or folder
#                  NAME), as new messages
#   kill-sessions  SIGKILL every IMAP session process of this server (the
#                  clients see their connection drop; the server stays up)
#
#   --run-dir DIR  default: $DMARCD_RUN_DIR, else <repo>/run
#   --fresh        (start, stop) wipe the server's state, Maildir included
#
# DIR/dovecot/env exports DOVECOT_IMAP_PORT (plain, STARTTLS offered),
# DOVECOT_IMAPS_PORT, DOVECOT_USER, DOVECOT_PASSWORD_FILE, DOVECOT_CA_FILE
# (the CA that signed the server's certificate) and DOVECOT_MAILDIR.
# Preferred ports: $DMARCD_IMAP_PORT (14143) and $DMARCD_IMAPS_PORT (14993),
# else the next free ones. Logins accept PLAIN/LOGIN and XOAUTH2/OAUTHBEARER
# with the password as the bearer token (a stand-in for an OAuth provider).
#
# As a normal user every Dovecot process runs as that user. As root, Dovecot
# insists on unprivileged login processes and refuses mail access as root:
# it then uses the dovecot/dovenull users of the Debian package for its own
# processes and `nobody` for the mailbox, and `add` hands files to it.
set -euo pipefail

case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAP_PREFERRED_PORT=${DMARCD_IMAP_PORT:-14143}
IMAPS_PREFERRED_PORT=${DMARCD_IMAPS_PORT:-14993}
PORT_SCAN=200
START_TIMEOUT=30 # seconds
STOP_TIMEOUT=20  # seconds before SIGKILL
MAIL_USER=dmarc

usage() {
  echo "usage: $0 start|stop|status|env|add|kill-sessions [--run-dir DIR] [--fresh]" \
    "[--folder NAME] [PATH...]" >&2
  exit 2
}
die() {
  echo "dovecot.sh: $*" >&2
  exit 1
}

cmd=""
run_dir=${DMARCD_RUN_DIR:-$REPO_DIR/run}
fresh=0
folder=""
paths=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    start | stop | status | env | add | kill-sessions)
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
    --folder)
      [[ $# -ge 2 && -n $2 ]] || usage
      folder=$2
      shift
      ;;
    -h | --help) usage ;;
    -*)
      echo "dovecot.sh: unknown option: $1" >&2
      usage
      ;;
    *) paths+=("$1") ;;
  esac
  shift
done
[[ -n $cmd ]] || usage
[[ $cmd == add || ${#paths[@]} -eq 0 ]] || usage
if [[ -n $folder && ! $folder =~ ^[A-Za-z0-9_-]+$ ]]; then
  die "--folder: letters, digits, _ and - only (a top-level Maildir++ folder)"
fi

if [[ ! -d $run_dir/dovecot && $cmd != start ]]; then
  case "$cmd" in
    status)
      echo "dovecot: stopped"
      exit 1
      ;;
    stop) exit 0 ;;
    *) die "nothing under $run_dir/dovecot: run '$0 start' first" ;;
  esac
fi
mkdir -p "$run_dir/dovecot"
DIR=$(cd "$run_dir/dovecot" && pwd -P)
CONF=$DIR/dovecot.conf
BASE=$DIR/run
PIDFILE=$BASE/master.pid
LOG=$DIR/dovecot.log
MAILDIR=$DIR/Maildir
TLS=$DIR/tls
ENV_FILE=$DIR/env
PORTS_FILE=$DIR/ports

# One dovecot.sh at a time per run dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DIR/.lock"
  flock -w 60 9 || die "another dovecot.sh holds $DIR/.lock"
fi

# Who runs what (see the header).
if [[ $(id -u) -eq 0 ]]; then
  if ! id dovecot >/dev/null 2>&1 || ! id dovenull >/dev/null 2>&1; then
    die "users dovecot and dovenull missing: install dovecot-core (scripts/deps.sh --test)"
  fi
  INTERNAL_USER=dovecot
  INTERNAL_GROUP=$(id -gn dovecot)
  LOGIN_USER=dovenull
  MAIL_UID=$(id -u nobody)
  MAIL_GID=$(id -g nobody)
else
  INTERNAL_USER=$(id -un)
  INTERNAL_GROUP=$(id -gn)
  LOGIN_USER=$INTERNAL_USER
  MAIL_UID=$(id -u)
  MAIL_GID=$(id -g)
fi

# --- processes --------------------------------------------------------------------

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# The master's pid, if it runs with our configuration.
master_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  pid=$(tr -dc 0-9 <"$PIDFILE" 2>/dev/null) || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

# The pids of the master's children named NAME.
children() {
  local master=$1 name=$2 p stat
  for p in /proc/[0-9]*; do
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    # stat: pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'
    [[ ${stat#*) } =~ ^[A-Za-z]\ ([0-9]+) ]] || continue
    [[ ${BASH_REMATCH[1]} == "$master" ]] || continue
    [[ $(cat "$p/comm" 2>/dev/null) == "$name" ]] && echo "${p#/proc/}"
  done
  return 0
}

wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  ! alive "$pid"
}

# --- ports ------------------------------------------------------------------------

port_busy() {
  if command -v ss >/dev/null 2>&1 && [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; then
    return 0
  fi
  timeout 1 bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null
}

recorded_port() {
  [[ -f $PORTS_FILE ]] || return 1
  sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$PORTS_FILE" | head -n 1 | grep .
}

pick_port() { # pick_port KEY PREFERRED AVOID
  local port
  if port=$(recorded_port "$1") && [[ $port != "$3" ]] && ! port_busy "$port"; then
    echo "$port"
    return 0
  fi
  for ((port = $2; port < $2 + PORT_SCAN && port < 65536; port++)); do
    [[ $port == "$3" ]] && continue
    port_busy "$port" || {
      echo "$port"
      return 0
    }
  done
  die "no free port in $2..$(($2 + PORT_SCAN - 1)) for $1"
}

# --- setup ------------------------------------------------------------------------

make_tls() {
  [[ -s $TLS/server.pem && -s $TLS/server.key && -s $TLS/ca.pem ]] && return 0
  mkdir -p "$TLS"
  (
    cd "$TLS"
    umask 077
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=dmarcd test CA $(od -An -tx4 -N4 /dev/urandom | tr -d ' ')" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
      'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out server.pem -days 3650 -extfile server.ext
    chmod 644 ca.pem server.pem
  ) >"$DIR/tls.log" 2>&1 || die "making the test certificate failed; see $DIR/tls.log"
}

make_user() {
  if [[ ! -s $DIR/password ]]; then
    (
      umask 077
      od -An -tx1 -N12 /dev/urandom | tr -d ' \n' >"$DIR/password"
    )
  fi
  (
    umask 077
    printf '%s:{PLAIN}%s\n' "$MAIL_USER" "$(cat "$DIR/password")" >"$DIR/passwd"
  )
  if [[ $(id -u) -eq 0 ]]; then # read by the auth process, which runs as dovecot
    chown "root:$INTERNAL_GROUP" "$DIR/passwd"
    chmod 640 "$DIR/passwd"
  fi
}

make_maildir() {
  mkdir -p "$MAILDIR"/{cur,new,tmp} "$DIR/home"
  [[ $(id -u) -ne 0 ]] || chown -R "$MAIL_UID:$MAIL_GID" "$MAILDIR" "$DIR/home"
}

write_conf() { # write_conf IMAP_PORT IMAPS_PORT
  cat >"$CONF.tmp" <<EOF
# Written by scripts/dovecot.sh: a throwaway server for tests. Do not edit.
protocols = imap
listen = 127.0.0.1
base_dir = $BASE
state_dir = $DIR/state
instance_name = dmarcd-test-$1
log_path = $LOG
info_log_path = $LOG
default_internal_user = $INTERNAL_USER
default_internal_group = $INTERNAL_GROUP
default_login_user = $LOGIN_USER
ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = maildir:$MAILDIR
mail_fsync = never
first_valid_uid = 1
mail_max_userip_connections = 50
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/passwd
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$DIR/home
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $1
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $2
    ssl = yes
  }
}
service anvil {
  chroot =
}
EOF
  mv -f "$CONF.tmp" "$CONF"
}

write_env() { # write_env IMAP_PORT IMAPS_PORT
  {
    printf 'export DOVECOT_IMAP_PORT=%q\n' "$1"
    printf 'export DOVECOT_IMAPS_PORT=%q\n' "$2"
    printf 'export DOVECOT_USER=%q\n' "$MAIL_USER"
    printf 'export DOVECOT_PASSWORD_FILE=%q\n' "$DIR/password"
    printf 'export DOVECOT_CA_FILE=%q\n' "$TLS/ca.pem"
    printf 'export DOVECOT_MAILDIR=%q\n' "$MAILDIR"
  } >"$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

answers() { # answers PORT: the greeting comes
  local line
  exec 8<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
  IFS= read -r -t 2 line <&8 || line=""
  exec 8<&- 8>&-
  [[ $line == "* OK"* ]]
}

# --- commands ---------------------------------------------------------------------

do_start() {
  local pid imap_port imaps_port i
  command -v dovecot >/dev/null 2>&1 || die "dovecot not found: run scripts/deps.sh --test"
  command -v openssl >/dev/null 2>&1 || die "openssl not found"
  if pid=$(master_pid); then
    imap_port=$(recorded_port imap) || die "dovecot runs (pid $pid) but $PORTS_FILE lacks its port"
    echo "dovecot: already running on 127.0.0.1:$imap_port (pid $pid)"
    return 0
  fi
  mkdir -p "$BASE" "$DIR/state"
  make_tls
  make_user
  make_maildir
  imap_port=$(pick_port imap "$IMAP_PREFERRED_PORT" "")
  imaps_port=$(pick_port imaps "$IMAPS_PREFERRED_PORT" "$imap_port")
  printf 'imap=%s\nimaps=%s\n' "$imap_port" "$imaps_port" >"$PORTS_FILE"
  write_conf "$imap_port" "$imaps_port"
  rm -f "$PIDFILE"
  dovecot -c "$CONF" 9>&- >>"$DIR/dovecot.out" 2>&1 || {
    tail -n 20 "$DIR/dovecot.out" "$LOG" >&2 2>/dev/null
    die "dovecot would not start"
  }
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if answers "$imap_port" && port_busy "$imaps_port"; then
      write_env "$imap_port" "$imaps_port"
      echo "dovecot: started on 127.0.0.1:$imap_port (IMAP), :$imaps_port (IMAPS)" \
        "(pid $(master_pid || echo '?'))"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$LOG" >&2 2>/dev/null || true
  die "not answering on 127.0.0.1:$imap_port after ${START_TIMEOUT}s (log: $LOG)"
}

do_stop() {
  local pid sessions
  pid=$(master_pid) || return 0
  # The master leaves IMAP sessions in progress to finish on their own; a test
  # that stops the server wants its clients cut off too.
  mapfile -t sessions < <(children "$pid" imap)
  kill -TERM "$pid" 2>/dev/null || true
  ((${#sessions[@]} == 0)) || kill -KILL "${sessions[@]}" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "dovecot (pid $pid) would not die"
  fi
  echo "dovecot: stopped (pid $pid)"
}

do_add() {
  local dest=$MAILDIR stage tag p n
  [[ ${#paths[@]} -gt 0 ]] || usage
  [[ -d $MAILDIR/new ]] || die "no Maildir: run '$0 start' first"
  if [[ -n $folder ]]; then
    dest=$MAILDIR/.$folder
    mkdir -p "$dest"/{cur,new,tmp}
    [[ $(id -u) -ne 0 ]] || chown -R "$MAIL_UID:$MAIL_GID" "$dest"
  fi
  # Maildir delivery: write under tmp/, then rename into new/. Names are made
  # unique from each file's path, so many files cost a few processes, not one each.
  stage=$(mktemp -d "$dest/tmp/add.XXXXXX")
  tag="$(date +%s).$$.$RANDOM"
  for p in "${paths[@]}"; do
    if [[ -d $p ]]; then
      (cd "$p" && find . -type f ! -name '.*' -print0 | tar --null -cf - -T -) |
        tar -xf - -C "$stage" --transform "s|^\./||;s|[/:]|_|g;s|^|$tag.d.|"
    elif [[ -f $p ]]; then
      n=${p##*/}
      cp -- "$p" "$stage/$tag.f.${n//[:\/]/_}"
    else
      rm -rf "$stage"
      die "no such file or directory: $p"
    fi
  done
  [[ $(id -u) -ne 0 ]] || chown -R "$MAIL_UID:$MAIL_GID" "$stage"
  n=$(find "$stage" -type f | wc -l)
  if ((n > 0)); then
    find "$stage" -type f -print0 | xargs -0 mv -t "$dest/new" --
  fi
  rmdir "$stage"
  echo "dovecot: delivered $n message(s) to ${folder:-INBOX}"
}

do_kill_sessions() {
  local pid p n=0
  pid=$(master_pid) || die "not running"
  for p in $(children "$pid" imap); do
    kill -KILL "$p" 2>/dev/null && n=$((n + 1))
  done
  echo "dovecot: killed $n session(s)"
}

case "$cmd" in
  start)
    if ((fresh)); then
      do_stop
      rm -rf "${BASE:?}" "${DIR:?}/state" "${MAILDIR:?}" "${DIR:?}/home" "${TLS:?}" \
        "$PORTS_FILE" "$ENV_FILE" "$DIR/password" "$DIR/passwd" "$LOG"
    fi
    do_start
    ;;
  stop)
    do_stop
    if ((fresh)); then rm -rf "$DIR"; fi
    ;;
  status)
    if pid=$(master_pid); then
      echo "dovecot: running on 127.0.0.1:$(recorded_port imap || echo '?') (pid $pid)"
    else
      echo "dovecot: stopped"
      exit 1
    fi
    ;;
  env)
    [[ -f $ENV_FILE ]] || die "no $ENV_FILE: run '$0 start' first"
    cat "$ENV_FILE"
    ;;
  add) do_add ;;
  kill-sessions) do_kill_sessions ;;
esac
exit 0
