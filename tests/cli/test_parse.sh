#!/usr/bin/env bash
# End-to-end tests of `dmarcd parse`: output formats, directories and
# standard input, one failing part never hiding the others, and hostile
# inputs (gzip and zip bombs, billion laughs, XXE, deep nesting, truncated
# streams) refused with the right error code. Hostile files are made at run
# time. Usage: test_parse.sh PATH/TO/dmarcd TESTS_DATA_DIR
set -uo pipefail
dmarcd=${1:?usage: test_parse.sh DMARCD DATA_DIR}
data=${2:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
    sed 's/^/    out: /' "$tmp/out" | head -20
    sed 's/^/    err: /' "$tmp/err" | head -20
}

# run EXPECTED_STATUS ARGS...: dmarcd parse ARGS, output in $tmp/out and $tmp/err
run() {
    local want=$1
    shift
    "$dmarcd" parse "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    [[ $got -eq $want ]] && ok || bad "dmarcd parse $*: exit $got, expected $want"
}
has_out() { grep -Eq -- "$1" "$tmp/out" && ok || bad "stdout lacks /$1/"; }
has_err() { grep -Eq -- "$1" "$tmp/err" && ok || bad "stderr lacks /$1/"; }
json_ok() {
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    json.loads(line)' "$tmp/out" && ok || bad "output is not valid JSON lines"
}

xml=$data/aggregate/rfc7489.xml

# formats
run 0 --format ndjson "$xml"
json_ok
has_out '"kind":"aggregate","format":"rfc7489"'
has_out '"report_id":"1234567890123456789"'
run 0 "$xml"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, list) and len(d) == 1' \
    "$tmp/out" && ok || bad "json format is not an array of one report"
run 0 --format csv "$xml"
has_out '^file,part,org_name,report_id,begin,end,policy_domain,source_ip,count'
[[ $(wc -l <"$tmp/out") -ge 2 ]] && ok || bad "csv has no record rows"
run 0 --format count "$xml"
has_out '^aggregate records=[0-9]+ messages=[0-9]+ warnings=[0-9]+ file="'
run 2 --format yaml "$xml"
run 2

# standard input and compressed input
gzip -c "$xml" >"$tmp/r.xml.gz"
"$dmarcd" parse --format count - <"$tmp/r.xml.gz" >"$tmp/out" 2>"$tmp/err" && ok || bad "stdin gzip"
has_out 'file="-" part="gunzip"'
gzip -c "$tmp/r.xml.gz" >"$tmp/r.xml.gz.gz"
run 0 --format count "$tmp/r.xml.gz.gz"
has_out 'part="gunzip > gunzip"'

# a directory: every report, in name order; a failing file does not stop the rest
mkdir -p "$tmp/dir/sub"
cp "$xml" "$tmp/dir/a.xml"
cp "$tmp/r.xml.gz" "$tmp/dir/sub/b.gz"
printf 'hello, not a report\n' >"$tmp/dir/c.txt"
run 1 --format count "$tmp/dir"
[[ $(grep -c '^aggregate' "$tmp/out") -eq 2 ]] && ok || bad "directory: expected 2 reports"
has_err "c.txt: not_report: "

# one bad attachment in a mail never loses the good one
head -c 100 "$tmp/r.xml.gz" >"$tmp/cut.gz"
{
    printf 'From: reports@mail.example\nTo: dmarc@example.org\nSubject: Report\n'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
    printf -- '--b\nContent-Type: text/plain\n\nA report.\n'
    printf -- '--b\nContent-Type: application/gzip; name="good.xml.gz"\nContent-Transfer-Encoding: base64\n\n'
    base64 "$tmp/r.xml.gz"
    printf -- '--b\nContent-Type: application/gzip; name="cut.xml.gz"\nContent-Transfer-Encoding: base64\n\n'
    base64 "$tmp/cut.gz"
    printf -- '--b--\n'
} >"$tmp/mail.eml"
run 1 --format count "$tmp/mail.eml"
has_out 'part="part 2 \(good.xml.gz\) > gunzip"'
has_err 'part 3 \(cut.xml.gz\).*: truncated: '

# hostile inputs
head -c 300000000 /dev/zero | gzip -1 >"$tmp/bomb.gz"
run 1 --format count "$tmp/bomb.gz"
has_err 'bomb.gz: .*(ratio|too_big): '
python3 - "$tmp/bomb.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("report.xml", "w") as f:
        block = b"\0" * (1 << 20)
        for _ in range(300):
            f.write(block)
PY
run 1 --format count "$tmp/bomb.zip"
has_err 'bomb.zip: .*(ratio|too_big): '
cat >"$tmp/laughs.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE feedback [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<feedback><report_metadata><org_name>&d;</org_name></report_metadata></feedback>
XML
run 1 --format count "$tmp/laughs.xml"
has_err 'laughs.xml: xml_forbidden: '
cat >"$tmp/xxe.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE feedback [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>
<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>
XML
run 1 --format ndjson "$tmp/xxe.xml"
has_err 'xxe.xml: xml_forbidden: '
grep -q 'root:' "$tmp/out" "$tmp/err" && bad "XXE leaked /etc/passwd" || ok
{
    printf '<feedback>'
    for _ in $(seq 10000); do printf '<a>'; done
} >"$tmp/deep.xml"
run 1 --format count "$tmp/deep.xml"
has_err 'deep.xml: too_deep: '
head -c 1000 "$tmp/bomb.gz" >"$tmp/truncated.gz"
run 1 --format count "$tmp/truncated.gz"
has_err 'truncated.gz: .*truncated: '
: >"$tmp/empty.xml"
run 1 --format count "$tmp/empty.xml"
has_err 'empty.xml: not_report: '

echo "parse: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
