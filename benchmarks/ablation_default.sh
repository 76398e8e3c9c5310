#!/usr/bin/env bash
# The ablation of models/default/MODEL_CARD.md (issue 21): bash benchmarks/ablation_default.sh, from the repository root.
# Two tables from the same rows: the photo protocol (ideal observer; benchmarks/ablation.py) and the same photos
# through the 8 held-out real cameras (benchmarks/cameras.py; needs ../shared/data/cameras).
# The runs/ bundles come from git (runs/ is not in git): the models shipped before the real-camera training:
#   for m in mlp rootpoly fast default; do git archive d728bf2 models/$m | tar -x -C /tmp && mv /tmp/models/$m runs/prev2_$m; done
# the fast model the previous default was built around (shipped as models/fast until the fifth session of 2026-12-06):
#   git archive 7441294 models/fast | tar -x -C /tmp && mv /tmp/models/fast runs/prev3_fast
# and the previous default (shipped until the sixth session of 2026-12-06):
#   git archive 4a51e81 models/default | tar -x -C /tmp && mv /tmp/models/default runs/prev4_default
# The shipped default's own steps are its switches (benchmarks/ablation.py): +gain1 = the raw mean of the samples,
# +spaae = decoded by the SpaAE instead of the code head.
set -e
ROWS=(
  --row "baseline:Otsu 2018 (training-free)=physics:otsu2018"
  --row "baseline:Mallett 2019 (training-free)=physics:mallett2019"
  --row "baseline:root-polynomial, 19 CAVE=rootpoly"
  --row "baseline:MLP, 19 CAVE, half through cameras=mlp"
  --row "baseline:MLP, 19 CAVE, ideal photos (previous mlp; the fast prior)=runs/prev2_mlp"
  --row "per-pixel prior + spatial mean (fast; the default's mean)=models/fast"
  --row "+ diffusion correction, mean of 4 (SpaAE decoder, gain 1)=models/default+gain1+spaae@4/4"
  --row "+ code head (gain 1)=models/default+gain1@4/4"
  --row "+ fitted correction gain (shipped), 1 sample=models/default@1/4"
  --row "+ fitted correction gain (shipped), mean of 4=models/default@4/4"
  --row "the previous default (mean of 4)=runs/prev4_default@4/4"
  --row "the previous default's mean (fast, L1 only)=runs/prev3_fast"
)
.venv/bin/python benchmarks/ablation.py --data runs/data/cave_val/ --threads 1 "${ROWS[@]}" --json runs/ablation.json "$@"
# the camera table leaves out the one-sample row and the previous default and its mean: 9 photos per scene there
.venv/bin/python benchmarks/cameras.py --data runs/data/cave_val/ --threads 1 "${ROWS[@]:0:16}" "${ROWS[@]:18:2}" \
  --json runs/ablation_cameras.json
