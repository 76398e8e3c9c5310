#!/usr/bin/env bash
# The main job: set up (if needed), reconstruct the bundled sample photo with the shipped default ULDM on
# the CPU, and write the cube, its uncertainty, previews, a relit render and the scores against the sample's
# ground truth into out/.   Usage: bash scripts/demo.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HSI_VENV:-.venv}
OUT=${1:-out}
bash scripts/bootstrap.sh "$VENV"
HS="$VENV/bin/hsi-studio"
SAMPLES=hsi_studio/resources/samples
mkdir -p "$OUT"
echo "== the input: $SAMPLES/colorchecker.png"
"$HS" info "$SAMPLES/colorchecker.png"
echo "== reconstruct with the default ULDM (its recommended 4 solver steps × 4 samples → mean + calibrated σ)"
"$HS" reconstruct "$SAMPLES/colorchecker.png" -o "$OUT" --model default --force
echo "== its reflectance estimate (divided by the D65 the photo was taken under: white reads 1)"
"$HS" reconstruct "$SAMPLES/colorchecker.png" -o "$OUT/reflectance" --model default --reflectance --force
echo "== the same photo with the shipped learned per-pixel baseline and a training-free one, for comparison"
"$HS" reconstruct "$SAMPLES/colorchecker.png" -o "$OUT/mlp" --model mlp --force
"$HS" reconstruct "$SAMPLES/colorchecker.png" -o "$OUT/mallett2019" --model physics:mallett2019 --force
echo "== calibrate on the chart in the photo (found automatically) and write the chart report (ΔE before/after, spectra)"
"$HS" reconstruct "$SAMPLES/colorchecker.png" -o "$OUT/chart" --model default --chart auto --force
echo "== relight the reconstruction under tungsten light (CIE A), Bradford-adapted"
"$HS" relight "$OUT/colorchecker.h5" --illuminant A --adapt bradford --exposure auto -o "$OUT/colorchecker_A.png" --force
echo "== scores against the sample's measured spectra (relative radiance under D65)"
"$HS" evaluate "$OUT/colorchecker.h5" "$SAMPLES/colorchecker_radiance.h5" --ntire
echo "== the per-pixel MLP baseline against the same spectra"
"$HS" evaluate "$OUT/mlp/colorchecker.h5" "$SAMPLES/colorchecker_radiance.h5" --ntire
echo "done: see $OUT/"
