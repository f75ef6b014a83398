#!/usr/bin/env bash
# Build the book's HTML from the notebooks' stored outputs (nothing is re-trained).
#   bash tools/build-book.sh             the book, solutions in dropdowns   -> _build/html
#   bash tools/build-book.sh --student   the student edition, solutions hidden -> _build/student/html
#   bash tools/build-book.sh --en-only   only the English book -> _build/html
#   bash tools/build-book.sh --zh-only   only the Chinese edition (中文版) -> _build/html/zh
# Without --*-only, both editions are built: the Chinese one from the project that
# `python tools/zh.py build` generates in _build/zh-src (the English notebooks with the zh/ text;
# see tools/zh.py), into _build/html/zh. The Chinese notebooks (_build/html/zh/_sources/book/)
# are what the zh pages' launch buttons open, from the zh-notebooks branch (.github/workflows/book.yml).
# Extra arguments go to `jupyter-book build` (e.g. -W -n --keep-going). AIGC_SKIP_INSTALL=1 uses the
# active environment instead of installing into ./.venv first (tools/install.sh).
# The student edition is built from a generated config, _config.yml plus student_edition: true
# (tools/sphinx_book.py removes every solution), into its own folder, so the two builds never
# share cached pages.
set -euo pipefail
cd "$(dirname "$0")/.."

student=0
en=1
zh=1
args=()
for arg in "$@"; do
  case "$arg" in
    --student) student=1 ;;
    --en-only) zh=0 ;;
    --zh-only) en=0 ;;
    *) args+=("$arg") ;;
  esac
done

[ "${AIGC_SKIP_INSTALL:-0}" = 1 ] || . tools/install.sh

if [ "$student" = 0 ]; then
  if [ "$en" = 1 ]; then
    jupyter-book build . ${args[@]+"${args[@]}"}
    echo "open _build/html/index.html"
  fi
  if [ "$zh" = 1 ]; then
    # Generated project and its own doctree cache (_build/zh-out), so the editions never share
    # cached pages; the HTML goes to _build/html/zh, where the English pages' switch points.
    python tools/zh.py build --out _build/zh-src
    jupyter-book build _build/zh-src --path-output _build/zh-out ${args[@]+"${args[@]}"}
    rm -rf _build/html/zh
    mkdir -p _build/html
    cp -r _build/zh-out/_build/html _build/html/zh
    echo "open _build/html/zh/index.html"
  fi
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
# The student edition lives under /student/: its language switch goes up to the site's /zh/.
sphinx["config"]["aigc_language_switch"] = {"label": "中文", "prefix": "../zh/"}
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
