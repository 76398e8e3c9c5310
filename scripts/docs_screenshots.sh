#!/usr/bin/env bash
# Regenerate the README's screenshots (docs/*.png) on purpose, under a real X server (Xvfb, the xcb platform):
#   bash scripts/docs_screenshots.sh
# The GUI tests otherwise write their screenshots into temporary folders and never touch docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HSI_VENV:-.venv}
if [ -z "${DISPLAY:-}" ]; then
  command -v Xvfb >/dev/null || { echo "Xvfb not found: apt-get install xvfb (or set DISPLAY)" >&2; exit 1; }
  Xvfb :97 -screen 0 1600x1000x24 >/dev/null 2>&1 &
  XVFB=$!
  trap 'kill $XVFB' EXIT
  export DISPLAY=:97
  sleep 1
fi
export QT_QPA_PLATFORM=xcb HSI_SCREENSHOT_DIR="$PWD/docs" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
"$VENV/bin/python" -m pytest -q tests/gui/test_screenshot.py \
  "tests/gui/training/test_train_wizard.py::test_wizard_trains_kill_resume_and_lists_the_model" "$@"
ls -l docs/*.png
