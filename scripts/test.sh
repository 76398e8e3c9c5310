#!/usr/bin/env bash
# Set up (if needed) and run the test suite: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HSI_VENV:-.venv}
bash scripts/bootstrap.sh "$VENV"
echo "[test] ruff" >&2
"$VENV/bin/ruff" check hsi_studio tests benchmarks resources
echo "[test] import contracts (.importlinter)" >&2
"$VENV/bin/lint-imports" --no-logo --no-cache
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
