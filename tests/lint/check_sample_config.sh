#!/usr/bin/env bash
# The shipped dmarcd.conf.sample must equal what `dmarcd config sample`
# prints, so the documentation of every key cannot drift from the table.
set -euo pipefail
dmarcd=${1:?usage: check_sample_config.sh DMARCD SAMPLE}
sample=${2:?}
if ! diff -u "$sample" <("$dmarcd" config sample); then
    echo "lint: $sample is out of date; regenerate with: dmarcd config sample > dmarcd.conf.sample"
    exit 1
fi
echo "lint: sample config matches the configuration table"
