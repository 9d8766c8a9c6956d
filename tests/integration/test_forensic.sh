#!/usr/bin/env bash
# Integration test of failure-report protection (storage/forensic.h): a
# failure report with a unique marker in the sample's recipient address,
# subject, a header and the body, imported with `dmarcd import --tenant`
# under each policy, against the MariaDB of DMARCD_DATABASE_URL and the
# gpg command line. Exits 77 (ctest: skipped) without DMARCD_DATABASE_URL
# or gpg. Checks, each named in its failure line:
#   keys       bad OpenPGP keys refused with their reason: garbage, binary,
#              signing only, expired, revoked, secret, two keys, empty
#   encrypted  the marker is in no column of any table; the blob opens
#              with dmarcd's forensic_sample_read and holds every field
#   pgp        same scan; the blob (armored, and binary for --binary)
#              decrypts with the tenant's private key via gpg, not with a
#              home holding only the public key, and dmarcd returns it
#              encrypted
#   none       the metadata row only; none-drop: no row at all
#   inbox      a message's raw inbox copy is gone after forensic_inbox_forget
#   rotation   rewrap under a new master key: old blobs stay readable,
#              the old key alone no longer opens them, rerun is a no-op
#   fallback   a key that expired after upload: sample dropped (or sealed
#              with pgp_fallback=encrypted), alert row, audit row once
#   apply      --apply-existing re-encrypts sealed blobs to the PGP key,
#              none destroys blobs, none-drop the reports
#   keyfile    a world-readable master key file is refused
# Usage: test_forensic.sh DMARCD TOOL (tests/integration/test_forensic_tool)
set -uo pipefail
dmarcd=${1:?usage: test_forensic.sh DMARCD TOOL}
tool=${2:?usage: test_forensic.sh DMARCD TOOL}
if [[ -z ${DMARCD_DATABASE_URL:-} ]]; then
    echo "DMARCD_DATABASE_URL unset: skipped (scripts/test.sh starts a database)"
    exit 77
fi
if ! command -v gpg >/dev/null; then
    echo "gpg not installed: skipped"
    exit 77
fi
re='^(mariadb|mysql)://([^:@/]*):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)$'
if [[ ! $DMARCD_DATABASE_URL =~ $re ]]; then
    echo "test_forensic: cannot read DMARCD_DATABASE_URL (expected mariadb://user:pass@host:port/db)"
    exit 1
fi
db_user=${BASH_REMATCH[2]}
db_pass=${BASH_REMATCH[3]}
db_host=${BASH_REMATCH[4]}
db_port=${BASH_REMATCH[6]:-3306}
url_base="${BASH_REMATCH[1]}://$db_user:$db_pass@$db_host:$db_port"

tmp=$(mktemp -d)
tag=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
db="dmarc_test_${tag}_forensic"
G=$tmp/gnupg
cleanup() {
    gpgconf --homedir "$G" --kill all >/dev/null 2>&1
    gpgconf --homedir "$tmp/pubonly" --kill all >/dev/null 2>&1
    sql "" -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0

sql() { # sql DB ARGS...: the mariadb client as the URL's user (password via env)
    local d=$1
    shift
    MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" \
        --batch --skip-column-names ${d:+"$d"} "$@"
}
q() { sql "$db" -e "$1"; }
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
check() { # check NAME EXPECTED_STATUS COMMAND...: output in $tmp/out
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local got=$?
    if [[ $got -eq $want ]]; then ok; else
        bad "$name: exit $got, expected $want"
        sed 's/^/    /' "$tmp/out" | head -40
    fi
}
expect() { # expect NAME REGEX [FILE]
    if grep -Eq -- "$2" "${3:-$tmp/out}"; then ok; else
        bad "$1: output lacks /$2/"
        sed 's/^/    /' "${3:-$tmp/out}" | head -20
    fi
}
reject() { # reject NAME FIXED_TEXT FILE
    if grep -Fq -- "$2" "$3"; then
        bad "$1: $3 holds '$2'"
    else ok; fi
}
same() { # same NAME GOT WANT
    if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}
export DMARCD_LOG_LEVEL=warn
on() { DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" "$@"; }
tool() { DMARCD_DATABASE_URL="$url_base/$db" "$tool" "$@"; }
g() { GNUPGHOME=$G gpg --batch --no-tty --quiet "$@"; }
fpr_of() { g --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}'; }

# scan TEXT: "table.column" of every text, JSON or binary column of every
# table holding TEXT (byte comparison), one per line; empty when none.
scan() {
    q "SELECT CONCAT('SELECT ''', TABLE_NAME, '.', COLUMN_NAME, ''' FROM \`', TABLE_NAME,
                     '\` WHERE INSTR(CAST(\`', COLUMN_NAME, '\` AS BINARY), ''$1'') > 0 LIMIT 1;')
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
       AND DATA_TYPE IN ('char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json',
                         'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob')" \
        >"$tmp/scan.sql"
    sql "$db" <"$tmp/scan.sql"
}
no_marker() { # no_marker NAME MARKER: in no column of any table, nor in the inbox's raw bytes
    local hits
    hits=$(scan "$2")
    if [[ -z $hits ]]; then ok; else bad "$1: marker $2 stored in clear in: $hits"; fi
    same "$1: marker in inbox rows" "$(tool inbox-grep "$2")" 0
}
blob_of() { # blob_of TENANT_ID FAILURE_ID FILE: the stored blob's bytes
    sql "$db" --raw -e "SELECT TO_BASE64(sample) FROM failure_samples
                        WHERE tenant_id = $1 AND failure_id = $2" | base64 -d >"$3"
}

# arf FILE DOMAIN MARKER N: a failure report with MARKER in the sample's
# recipient (and Original-Rcpt-To), subject, an X- header and the body.
arf() {
    cat >"$1" <<EOF
From: DMARC Reporter <dmarc-reports@receiver.example>
To: ruf@$2
Date: Tue, 10 Nov 2026 10:00:00 +0000
Subject: DMARC failure report for $2
Message-ID: <arf-$4-$tag@receiver.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="=_b_"

--=_b_
Content-Type: text/plain; charset=us-ascii

A message claiming to be from $2 failed DMARC.

--=_b_
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: TestReporter/1.0
Version: 1
Original-Mail-From: <bounce@$2>
Original-Rcpt-To: <$3@rcpt.example>
Arrival-Date: Tue, 10 Nov 2026 09:58:20 +0000
Reporting-MTA: dns; mx.receiver.example
Source-IP: 192.0.2.10
Reported-Domain: $2
Auth-Failure: dmarc
Delivery-Result: reject
DKIM-Domain: $2
DKIM-Selector: s2026

--=_b_
Content-Type: message/rfc822

From: News <news@$2>
To: $3@rcpt.example
Subject: Your offer, $3
X-Tracking-Id: $3
Date: Tue, 10 Nov 2026 09:58:00 +0000
Message-ID: <msg-$4-$tag@$2>

Dear $3,
this is the body of the message that failed.

--=_b_--
EOF
}
marker() { printf 'mk%s%s' "$1" "$(od -An -tx4 -N8 /dev/urandom | tr -d ' \n')"; }
fid() { # fid TENANT_ID: the newest failure report id of the tenant
    q "SELECT COALESCE(MAX(id), 0) FROM failure_reports WHERE tenant_id = $1"
}
tid() { q "SELECT id FROM tenants WHERE name = '$1'"; }

# ---- setup: database, master keys, OpenPGP keys ----
sql "" -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || { echo "cannot create $db"; exit 1; }
on migrate >"$tmp/migrate.out" 2>&1 || { cat "$tmp/migrate.out"; echo "cannot migrate $db"; exit 1; }
keyA=$tmp/master-a.key
keyB=$tmp/master-b.key
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$keyA"
head -c 32 /dev/urandom >"$keyB"
chmod 600 "$keyA" "$keyB"
export DMARCD_MASTER_KEY_FILE=$keyA

mkdir -m 700 "$G"
g --passphrase '' --quick-gen-key 'Tenant Security <security@tenant.example>' future-default \
    default 1y || { echo "gpg cannot generate keys"; exit 1; }
g --passphrase '' --quick-gen-key 'Signer <signer@tenant.example>' ed25519 sign never
g --passphrase '' --faked-system-time 20200101T000000 \
    --quick-gen-key 'Old Key <old@tenant.example>' future-default default 1d 2>/dev/null
g --passphrase '' --quick-gen-key 'Gone Key <gone@tenant.example>' future-default default 1y
fpr=$(fpr_of security@tenant.example)
fpr_old=$(fpr_of old@tenant.example)
fpr_gone=$(fpr_of gone@tenant.example)
g --armor --export "$fpr" >"$tmp/tenant.asc"
g --export "$fpr" >"$tmp/tenant.gpg"
g --armor --export signer@tenant.example >"$tmp/sign.asc"
g --armor --export "$fpr_old" >"$tmp/expired.asc"
sed 's/^:-----BEGIN/-----BEGIN/' "$G/openpgp-revocs.d/$fpr_gone.rev" >"$tmp/rev.asc"
g --import "$tmp/rev.asc" 2>/dev/null
g --armor --export "$fpr_gone" >"$tmp/revoked.asc"
g --pinentry-mode loopback --passphrase '' --armor --export-secret-keys "$fpr" >"$tmp/secret.asc"
g --armor --export "$fpr" signer@tenant.example >"$tmp/two.asc"
printf 'this is not a key\n' >"$tmp/garbage.asc"
: >"$tmp/empty.asc"
mkdir -m 700 "$tmp/pubonly"
GNUPGHOME=$tmp/pubonly gpg --batch --quiet --import "$tmp/tenant.asc" 2>/dev/null

for t in enc pgp pgpbin none drop; do
    on tenant add "$t" >/dev/null && on domain add "$t" "$t-$tag.example" >/dev/null ||
        { echo "cannot add tenant $t"; exit 1; }
done

# ---- keys: refused with their reason ----
declare -A why=([garbage]='not an ASCII-armored OpenPGP public key'
    [sign]='cannot encrypt \(it is for signing only\)' [expired]='the key expired on 2020-01-0'
    [revoked]='the key is revoked' [secret]='secret \(private\) key'
    [two]='holds 2 OpenPGP keys' [empty]='the key file is empty')
for k in garbage sign expired revoked secret two empty; do
    check "keys: $k refused" 1 on tenant policy pgp pgp --pgp-key "$tmp/$k.asc"
    expect "keys: $k reason" "OpenPGP key refused: .*${why[$k]}"
done
check "keys: binary refused" 1 on tenant policy pgp pgp --pgp-key "$tmp/tenant.gpg"
expect "keys: binary reason" "binary OpenPGP key: upload its ASCII-armored form"
check "keys: pgp without a key" 1 on tenant policy pgp pgp
expect "keys: pgp without a key reason" "needs the tenant's OpenPGP public key"
check "keys: missing file" 2 on tenant policy pgp pgp --pgp-key "$tmp/nonexistent.asc"
check "keys: key with another policy" 2 on tenant policy pgp none --pgp-key "$tmp/tenant.asc"
check "keys: bad policy" 2 on tenant policy pgp clear
same "keys: nothing changed" "$(q "SELECT forensic_policy, pgp_fingerprint IS NULL FROM tenants
                                  WHERE name = 'pgp'")" "encrypted	1"
ls -d "${TMPDIR:-/tmp}"/dmarcd-gpg-* >/dev/null 2>&1 && bad "keys: a gpg home was left behind" || ok

check "keys: good key accepted" 0 on tenant policy pgp pgp --pgp-key "$tmp/tenant.asc"
expect "keys: good key line" "tenant pgp: failure reports pgp to OpenPGP key $fpr \(.*, expires [0-9-]+\), ascii-armored"
check "keys: binary tenant" 0 on tenant policy pgpbin pgp --pgp-key "$tmp/tenant.asc" --binary
check "keys: none" 0 on tenant policy none none --redact hash
check "keys: none-drop" 0 on tenant policy drop none-drop
same "keys: stored settings" "$(q "SELECT name, forensic_policy, forensic_redaction, pgp_format,
                                  pgp_fingerprint IS NOT NULL FROM tenants ORDER BY id" | tr '\t\n' ' |')" \
    "enc encrypted mask armor 0|pgp pgp mask armor 1|pgpbin pgp mask binary 1|none none hash armor 0|drop none-drop mask armor 0|"
same "keys: audited" "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.forensic_policy'")" 4

# ---- one report per policy ----
declare -A mk
n=0
for t in enc pgp pgpbin none drop; do
    mk[$t]=$(marker "$t")
    n=$((n + 1))
    arf "$tmp/$t.eml" "$t-$tag.example" "${mk[$t]}" "$n"
    check "import $t" 0 on import --tenant "$t" "$tmp/$t.eml"
done
expect "none-drop stores nothing" "import: 1 files, 0 reports stored"

# encrypted
t_enc=$(tid enc)
f_enc=$(fid "$t_enc")
same "encrypted: blob format" "$(q "SELECT format, key_version FROM failure_samples
                                   WHERE tenant_id = $t_enc")" "aead	1"
no_marker "encrypted" "${mk[enc]}"
hits=$(scan "enc-$tag.example")
[[ $hits == *failure_reports.reported_domain* ]] && ok ||
    bad "scan: positive control (reported domain in clear) not found: $hits"
check "encrypted: read through dmarcd" 0 tool read "$t_enc" "$f_enc"
cp "$tmp/out" "$tmp/enc.json"
expect "encrypted: format" "^format=aead" "$tmp/enc.json"
expect "encrypted: recipient" "\"original_rcpt_to\":\\[\"${mk[enc]}@rcpt.example\"\\]" "$tmp/enc.json"
expect "encrypted: subject" "Subject: Your offer, ${mk[enc]}" "$tmp/enc.json"
expect "encrypted: header" "X-Tracking-Id: ${mk[enc]}" "$tmp/enc.json"
expect "encrypted: body" "\"body\":\"Dear ${mk[enc]},\\\\n" "$tmp/enc.json"
check "encrypted: another tenant's id" 4 tool read "$(tid pgp)" "$f_enc"
check "encrypted: no master key" 1 env -u DMARCD_MASTER_KEY_FILE "$tool" read "$t_enc" "$f_enc"
q "UPDATE failure_samples SET failure_id = failure_id + 1000 WHERE tenant_id = $t_enc"
check "encrypted: blob bound to its report" 1 tool read "$t_enc" $((f_enc + 1000))
expect "encrypted: blob bound to its report" "error=crypto"
q "UPDATE failure_samples SET failure_id = failure_id - 1000 WHERE tenant_id = $t_enc"

# pgp, armored and binary
for t in pgp pgpbin; do
    id=$(tid $t)
    f=$(fid "$id")
    want=pgp-armor
    [[ $t == pgpbin ]] && want=pgp-binary
    same "$t: blob format" "$(q "SELECT format, pgp_fingerprint FROM failure_samples
                                 WHERE tenant_id = $id")" "$want	$fpr"
    no_marker "$t" "${mk[$t]}"
    blob_of "$id" "$f" "$tmp/$t.blob"
    if [[ $t == pgp ]]; then
        expect "$t: armored" "^-----BEGIN PGP MESSAGE-----" "$tmp/$t.blob"
    else
        reject "$t: binary" "BEGIN PGP MESSAGE" "$tmp/$t.blob"
    fi
    check "$t: decrypts with the tenant's private key" 0 g --decrypt "$tmp/$t.blob"
    expect "$t: decrypted recipient" "\"original_rcpt_to\":\\[\"${mk[$t]}@rcpt.example\"\\]"
    expect "$t: decrypted subject" "Subject: Your offer, ${mk[$t]}"
    expect "$t: decrypted header" "X-Tracking-Id: ${mk[$t]}"
    expect "$t: decrypted body" "Dear ${mk[$t]},"
    check "$t: not with the public key alone" 2 env GNUPGHOME="$tmp/pubonly" gpg --batch \
        --quiet --decrypt "$tmp/$t.blob"
    check "$t: dmarcd returns it encrypted" 0 tool read "$id" "$f"
    expect "$t: dmarcd returns it encrypted" "^format=$want"
    reject "$t: dmarcd cannot read it" "${mk[$t]}" "$tmp/out"
done
same "pgp: no data key needed" "$(q "SELECT COUNT(*) FROM tenant_keys
                                    WHERE tenant_id IN ($(tid pgp), $(tid pgpbin))")" 0

# none and none-drop
same "none: metadata row" "$(q "SELECT COUNT(*), MAX(reported_domain) FROM failure_reports
                               WHERE tenant_id = $(tid none)")" "1	none-$tag.example"
same "none: no blob" "$(q "SELECT COUNT(*) FROM failure_samples WHERE tenant_id = $(tid none)")" 0
no_marker "none" "${mk[none]}"
same "none-drop: no row" "$(q "SELECT COUNT(*) FROM failure_reports
                              WHERE tenant_id = $(tid drop)")" 0
no_marker "none-drop" "${mk[drop]}"

# ---- inbox: the raw copy goes once processed ----
mi=$(marker inbox)
arf "$tmp/inbox.eml" "none-$tag.example" "$mi" 90
check "inbox: put" 0 tool inbox-put "$tmp/inbox.eml"
inbox_id=$(cat "$tmp/out")
same "inbox: raw copy holds the marker" "$(tool inbox-grep "$mi")" 1
check "inbox: forget" 0 tool inbox-forget "$inbox_id"
same "inbox: row gone" "$(q "SELECT COUNT(*) FROM inbox WHERE id = $inbox_id")" 0
check "inbox: forget twice" 0 tool inbox-forget "$inbox_id"
no_marker "inbox" "$mi"

# ---- rotation: rewrap under master key B ----
# two data keys: tenant enc's, and tenant none's (for its hashed redaction)
check "rotation: only the new key" 1 env DMARCD_MASTER_KEY_FILE="$keyB" \
    DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" tenant rewrap
expect "rotation: only the new key" "wrapped by a master key that is not configured"
check "rotation: rewrap" 0 env DMARCD_DATABASE_URL="$url_base/$db" DMARCD_MASTER_KEY_FILE="$keyB" \
    DMARCD_MASTER_KEY_PREVIOUS_FILE="$keyA" "$dmarcd" tenant rewrap
expect "rotation: rewrap counts" "^rewrap: 2 data keys rewrapped under master key [0-9a-f]{16}, 0 already"
check "rotation: rewrap again" 0 env DMARCD_DATABASE_URL="$url_base/$db" \
    DMARCD_MASTER_KEY_FILE="$keyB" DMARCD_MASTER_KEY_PREVIOUS_FILE="$keyA" "$dmarcd" tenant rewrap
expect "rotation: rewrap again counts" "^rewrap: 0 data keys rewrapped .*, 2 already under it"
check "rotation: old blob readable with the new key" 0 env DMARCD_MASTER_KEY_FILE="$keyB" \
    DMARCD_DATABASE_URL="$url_base/$db" "$tool" read "$t_enc" "$f_enc"
cmp -s "$tmp/out" "$tmp/enc.json" && ok || bad "rotation: blob reads differently after rewrap"
check "rotation: old key alone no longer opens it" 1 tool read "$t_enc" "$f_enc"
export DMARCD_MASTER_KEY_FILE=$keyB
mr=$(marker rot)
arf "$tmp/rot.eml" "enc-$tag.example" "$mr" 91
check "rotation: import under the new key" 0 on import --tenant enc "$tmp/rot.eml"
check "rotation: new blob readable" 0 tool read "$t_enc" "$(fid "$t_enc")"
expect "rotation: new blob readable" "$mr@rcpt.example"
same "rotation: audited" "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'keys.rewrap'")" 3

# ---- fallback: the tenant's key expired after its upload ----
t_pgp=$(tid pgp)
sql "$db" -e "UPDATE tenants SET pgp_public_key = FROM_BASE64('$(base64 -w0 "$tmp/expired.asc")'),
              pgp_fingerprint = '$fpr_old' WHERE id = $t_pgp"
mf=$(marker fb)
arf "$tmp/fb1.eml" "pgp-$tag.example" "$mf" 92
check "fallback: stored" 0 on import --tenant pgp "$tmp/fb1.eml"
f=$(fid "$t_pgp")
same "fallback: metadata kept, sample dropped" "$(q "SELECT COUNT(*) FROM failure_samples
                                                  WHERE tenant_id = $t_pgp AND failure_id = $f")" 0
same "fallback: noted" "$(q "SELECT JSON_SEARCH(warnings, 'one', 'sample not kept: the tenant''s OpenPGP key cannot encrypt (the key expired on %') IS NOT NULL
                             FROM failure_reports WHERE tenant_id = $t_pgp AND id = $f")" 1
same "fallback: alert" "$(q "SELECT kind, occurrences, JSON_VALUE(detail, '$.fingerprint')
                            FROM tenant_alerts WHERE tenant_id = $t_pgp")" "pgp_key_unusable	1	$fpr_old"
arf "$tmp/fb2.eml" "pgp-$tag.example" "$mf" 93
check "fallback: encrypted at rest" 0 env DMARCD_PGP_FALLBACK=encrypted \
    DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" import --tenant pgp "$tmp/fb2.eml"
f=$(fid "$t_pgp")
same "fallback: sealed" "$(q "SELECT format FROM failure_samples WHERE tenant_id = $t_pgp
                             AND failure_id = $f")" aead
check "fallback: sealed blob readable" 0 tool read "$t_pgp" "$f"
expect "fallback: sealed blob readable" "X-Tracking-Id: $mf"
same "fallback: alert counted" "$(q "SELECT occurrences FROM tenant_alerts
                                    WHERE tenant_id = $t_pgp")" 2
same "fallback: audited once" "$(q "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $t_pgp
                                   AND action = 'tenant.alert'")" 1
no_marker "fallback" "$mf"
check "fallback: new key" 0 on tenant policy pgp pgp --pgp-key "$tmp/tenant.asc"
same "fallback: alert cleared" "$(q "SELECT COUNT(*) FROM tenant_alerts")" 0

# ---- apply the policy to stored reports ----
check "apply: encrypted to pgp" 0 on tenant policy enc pgp --pgp-key "$tmp/tenant.asc" \
    --apply-existing
expect "apply: counts" "existing failure reports: 2 re-encrypted to the OpenPGP key"
same "apply: no sealed blob left" "$(q "SELECT GROUP_CONCAT(DISTINCT format) FROM failure_samples
                                       WHERE tenant_id = $t_enc")" pgp-armor
blob_of "$t_enc" "$f_enc" "$tmp/enc.blob"
check "apply: decrypts with the tenant's key" 0 g --decrypt "$tmp/enc.blob"
expect "apply: the old report" "X-Tracking-Id: ${mk[enc]}"
check "apply: again" 0 on tenant policy enc pgp --apply-existing
expect "apply: again counts" "0 re-encrypted"
check "apply: back to encrypted" 0 on tenant policy enc encrypted --apply-existing
expect "apply: pgp blobs stay" "2 left as they are"
check "apply: none" 0 on tenant policy pgp none --apply-existing
expect "apply: none counts" "2 samples destroyed, 0 reports destroyed"
check "apply: none-drop" 0 on tenant policy pgp none-drop --apply-existing
expect "apply: none-drop counts" "0 samples destroyed, 3 reports destroyed"
same "apply: tenant pgp empty" "$(q "SELECT (SELECT COUNT(*) FROM failure_reports WHERE tenant_id = $t_pgp)
                                   + (SELECT COUNT(*) FROM failure_samples WHERE tenant_id = $t_pgp)")" 0

# every marker, once more, after all of the above
for t in enc pgp pgpbin none drop; do no_marker "final $t" "${mk[$t]}"; done

# ---- the master key file ----
chmod 644 "$keyB"
check "keyfile: world-readable refused" 2 on import --tenant enc "$tmp/rot.eml"
expect "keyfile: reason" "must not be world-readable"
chmod 600 "$keyB"
printf 'not a key\n' >"$tmp/notakey"
chmod 600 "$tmp/notakey"
check "keyfile: not a key" 2 env DMARCD_MASTER_KEY_FILE="$tmp/notakey" \
    DMARCD_DATABASE_URL="$url_base/$db" "$dmarcd" import --tenant enc "$tmp/rot.eml"
expect "keyfile: not a key reason" "a master key is 32 bytes, or 64 hex digits"

echo "test_forensic: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
