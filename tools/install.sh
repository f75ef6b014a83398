#!/usr/bin/env bash
# Create ./.venv (if missing), install torch first and on its own, then the package with all extras.
# Sourced by tools/test.sh and tools/build-book.sh; leaves the virtual environment activated.
# Environment: PYTHON (default python3), TORCH_SPEC (default torch==2.13.0),
# TORCH_INDEX (optional pip index for torch, e.g. https://download.pytorch.org/whl/cpu).
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# Torch first, so that no other requirement pulls a multi-GB CUDA build.
if [ -n "${TORCH_INDEX:-}" ]; then
  python -m pip install -q "$TORCH_SPEC" --index-url "$TORCH_INDEX"
else
  python -m pip install -q "$TORCH_SPEC"
fi
python -m pip install -q -e ".[dev]"
