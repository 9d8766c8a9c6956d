#!/usr/bin/env bash
# vendor.sh - refreshes web/vendor/ from the pinned npm packages.
#
# The dashboard has no build step: the browser loads web/ as it is, and the
# one third-party library, uPlot, is committed under vendor/ as its own dist
# files with its licence: the minified IIFE build (22 KB gzip; the ESM build
# is unminified, 42 KB) and the stylesheet. This script is how those files got there and how
# they are updated: `npm ci` of package.json + package-lock.json (exact
# versions and integrity hashes) into a scratch directory, so no node_modules
# ever lands in the web root the API serves, then a copy of the files the
# page loads. Run it after changing the version in package.json (and
# `npm install --package-lock-only` to pin it), then commit vendor/.
#
#   web/vendor.sh           copy into web/vendor/
#   web/vendor.sh --check   exit 1 if web/vendor/ differs from the packages
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac
command -v npm >/dev/null 2>&1 || {
  echo "vendor: npm not found (scripts/deps.sh --test installs it)" >&2
  exit 1
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dmarcd-web-vendor.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$scratch/"
if ! (cd "$scratch" && npm ci --no-audit --no-fund --ignore-scripts --cache "$scratch/.npm") \
  >"$scratch/npm.log" 2>&1; then
  tail -n 30 "$scratch/npm.log" >&2
  echo "vendor: npm ci failed" >&2
  exit 1
fi

# package file -> vendor file
files=(
  "uplot/dist/uPlot.iife.min.js:uPlot.iife.min.js"
  "uplot/dist/uPlot.min.css:uPlot.min.css"
  "uplot/LICENSE:uPlot.LICENSE"
)
version=$(node -p 'require(process.argv[1]).version' "$scratch/node_modules/uplot/package.json")
mkdir -p "$scratch/out"
for pair in "${files[@]}"; do
  cp "$scratch/node_modules/${pair%%:*}" "$scratch/out/${pair##*:}"
done
printf 'uPlot %s (npm package uplot, MIT licence: uPlot.LICENSE)\n' "$version" >"$scratch/out/VERSION"

if ((check)); then
  if ! diff -r "$scratch/out" "$here/vendor" >/dev/null; then
    echo "vendor: web/vendor/ differs from package-lock.json's packages: run web/vendor.sh" >&2
    exit 1
  fi
  echo "vendor: web/vendor/ matches uPlot $version"
  exit 0
fi
rm -rf "$here/vendor"
mkdir -p "$here/vendor"
cp "$scratch/out/"* "$here/vendor/"
echo "vendor: copied uPlot $version into $here/vendor"
