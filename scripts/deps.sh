#!/usr/bin/env bash
# deps.sh [--test] [--browser] [--mail]
#
# Installs the Debian 12 packages dmarcd needs to build, test and run its demo.
# Idempotent and quiet: when everything is already installed it prints nothing
# and touches nothing (no apt-get update), so it is cheap to call from other
# scripts and CI. Otherwise it prints one line naming the packages it installs.
# Runs apt-get directly as root, through sudo as a normal user, and fails with
# the list of missing packages when neither is possible.
#
#   --test     compilers and tools for sanitizer/fuzz builds and the test suite
#   --mail     IMAP server for the mailbox-ingestion tests
#   --browser  headless Chromium and Node for the web dashboard tests
set -euo pipefail

# --- package lists: the one place to edit --------------------------------------
BASE_PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libxml2-dev libxml2-utils zlib1g-dev libarchive-dev
  libmariadb-dev libhiredis-dev libgpgme-dev libmicrohttpd-dev libcmocka-dev
  libjansson-dev libgmime-3.0-dev libsodium-dev libcurl4-openssl-dev libgnutls28-dev
  mariadb-server mariadb-client redis-server redis-tools curl iproute2
)
# clang + libclang-rt-14-dev + llvm: libFuzzer and ASan/UBSan builds;
# gnupg: test keys; swaks: SMTP test client (libnet-ssleay-perl: its --tls;
# openssl: test certificates); procps/iproute2: ps, pkill, ss;
# python3: small test helpers (e.g. a dummy listener); time: peak RSS in bench/ and tests;
# dovecot-imapd, dovecot-core, curl: the IMAP poller's tests (scripts/dovecot.sh, a client);
# nodejs, npm, unzip: the Helm chart test (tests/helm: helm and schemas from npm);
# chromium: the dashboard's browser tests (tests/web, driven by playwright-core from npm).
TEST_PKGS=(clang libclang-rt-14-dev llvm gnupg swaks libnet-ssleay-perl openssl procps iproute2
  python3 time nodejs npm unzip chromium dovecot-imapd dovecot-core curl)
MAIL_PKGS=(dovecot-imapd dovecot-core swaks)
BROWSER_PKGS=(chromium chromium-driver nodejs npm)
# --------------------------------------------------------------------------------

usage() {
  echo "usage: $0 [--test] [--browser] [--mail]" >&2
  exit 2
}

want=("${BASE_PKGS[@]}")
for arg in "$@"; do
  case "$arg" in
    --test) want+=("${TEST_PKGS[@]}") ;;
    --mail) want+=("${MAIL_PKGS[@]}") ;;
    --browser) want+=("${BROWSER_PKGS[@]}") ;;
    -h | --help) usage ;;
    *)
      echo "deps: unknown option: $arg" >&2
      usage
      ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: dpkg-query not found: this script supports Debian 12 only" >&2
  exit 1
fi

# Names provided by installed packages (e.g. the NodeSource "nodejs" package
# provides "npm" and conflicts with Debian's npm). Filled on first need.
provided=""
provided_loaded=0
is_provided() {
  if [[ $provided_loaded -eq 0 ]]; then
    provided=$(dpkg-query -W -f='${Status}\t${Provides}\n' 2>/dev/null |
      awk -F'\t' '$1 ~ / ok installed$/ && $2 != "" {
        n = split($2, p, /, */)
        for (i = 1; i <= n; i++) { sub(/ .*/, "", p[i]); print p[i] }
      }' | sort -u)
    provided_loaded=1
  fi
  grep -qxF -- "$1" <<<"$provided"
}

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || status=""
  [[ $status == *" ok installed" ]] && return 0
  is_provided "$1"
}

missing_pkgs() {
  local p seen=" "
  for p in "${want[@]}"; do
    [[ $seen == *" $p "* ]] && continue
    seen+="$p "
    is_installed "$p" || printf '%s\n' "$p"
  done
}

mapfile -t missing < <(missing_pkgs)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: not root and sudo not found; as root run:" >&2
  echo "  apt-get update && apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing packages: ${missing[*]} (and apt-get not found)" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"

log=$(mktemp "${TMPDIR:-/tmp}/dmarcd-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

run_apt() {
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >>"$log" 2>&1; then
    echo "deps: failed: $*" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}
run_apt apt-get update -qq
run_apt apt-get install -y -qq --no-install-recommends "${missing[@]}"

provided_loaded=0
mapfile -t still < <(missing_pkgs)
if [[ ${#still[@]} -ne 0 ]]; then
  echo "deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
