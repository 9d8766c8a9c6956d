#!/usr/bin/env bash
# Checks the C sources of dmarcd for the house rules a compiler does not:
# every .c includes lib/banned.h as its last include (so the poisoned libc
# calls are really poisoned), and every .c/.h opens with a comment.
set -euo pipefail
root=${1:?usage: check_sources.sh REPO_ROOT}
cd "$root"
fail=0
checked=0
while IFS= read -r -d '' f; do
    checked=$((checked + 1))
    first=$(head -c 2 "$f")
    if [[ $first != "/*" ]]; then
        echo "lint: $f: does not open with a comment saying what it is for"
        fail=$((fail + 1))
    fi
    if [[ $f == *.c ]]; then
        last_include=$(grep -E '^#include ' "$f" | tail -n 1 || true)
        if [[ $last_include != *'banned.h"' ]]; then
            echo "lint: $f: last #include must be banned.h (found: ${last_include:-none})"
            fail=$((fail + 1))
        fi
    fi
done < <(find lib cmd ingest parser storage api bench tests -name '*.[ch]' -print0 2>/dev/null)
echo "lint: checked $checked files, $fail problem(s)"
[[ $fail -eq 0 ]]
