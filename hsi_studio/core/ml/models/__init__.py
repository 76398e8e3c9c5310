"""ULDM models — components only (forward passes): SpeUAE (stage 1), the SpaAE/RGB LDM base, the CodeRefiner,
the ULDM container (stage 2), the per-pixel regressions, the fast model's residual U-Net (``spatial``); and the
bundle format (:mod:`.bundle`, save/load functions; its ``model_index.json`` is read by
:func:`hsi_studio.core.ml.bundle_index.read_index`, torch-free). Sampling lives in :mod:`hsi_studio.core.ml.pipelines`, training losses in :mod:`hsi_studio.core.ml.training.losses`.

Imports (module level, acyclic): ``speuae`` ← ``regression``; ``rgb_base`` ← ``refiner``; ``rgb_base``,
``refiner``, ``speuae`` ← ``uldm``; ``regression``, ``speuae`` ← ``spatial``; all of them ←
``bundle``. Components never import ``bundle`` or the pipelines.
"""

from hsi_studio.core.ml.models.bundle import (
           bundle_info,
           load_base,
           load_bundle,
           load_sd_base,
           load_uldm,
           save_bundle,
           save_fast,
           save_model,
           save_regression,
           save_rgbldm,
           save_speuae,
           save_uldm,
)
from hsi_studio.core.ml.models.rgb_base import RGBLDM, expand_conv_in
from hsi_studio.core.ml.models.speuae import SpeUAE
from hsi_studio.core.ml.models.uldm import ULDM

__all__ = ["RGBLDM", "SpeUAE", "ULDM", "bundle_info", "expand_conv_in", "load_base", "load_bundle",
           "load_sd_base", "load_uldm", "save_bundle", "save_fast", "save_model", "save_regression", "save_rgbldm", "save_speuae",
           "save_uldm"]
