#!/usr/bin/env bash
# Black-box tests of the dmarcd command line: help lists only working
# commands, exit statuses follow the contract (0/1/2/3), `config check`
# names each bad key with its value and allowed range and never prints a
# password. Usage: test_cli.sh PATH/TO/dmarcd
set -uo pipefail
dmarcd=${1:?usage: test_cli.sh DMARCD}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# check NAME EXPECTED_STATUS COMMAND... ; output goes to $tmp/out
check() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local got=$?
    if [[ $got -eq $want ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out"
    fi
}

# expect NAME PATTERN: the last output matches the extended regex
expect() {
    if grep -Eq -- "$2" "$tmp/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1: output lacks /$2/"
        sed 's/^/    /' "$tmp/out"
    fi
}

reject() {
    if grep -Eq -- "$2" "$tmp/out"; then
        failed=$((failed + 1))
        echo "FAIL $1: output has /$2/"
        sed 's/^/    /' "$tmp/out"
    else
        passed=$((passed + 1))
    fi
}

clean_env() { env -i PATH="$PATH" "$@"; }

check "help" 0 clean_env "$dmarcd" help
# every listed command must answer --help with status 0
listed=$(sed -n '/^commands:/,/^$/p' "$tmp/out" | awk 'NF>1 {print $1}' | grep -v commands:)
for c in $listed; do
    check "$c --help" 0 clean_env "$dmarcd" "$c" --help
    expect "$c --help usage" "^usage: dmarcd"
done
# the commands that exist today, and no more
[[ $(echo $listed) == "help version config parse migrate tenant domain user token import worker queue smtp imap api retention" ]] \
    && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL listed commands: $listed"; }

check "no command" 2 clean_env "$dmarcd"
check "unknown command" 2 clean_env "$dmarcd" frobnicate
expect "unknown command message" "no such command: frobnicate"
check "unknown global option" 2 clean_env "$dmarcd" --frob
check "--help" 0 clean_env "$dmarcd" --help
check "help unknown" 2 clean_env "$dmarcd" help frobnicate
check "version" 0 clean_env "$dmarcd" version
expect "version line" "^dmarcd [0-9]+\.[0-9]+\.[0-9]+"
expect "version libs" "libxml2 +2\."
check "--version" 0 clean_env "$dmarcd" --version

check "config check defaults" 0 clean_env "$dmarcd" config check
expect "config check valid" "^configuration valid"
expect "config check default source" "redis_url += redis://127.0.0.1:6379/0 +\[default\]"

check "config check bad env" 2 clean_env DMARCD_WORKER_THREADS=0 DMARCD_LOG_LEVEL=chatty \
    DMARCD_DATABASE_URL='mariadb://dmarcd:hunter2@127.0.0.1:70000/dmarc' \
    DMARCD_REDIS_URL='redis://:redispw@h/999' "$dmarcd" config check
expect "names worker_threads with range" \
    'error: worker_threads \(environment DMARCD_WORKER_THREADS\): value "0": expected an integer from 1 to 64'
expect "names log_level with choices" 'error: log_level .*value "chatty".*debug\|info\|warn\|error'
expect "names database_url port" 'error: database_url .*port must be a number from 1 to 65535'
expect "names redis db range" 'error: redis_url .*db 0-255'
reject "database password masked" 'hunter2'
reject "redis password masked" 'redispw'
expect "counts errors" 'configuration invalid: 4 error\(s\)'

cat >"$tmp/dmarcd.conf" <<'CONF'
# test config
worker_threads = 4
log_level = warn
api_listen = [::1]:8443
CONF
check "config file" 0 clean_env "$dmarcd" --config "$tmp/dmarcd.conf" config check
expect "file value" 'worker_threads += 4 +\[config file\]'
expect "ipv6 listen" 'api_listen += \[::1\]:8443'
check "config file via env" 0 clean_env DMARCD_CONFIG="$tmp/dmarcd.conf" DMARCD_WORKER_THREADS=9 \
    "$dmarcd" config check
expect "env beats file" 'worker_threads += 9 +\[environment\]'

echo 'wroker_threads = 3' >"$tmp/typo.conf"
check "typo in file" 2 clean_env "$dmarcd" --config "$tmp/typo.conf" config check
expect "typo named" 'error: wroker_threads \(file .*typo.conf:1\): unknown configuration key'
check "typo in env is a warning" 0 clean_env DMARCD_WROKER_THREADS=3 "$dmarcd" config check
expect "env typo named" 'warning: DMARCD_WROKER_THREADS'

printf 'mariadb://dmarcd:filesecret@127.0.0.1:3306/dmarc\n' >"$tmp/dburl"
check "_FILE secret" 0 clean_env DMARCD_DATABASE_URL_FILE="$tmp/dburl" "$dmarcd" config check
expect "_FILE source" 'database_url += mariadb://dmarcd:\*\*\*@127.0.0.1:3306/dmarc +\[environment \(_FILE\)\]'
reject "_FILE secret masked" 'filesecret'
check "missing config file" 2 clean_env "$dmarcd" --config "$tmp/nope.conf" config check
expect "missing file named" 'nope.conf'
check "master key file must be readable" 2 clean_env DMARCD_MASTER_KEY_FILE="$tmp/nokey" \
    "$dmarcd" config check
expect "master key named" 'error: master_key_file .*expected a readable file'

check "config sample" 0 clean_env "$dmarcd" config sample
expect "sample documents keys" '^# worker_threads = 2$'
check "config without subcommand" 2 clean_env "$dmarcd" config

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
