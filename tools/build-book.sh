#!/usr/bin/env bash
# Build the book's HTML from the notebooks' stored outputs (nothing is re-trained).
#   bash tools/build-book.sh             the book, solutions in dropdowns   -> _build/html
#   bash tools/build-book.sh --student   the student edition, solutions hidden -> _build/student/html
# Extra arguments go to `jupyter-book build` (e.g. -W -n --keep-going). AIGC_SKIP_INSTALL=1 uses the
# active environment instead of installing into ./.venv first (tools/install.sh).
# The student edition is built from a generated config, _config.yml plus student_edition: true
# (tools/sphinx_book.py removes every solution), into its own folder, so the two builds never
# share cached pages.
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
import os
import sys

import yaml

with open("_config.yml", encoding="utf-8") as f:
    config = yaml.safe_load(f)
config["title"] = f"{config['title']} (student edition)"
sphinx = config.setdefault("sphinx", {})
# Paths of local extensions are read relative to the config file: make them absolute.
for name, path in (sphinx.get("local_extensions") or {}).items():
    sphinx["local_extensions"][name] = os.path.abspath(path)
# tools/sphinx_book.py removes the solutions; sphinx-exercise's hide_solutions would break on
# gated solutions (solution-start ... solution-end), see that file.
sphinx.setdefault("config", {})["student_edition"] = True
with open(sys.argv[1], "w", encoding="utf-8") as f:
    yaml.safe_dump(config, f, sort_keys=False, allow_unicode=True)
PY
# jupyter-book writes into <path-output>/_build/html; move it to _build/student/html.
rm -rf _build/student/_build _build/student/html
jupyter-book build . --config "$config" --path-output _build/student ${args[@]+"${args[@]}"}
mv _build/student/_build/html _build/student/html
rm -rf _build/student/_build
# The pages' download buttons serve _sources/: there, the chapters become their student copies.
python tools/make_student_copies.py --out _build/student/html/_sources/book >/dev/null
echo "open _build/student/html/index.html"
