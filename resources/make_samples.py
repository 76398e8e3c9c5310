"""Regenerate the bundled sample data in hsi_studio/resources/samples/ (made by this project, no outside data).

- colorchecker_radiance.h5: the 31-band radiance (400–700 nm) of the 24-patch ColorChecker (colour-science's
  "ColorChecker N Ohta" measured reflectances, soft illumination falloff, slight noise) under D65, scaled to
  the photo's exposure — the ground truth of the photo below.
- colorchecker.png: its 8-bit sRGB photo (CIE 1964 10° → sRGB), the input of the README's demo.

Run: .venv/bin/python resources/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.io import api as io
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, camera_response, project, srgb_encode

OUT = Path(__file__).resolve().parents[1] / "hsi_studio" / "resources" / "samples"
PATCH, GAP = 20, 4


def colorchecker_cube(seed: int = 0) -> HSCube:
    rng = np.random.default_rng(seed)
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    rows, cols = 4, 6
    h, w = rows * (PATCH + GAP) + GAP, cols * (PATCH + GAP) + GAP
    cube = np.full((h, w, 31), 0.03, dtype=np.float64)  # dark surround
    for i, sd in enumerate(sds.values()):
        r, c = divmod(i, cols)
        refl = np.interp(STANDARD_WAVELENGTHS, sd.wavelengths, sd.values)
        top, left = GAP + r * (PATCH + GAP), GAP + c * (PATCH + GAP)
        cube[top : top + PATCH, left : left + PATCH] = refl
    yy, xx = np.mgrid[0:h, 0:w]
    falloff = 1.0 - 0.15 * (((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2) * 4
    cube *= falloff[:, :, None]
    cube *= 1.0 + 0.01 * rng.standard_normal(cube.shape)
    return HSCube(np.clip(cube, 0, 1).astype(np.float32), STANDARD_WAVELENGTHS,
                  {"description": "ColorChecker N Ohta reflectances (colour-science), HSI Studio sample"},
                  kind="reflectance")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cube = colorchecker_cube()
    d65 = colour.SDS_ILLUMINANTS["D65"]
    light = np.interp(STANDARD_WAVELENGTHS, d65.wavelengths, d65.values).astype(np.float32)
    radiance = cube.data * (light / light.max())
    rgb = project(radiance, camera_response("cie1964-srgb"))
    scale = 1.0 / float(np.percentile(rgb, 99.9))
    radiance *= scale
    meta = {"description": "ColorChecker N Ohta (colour-science) under D65, HSI Studio sample",
            "exposure": "scaled so the photo's 99.9th-percentile linear RGB is 1"}
    io.write_cube(HSCube(radiance, STANDARD_WAVELENGTHS, meta, kind="radiance"), OUT / "colorchecker_radiance.h5")
    io.write_rgb(RGBImage(srgb_encode(np.clip(rgb * scale, 0, 1)), "srgb"), OUT / "colorchecker.png")
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
