#!/usr/bin/env bash
# Run the frozen bundle's self-test the way a user's machine would: no Python on PATH, no network, no
# display (offscreen Qt), an empty HOME. Unpacks the tar.gz first when given one.
#
#   bash packaging/self_test.sh dist/hsi-studio            # a one-folder bundle
#   bash packaging/self_test.sh dist/hsi-studio-*.tar.gz   # the archive
set -euo pipefail
TARGET="${1:-dist/hsi-studio}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
if [ -f "$TARGET" ]; then
    tar -C "$SCRATCH" -xzf "$TARGET"
    BUNDLE="$SCRATCH/hsi-studio"
else
    BUNDLE="$TARGET"
fi
mkdir -p "$SCRATCH/home"
# env -i: nothing from this shell (no VIRTUAL_ENV, PYTHONPATH, PATH to a Python); unshare -n (when allowed):
# no network at all.
NET=()
if unshare -rn true 2>/dev/null; then NET=(unshare -rn); fi
start=$(date +%s.%N)
set +e
env -i HOME="$SCRATCH/home" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 \
    "${NET[@]}" "$BUNDLE/hsi-studio" --self-test
code=$?
set -e
secs=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
isolated=false; if [ ${#NET[@]} -gt 0 ]; then isolated=true; fi
echo "self-test exit code $code in $secs s (network isolated: $isolated)"
exit $code
