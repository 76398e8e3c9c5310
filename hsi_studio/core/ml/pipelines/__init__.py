"""Inference pipelines (diffusers' split: :mod:`hsi_studio.core.ml.models` holds the components and their forward
passes; a pipeline runs them on an input).

- :mod:`.checks` — the sampling options (:data:`SCHEDULERS`, :data:`PRECISIONS`) and their checks, the RGB input
  check (no torch import: the CLI's ``--help`` uses them);
- :mod:`.base_pipeline` — :class:`~.base_pipeline.ModelPipeline`: the model run and its wavelengths and response;
- :mod:`.tiling` — overlapping tiles blended with ramps (numpy only);
- :mod:`.uldm_pipeline` — :class:`~.uldm_pipeline.ULDMPipeline`: solver, sampling, K samples → mean and per-pixel std;
- :mod:`.regression_pipeline` — :class:`~.regression_pipeline.RegressionPipeline` for the per-pixel baselines;
- :mod:`.spatial_pipeline` — :class:`~.spatial_pipeline.SpatialPipeline` for the fast model (a residual U-Net over a per-pixel prior).

The high-level entry point (model choice, device fallback, progress) is :func:`hsi_studio.core.ml.reconstruct.reconstruct`.
"""

from hsi_studio.core.ml.pipelines.checks import PRECISIONS, SCHEDULERS, check_rgb, check_sampling

__all__ = ["PRECISIONS", "SCHEDULERS", "check_rgb", "check_sampling"]
