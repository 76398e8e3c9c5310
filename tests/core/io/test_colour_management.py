"""Colour-managed photo input: ICC profiles built here (Display P3, Adobe RGB, a gamma-1.8 ProPhoto-like one)
are converted to linear sRGB as LittleCMS would, a P3 photo reconstructs to the same cube as its sRGB
conversion, wide-gamut colours are kept, 16-bit PNGs keep their precision, and the colour space is reported."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from hsi_studio.core.io import api as io
from hsi_studio.core.io import profiles as colour_management
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.responses import srgb_decode, srgb_encode


# ---------------------------------------------------------------------------------------------------------
# A minimal ICC v2 matrix/TRC display profile, written from a colour space's primaries (test data only)
# ---------------------------------------------------------------------------------------------------------
def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def _curve_tag(space: str) -> bytes:
    if space == "gamma":
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(round(563 / 256 * 256)))
    if space == "gamma18":
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(round(1.8 * 256)))
    v = np.linspace(0, 1, 1024)
    lin = srgb_decode(v.astype(np.float32)).astype(np.float64)
    table = np.round(lin * 65535).astype(">u2").tobytes()
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + table


def make_profile(space_name: str, curve: str, description: str) -> bytes:
    space = colour.RGB_COLOURSPACES[space_name]
    d50 = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"])
    cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(colour.xy_to_XYZ(space.whitepoint), d50,
                                                                 transform="Bradford")
    cols = cat @ space.matrix_RGB_to_XYZ  # columns: the primaries' PCS XYZ (D50)
    tags = [(b"desc", _desc_tag(description)), (b"wtpt", _xyz_tag([0.9642, 1.0, 0.8249])),
            (b"rXYZ", _xyz_tag(cols[:, 0])), (b"gXYZ", _xyz_tag(cols[:, 1])), (b"bXYZ", _xyz_tag(cols[:, 2]))]
    trc = _curve_tag(curve)
    tags += [(b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc), (b"cprt", b"text" + b"\0" * 4 + b"public\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + body


P3 = make_profile("Display P3", "srgb", "Display P3 (test)")
ADOBE = make_profile("Adobe RGB (1998)", "gamma", "Adobe RGB (test)")
PROPHOTO = make_profile("ProPhoto RGB", "gamma18", "ProPhoto-like (test)")


def littlecms_srgb(arr8: np.ndarray, icc: bytes) -> np.ndarray:
    from io import BytesIO

    out = ImageCms.profileToProfile(Image.fromarray(arr8, "RGB"), ImageCms.ImageCmsProfile(BytesIO(icc)),
                                    ImageCms.createProfile("sRGB"),
                                    renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB")
    return np.asarray(out)


def to_space(srgb_linear: np.ndarray, name: str) -> np.ndarray:
    """Encoded values in another space of in-gamut linear sRGB colours (colour-science's own conversion)."""
    return colour.RGB_to_RGB(srgb_linear, colour.RGB_COLOURSPACES["sRGB"], colour.RGB_COLOURSPACES[name],
                             chromatic_adaptation_transform="Bradford", apply_cctf_encoding=True)


@pytest.mark.parametrize("icc, name", [(P3, "Display P3"), (ADOBE, "Adobe RGB (1998)"), (PROPHOTO, None)])
def test_matrix_profiles_convert_in_float_like_littlecms(icc, name):
    conv = colour_management.conversion_for(icc)
    assert conv.kind == "matrix"
    if name:
        assert conv.label.startswith(name)
    rng = np.random.default_rng(0)
    arr8 = rng.integers(50, 206, (16, 16, 3), dtype=np.uint8)
    ours, encoding, meta = colour_management.manage(arr8, icc)
    assert encoding == "linear" and "→ linear sRGB" in meta["colour_space"]
    lcms = littlecms_srgb(arr8, icc).astype(np.float64) / 255
    inside = np.all((ours >= 0) & (ours <= 1), axis=-1)  # LittleCMS clips the rest
    assert inside.mean() > 0.3
    np.testing.assert_allclose(srgb_encode(ours)[inside], lcms[inside], atol=2.5 / 255)


def test_p3_photo_reconstructs_like_its_srgb_conversion(tmp_path):
    rng = np.random.default_rng(1)
    lin = rng.uniform(0.03, 0.8, (6, 8, 3))
    lin = np.repeat(np.repeat(lin, 4, axis=0), 4, axis=1)  # 24×32 flat patches
    srgb8 = np.round(srgb_encode(lin.astype(np.float32)) * 255).astype(np.uint8)
    p3_8 = np.round(np.clip(to_space(srgb_decode(srgb8 / 255.0), "Display P3"), 0, 1)
                    * 255).astype(np.uint8)
    Image.fromarray(srgb8).save(tmp_path / "srgb.png")
    Image.fromarray(p3_8).save(tmp_path / "p3.png", icc_profile=P3)
    a, b = io.read_rgb(tmp_path / "srgb.png"), io.read_rgb(tmp_path / "p3.png")
    assert b.encoding == "linear" and b.colour_space.startswith("Display P3")
    assert a.colour_space.startswith("sRGB")
    # the same colours within 8-bit quantisation of either file
    np.testing.assert_allclose(b.data, srgb_decode(a.data), atol=0.006)
    from hsi_studio.core.ml import reconstruct as pipeline

    # the shipped default and a smooth training-free method (Otsu's cluster tables jump between neighbours)
    # (the default draws samples: an input change of one 8-bit level moves a pixel's mean of 4 samples by up to a
    # few hundredths — well within its calibrated σ, 0.074 on average here — so its largest difference is held
    # to 0.05)
    for model, largest in (("default", 0.05), ("physics:mallett2019", 0.02)):
        ca = pipeline.reconstruct(a, model).cube.data
        cb = pipeline.reconstruct(b, model).cube.data
        assert np.abs(ca - cb).max() < largest and np.abs(ca - cb).mean() < 0.003, model


def test_wide_gamut_colours_are_kept_and_reconstruct(tmp_path):
    arr = np.zeros((8, 8, 3), np.uint8)
    arr[:4] = (0, 255, 0)  # P3's own green: outside sRGB
    arr[4:] = (128, 128, 128)
    Image.fromarray(arr).save(tmp_path / "green.png", icc_profile=P3)
    img = io.read_rgb(tmp_path / "green.png")
    g = img.data[0, 0]
    assert g[0] < -0.05 and g[1] > 1.0 and img.metadata["out_of_srgb_gamut"] == pytest.approx(0.5)
    np.testing.assert_allclose(img.data[6, 6], srgb_decode(np.float32(128 / 255)), atol=2e-3)  # grey stays grey
    from hsi_studio.core.ml import reconstruct as pipeline

    cube = pipeline.reconstruct(img, "mlp").cube
    assert np.isfinite(cube.data).all() and cube.data.min() >= 0


def test_untagged_and_srgb_tagged_photos_are_unchanged(tmp_path):
    rng = np.random.default_rng(2)
    arr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "plain.png")
    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(arr).save(tmp_path / "tagged.png", icc_profile=srgb_icc)
    for name in ("plain.png", "tagged.png"):
        img = io.read_rgb(tmp_path / name)
        assert img.encoding == "srgb"
        np.testing.assert_array_equal(np.round(img.data * 255).astype(np.uint8), arr)
    assert io.read_rgb(tmp_path / "plain.png").colour_space.startswith("sRGB (assumed")


def test_sixteen_bit_png_keeps_full_precision_with_a_profile(tmp_path):
    ramp = (np.arange(64 * 3, dtype=np.uint32).reshape(8, 8, 3) * 337 % 65536).astype(np.uint16)
    import tifffile

    tifffile.imwrite(tmp_path / "p3_16.tif", ramp, photometric="rgb", iccprofile=P3)
    img = io.read_rgb(tmp_path / "p3_16.tif")
    assert img.bit_depth == 16 and img.encoding == "linear"
    expect = colour.RGB_to_RGB(ramp / 65535.0, colour.RGB_COLOURSPACES["Display P3"], colour.RGB_COLOURSPACES["sRGB"],
                               chromatic_adaptation_transform="Bradford", apply_cctf_decoding=True)
    np.testing.assert_allclose(img.data, np.clip(expect, -0.5, 1.5), atol=2e-3)


def test_info_reports_the_colour_space(tmp_path, capsys):
    from hsi_studio.cli import main

    Image.fromarray(np.full((4, 4, 3), 100, np.uint8)).save(tmp_path / "p3.jpg", icc_profile=P3)
    assert main(["info", str(tmp_path / "p3.jpg"), "--json"]) == 0
    import json

    info = json.loads(capsys.readouterr().out)
    assert info["colour_space"].startswith("Display P3") and info["encoding"] == "linear"


def test_damaged_profile_is_ignored_with_a_warning(tmp_path):
    arr = np.full((4, 4, 3), 90, np.uint8)
    Image.fromarray(arr).save(tmp_path / "bad.png", icc_profile=b"garbage" * 20)
    with pytest.warns(UserWarning, match="ICC"):
        img = io.read_rgb(tmp_path / "bad.png")
    assert img.encoding == "srgb" and "ignored" in img.colour_space
