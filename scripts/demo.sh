#!/usr/bin/env bash
# demo.sh - the newcomer's first command: installs what is missing, builds
# dmarcd, starts a private MariaDB and Redis under run/demo/, generates 90
# days of realistic demo reports and runs dmarcd on them.
#
# What runs today: the build, the local services and the report generator.
# The parser, storage, the API and the dashboard join this script as they
# land; nothing here claims more than it does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
run_dir=$root/run/demo
dmarcd=$root/build/cmd/dmarcd
reportgen=$root/build/bench/reportgen/dmarcd-reportgen

step() { printf '\n==> %s\n' "$*"; }

step "installing missing packages"
scripts/deps.sh

step "building"
scripts/build.sh "$root/build"

step "starting MariaDB and Redis (run/demo)"
scripts/services.sh start --run-dir "$run_dir"
# shellcheck source=/dev/null
source "$run_dir/env"
"$dmarcd" config check | tail -n 1

step "generating 90 days of demo reports"
rm -rf "$run_dir/reports"
"$reportgen" demo --out "$run_dir/reports" --days 90 --seed 1

echo "reports written to $run_dir/reports"

cat <<EOM

dmarcd cannot read these reports yet: the report engine, storage, the REST
API and the web dashboard are not built yet, so there is no dashboard to open
on localhost today.

MariaDB and Redis keep running for the next steps; stop them with:
  scripts/services.sh stop --run-dir run/demo
EOM
