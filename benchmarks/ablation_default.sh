#!/usr/bin/env bash
# The ablation of models/default/MODEL_CARD.md (issue 21): bash benchmarks/ablation_default.sh, from the repository root.
# The runs/ bundles are made by the commands in the model cards (runs/ is not in git); the previous shipped fits
# (20 CAVE scenes, with the chart scene) come from git: for m in mlp rootpoly fast default; do
#   git archive 27f96c9 models/$m | tar -x -C /tmp && mv /tmp/models/$m runs/prev_$m; done
.venv/bin/python benchmarks/ablation.py --data runs/data/cave_val/ --threads 1 \
  --row "baseline:Otsu 2018 (training-free)=physics:otsu2018" \
  --row "baseline:Mallett 2019 (training-free)=physics:mallett2019" \
  --row "baseline:root-polynomial, 19 chart-free CAVE=rootpoly" \
  --row "baseline:MLP, 19 chart-free CAVE=mlp" \
  --row "baseline:root-polynomial, 20 CAVE=runs/prev_rootpoly" \
  --row "baseline:MLP, 20 CAVE=runs/prev_mlp" \
  --row "per-pixel prior + spatial mean (fast)=models/fast" \
  --row "the previous fast (20 CAVE)=runs/prev_fast" \
  --row "+ diffusion correction, 1 sample=models/default@1/4" \
  --row "+ diffusion correction, mean of 4 (shipped)=models/default@4/4" \
  --row "the first corrective default (mean of 4)=runs/prev_default@4/4" \
  --json runs/ablation.json "$@"
