#!/usr/bin/env bash
# Build the book's HTML from the notebooks' stored outputs (nothing is re-trained).
#   bash tools/build-book.sh             the book, solutions in dropdowns   -> _build/html
#   bash tools/build-book.sh --student   the student edition, solutions hidden -> _build/student/html
# Extra arguments go to `jupyter-book build` (e.g. -W -n --keep-going).
# The student edition is built from a generated config, _config.yml plus sphinx-exercise's
# hide_solutions, into its own folder, so the two builds never share cached pages.
set -euo pipefail
cd "$(dirname "$0")/.."

student=0
args=()
for arg in "$@"; do
  case "$arg" in
    --student) student=1 ;;
    *) args+=("$arg") ;;
  esac
done

[ "${AIGC_SKIP_INSTALL:-0}" = 1 ] || . tools/install.sh

if [ "$student" = 0 ]; then
  jupyter-book build . ${args[@]+"${args[@]}"}
  echo "open _build/html/index.html"
  exit 0
fi

mkdir -p _build/student
config=_build/student/_config.yml
python - "$config" <<'PY'
import sys

import yaml

with open("_config.yml", encoding="utf-8") as f:
    config = yaml.safe_load(f)
config["title"] = f"{config['title']} (student edition)"
sphinx = config.setdefault("sphinx", {})
sphinx.setdefault("config", {})["hide_solutions"] = True
with open(sys.argv[1], "w", encoding="utf-8") as f:
    yaml.safe_dump(config, f, sort_keys=False, allow_unicode=True)
PY
# jupyter-book writes into <path-output>/_build/html; move it to _build/student/html.
rm -rf _build/student/_build _build/student/html
jupyter-book build . --config "$config" --path-output _build/student ${args[@]+"${args[@]}"}
mv _build/student/_build/html _build/student/html
rm -rf _build/student/_build
echo "open _build/student/html/index.html"
