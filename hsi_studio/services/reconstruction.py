"""Reconstruction jobs: RGB → cube (``core.ml.reconstruct``, which imports torch only when a learned model runs) and
the accelerators torch can use. Comparison with a ground truth is :mod:`.comparison`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress
from hsi_studio.core.ml.reconstruct import (  # torch-free: the models folder and what a bundle is and recommends
    bundle_class,
    default_model_path,
    model_defaults,
)
from hsi_studio.services.files import preview_render


@dataclass
class Reconstruction:
    cube: HSCube
    std: HSCube | None = None
    model: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    render: np.ndarray | None = None


def reconstruct(rgb: RGBImage, model: str, *, steps: int = 8, samples: int = 1, seed: int = 0,
                device: str = "auto", progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> Reconstruction:
    """RGB → cube with ``core.ml.reconstruct.reconstruct`` (a learned model or a ``physics:`` baseline), rendered. A
    photo over :data:`~.estimate.LARGE_PHOTO_PIXELS` is streamed tile by tile into a temporary file the result
    maps (:func:`.reconstruct_stream.reconstruct_mapped`): the same values, without the cube in RAM."""
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.services.estimate import gui_streams

    if gui_streams(rgb.height, rgb.width):  # a large photo: streamed into a mapped temporary file, not RAM
        from hsi_studio.services.reconstruct_stream import reconstruct_mapped

        out = Reconstruction(*reconstruct_mapped(rgb, model, steps=steps, samples=samples, seed=seed,
                                                 device=device, progress=progress, cancel=cancel))
    else:
        res = pipeline.reconstruct(rgb, model, steps=steps, samples=samples, seed=seed, device=device,
                                   progress=progress, cancel=cancel)
        out = Reconstruction(res.cube, res.std, str(res.model), str(res.device), float(res.seconds),
                             list(res.messages))
    cancel.check()
    out.render = preview_render(out.cube)
    return out


def probe_devices(progress=no_progress, cancel: CancelToken = NEVER_CANCEL) -> list[tuple[str, str]]:
    """(device, description) for each accelerator torch can use; [] when there is none (or no torch).
    Imports torch: run it on a worker, never at start-up."""
    from hsi_studio.core.ml import devices

    return devices.accelerators()


__all__ = ["Reconstruction", "bundle_class", "default_model_path", "model_defaults", "probe_devices", "reconstruct"]
