#!/usr/bin/env bash
# Create or update the project's virtual environment (idempotent; re-installs only when the dependency
# spec changed). Usage: bash scripts/bootstrap.sh [VENV_DIR]   (default: .venv, or $HSI_VENV)
# CPU machines get torch 2.13.0 CPU from the exact pin in pyproject.toml; see README for CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${HSI_VENV:-.venv}}
PY=${PYTHON:-python3}
stamp_want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
stamp_file="$VENV/.hsi-deps-$stamp_want"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp_file" ]; then
  echo "[bootstrap] installing dependencies into $VENV (torch 2.13.0, PySide6-Essentials 6.11.3, ...)" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2 || true
  # torch first: the exact pin resolves to the local CPU wheel here (a range would pull a CUDA build).
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q "torch==2.13.0" >&2
  fi
  "$VENV/bin/python" -m pip install -q -e ".[dev]" >&2
  rm -f "$VENV"/.hsi-deps-* && touch "$stamp_file"
else
  # Re-point the editable install at this checkout (cheap; matters for a cached venv used by a new clone).
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . >&2 2>/dev/null \
    || "$VENV/bin/python" -m pip install -q --no-deps -e . >&2
fi
echo "[bootstrap] ready: $VENV" >&2
