#!/usr/bin/env bash
# Build the book's HTML into _build/html from the notebooks' stored outputs (nothing is re-trained).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/install.sh
jupyter-book build .
echo "open _build/html/index.html"
