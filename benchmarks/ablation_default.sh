#!/usr/bin/env bash
# The ablation of models/default/MODEL_CARD.md (issue 21): bash benchmarks/ablation_default.sh, from the repository root.
# The runs/r21/* bundles are made by the commands in the model card (runs/ is not in git).
.venv/bin/python benchmarks/ablation.py --data runs/data/cave_val/ --threads 1 \
  --row "baseline:Otsu 2018 (training-free)=physics:otsu2018" \
  --row "baseline:Mallett 2019 (training-free)=physics:mallett2019" \
  --row "baseline:root-polynomial, 20 CAVE=rootpoly" \
  --row "baseline:MLP, 20 CAVE=mlp" \
  --row "baseline:root-polynomial, 19 CAVE + 50% gen.=runs/r21/rootpoly_mix" \
  --row "baseline:MLP, 19 CAVE + 50% generated=runs/r21/mlp_mix" \
  --row "baseline:MLP, 19 CAVE + 20% generated=runs/r21/mlp_mix0.2" \
  --row "baseline:MLP, 19 CAVE=runs/r21/mlp_cave19" \
  --row "previous default ULDM (8 steps x 1)=runs/r21/old_default@1/8" \
  --row "per-pixel prior + spatial mean (fast)=models/fast" \
  --row "+ diffusion correction, 1 sample=runs/r21/s2corr/model@1/4" \
  --row "+ diffusion correction, mean of 4=runs/r21/s2corr/model@4/4" \
  --row "+ 500 more steps, mean of 4=runs/r21/s2corr2/model@4/4" \
  --row "+ 500 more steps, mean of 8=runs/r21/s2corr2/model@8/4" \
  --json runs/r21/final_ablation.json "$@"
