#!/usr/bin/env bash
# Install everything into ./.venv and run every test: ruff, unit tests (with coverage), the book's
# notebooks under nbval (strict, quick mode), and a warnings-as-errors build of the book.
# This is the README's test command; .ci/run runs exactly this.
#
# Environment: see tools/install.sh (PYTHON, TORCH_SPEC, TORCH_INDEX) and
# AIGC_DATA_DIR (a folder with MNIST IDX files; CI points it at ../shared/data/mnist).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
junit=$(mktemp -d)  # pytest's junit reports, for the browser tests' summary line
trap 'rm -rf "$junit"' EXIT
. tools/install.sh

export MPLBACKEND=Agg
echo "== style (ruff lint and format; seconds, before minutes of tests)"
ruff check .
ruff format --check .

echo "== unit tests (with the interactive figures' browser tests, where Chromium is installed)"
python -m pytest tests -q --cov=aigc_course --cov-report=term --cov-fail-under=90 \
  --junitxml="$junit/unit.xml"
if ! command -v chromedriver >/dev/null 2>&1 || ! python -c "import selenium" 2>/dev/null \
  || ! command -v chromium chromium-browser google-chrome google-chrome-stable >/dev/null 2>&1; then
  echo "NOTE: the browser tests (tests/test_interactive_browser.py, test_built_book_browser.py) are SKIPPED: no Chromium,"
  echo "      chromedriver or selenium here (apt-get install chromium chromium-driver; .ci/run installs them)"
fi

echo "== Chinese edition's text layer (tools/zh.py check: errors fail, stale blocks are listed)"
python tools/zh.py check

echo "== notebooks (pytest --nbval, quick mode)"
AIGC_QUICK=1 python -m pytest --nbval book -q -p no:cacheprovider \
  --nbval-current-env --nbval-sanitize-with book/nbval-sanitize.cfg

echo "== jupytext twins in sync"
python tools/check_twins.py book

echo "== workflows (actionlint)"
bash tools/actionlint.sh

echo "== book build, English and Chinese editions (warnings are errors)"
rm -rf _build/html
AIGC_SKIP_INSTALL=1 bash tools/build-book.sh -W -n --keep-going
python -m pytest tests/test_zh_search.py -q -p no:cacheprovider

echo "== the built book in a real browser (screenshots in ${AIGC_SCREENSHOTS:-/tmp/aigc-screenshots})"
AIGC_BUILT_BOOK=_build/html python -m pytest tests/test_built_book_browser.py -q -p no:cacheprovider \
  --no-cov -rs --junitxml="$junit/built.xml"
python - "$junit/unit.xml" test_interactive_browser "$junit/built.xml" test_built_book_browser <<'PY'
import sys
import xml.etree.ElementTree as ET

# each file counted in its own run (the unit run skips the built-book file by design)
pairs = list(zip(sys.argv[1::2], sys.argv[2::2], strict=True))
counts = {"passed": 0, "skipped": 0, "failed": 0}
kinds = {"skipped": "skipped", "failure": "failed", "error": "failed"}
for report, name in pairs:
    for case in ET.parse(report).iter("testcase"):
        if case.get("classname", "").split(".")[-1] == name:
            tags = [kinds[c.tag] for c in case if c.tag in kinds]
            counts[tags[0] if tags else "passed"] += 1
names = ", ".join(name + ".py" for _, name in pairs)
print(f"browser tests ({names}): {counts['passed']} passed, {counts['skipped']} skipped, "
      f"{counts['failed']} failed")
PY

echo "all tests passed in $(( $(date +%s) - start )) s"
