#!/usr/bin/env bash
# Build the one-folder HSI Studio bundle with PyInstaller and archive it as a tar.gz, then run its frozen
# self-test. Linux here; the same spec builds on Windows and macOS (see packaging/README.md).
#
#   bash packaging/build.sh            # → dist/hsi-studio/ and dist/hsi-studio-<version>-<os>-<arch>.tar.gz
#
# Environment: HSI_VENV (default .venv, created by scripts/bootstrap.sh), DIST (default dist),
# SKIP_SELF_TEST=1 to only build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${HSI_VENV:-.venv}"
DIST="${DIST:-dist}"
WORK="${WORK:-build/pyinstaller}"
bash scripts/bootstrap.sh "$VENV"
"$VENV/bin/python" -m pip install -q -e ".[packaging]" >&2
VERSION="$("$VENV/bin/python" -c 'import hsi_studio; print(hsi_studio.__version__)')"
ARCH="$(uname -m)"
OS="$(uname -s | tr '[:upper:]' '[:lower:]')"

start=$(date +%s)
"$VENV/bin/python" -m PyInstaller packaging/hsi-studio.spec --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK"
built=$(date +%s)
ARCHIVE="$DIST/hsi-studio-$VERSION-$OS-$ARCH.tar.gz"
tar -C "$DIST" -czf "$ARCHIVE" hsi-studio
done_at=$(date +%s)

echo "build: $((built - start)) s; archive: $((done_at - built)) s"
echo "bundle: $(du -sh "$DIST/hsi-studio" | cut -f1) ($DIST/hsi-studio), archive: $(du -sh "$ARCHIVE" | cut -f1) ($ARCHIVE)"
if [ "${SKIP_SELF_TEST:-0}" != "1" ]; then
    bash packaging/self_test.sh "$DIST/hsi-studio"
fi
