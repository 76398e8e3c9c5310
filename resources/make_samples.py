"""Regenerate the bundled sample data in hsi_studio/resources/samples/ (made by this project, no outside data).

- colorchecker.h5: a 31-band reflectance cube (400–700 nm) of the 24-patch ColorChecker (colour-science's
  "ColorChecker N Ohta" measured reflectances) with a soft illumination falloff and slight per-pixel noise.
- colorchecker.png: its sRGB photo (CIE 1964 10° → sRGB, D65 light), the input of the README's demo.

Run: .venv/bin/python resources/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hsi_studio.core import io
from hsi_studio.core._colour import colour
from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.spectral import STANDARD_WAVELENGTHS, camera_response, project, srgb_encode

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
    io.write_cube(cube, OUT / "colorchecker.h5")
    d65 = colour.SDS_ILLUMINANTS["D65"]
    light = np.interp(STANDARD_WAVELENGTHS, d65.wavelengths, d65.values)
    light = light / light.max()
    rgb = project(cube.data * light.astype(np.float32), camera_response("cie1964-srgb"))
    rgb = rgb / np.percentile(rgb, 99.9)
    io.write_rgb(RGBImage(srgb_encode(np.clip(rgb, 0, 1)), "srgb"), OUT / "colorchecker.png")
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
