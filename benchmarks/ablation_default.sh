#!/usr/bin/env bash
# The ablation of models/default/MODEL_CARD.md (issue 21): bash benchmarks/ablation_default.sh, from the repository root.
# Two tables from the same rows: the photo protocol (ideal observer; benchmarks/ablation.py) and the same photos
# through the 8 held-out real cameras (benchmarks/cameras.py; needs ../shared/data/cameras).
# The runs/ bundles come from git (runs/ is not in git): the models shipped before the real-camera training:
#   for m in mlp rootpoly fast default; do git archive d728bf2 models/$m | tar -x -C /tmp && mv /tmp/models/$m runs/prev2_$m; done
# and the fast model the default was built around (shipped as models/fast until the fifth session of 2026-12-06):
#   git archive 7441294 models/fast | tar -x -C /tmp && mv /tmp/models/fast runs/prev3_fast
set -e
ROWS=(
  --row "baseline:Otsu 2018 (training-free)=physics:otsu2018"
  --row "baseline:Mallett 2019 (training-free)=physics:mallett2019"
  --row "baseline:root-polynomial, 19 CAVE=rootpoly"
  --row "baseline:MLP, 19 CAVE, half through cameras=mlp"
  --row "baseline:MLP, 19 CAVE, ideal photos (previous mlp; the fast prior)=runs/prev2_mlp"
  --row "per-pixel prior + spatial mean (L1; the default's mean)=runs/prev3_fast"
  --row "spatial mean, L1 + SAM term (fast, shipped)=models/fast"
  --row "the previous fast (32 ch, ideal photos)=runs/prev2_fast"
  --row "+ diffusion correction, 1 sample=models/default@1/4"
  --row "+ diffusion correction, mean of 4 (shipped)=models/default@4/4"
  --row "the previous default (mean of 4)=runs/prev2_default@4/4"
)
.venv/bin/python benchmarks/ablation.py --data runs/data/cave_val/ --threads 1 "${ROWS[@]}" --json runs/ablation.json "$@"
# the camera table leaves out the two slowest rows (one sample; the previous default): 9 photos per scene there
.venv/bin/python benchmarks/cameras.py --data runs/data/cave_val/ --threads 1 "${ROWS[@]:0:16}" "${ROWS[@]:18:2}" \
  --json runs/ablation_cameras.json
