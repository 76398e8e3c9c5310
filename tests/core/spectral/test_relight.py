"""Relighting: the render equals colour-science's per-pixel path, whites stay white, the ColorChecker renders
to its colorimetric sRGB, every catalogue illuminant works, reflectance estimation, ΔE2000 maps, the CLI."""

import json

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError, ShapeError
from hsi_studio.core.spectral import relight
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import resample_spectra, srgb_encode

CIE1931 = "CIE 1931 2 Degree Standard Observer"
CIE1964 = "CIE 1964 10 Degree Standard Observer"


@pytest.fixture(autouse=True)
def _quiet_colour():
    from hsi_studio.core.spectral._colour import quiet

    with quiet():
        yield


def reflectance_cube(data, wavelengths=WL):
    return HSCube(np.asarray(data, np.float32), wavelengths, kind="reflectance")


def colour_path(spectrum, wl, illuminant_sd, observer, cat):
    """colour-science's own per-pixel render: sd_to_XYZ → XYZ_to_sRGB (adapting from the white reflector's
    chromaticity under the same illuminant on the same grid), clipped to the sRGB gamut."""
    cmfs = colour.MSDS_CMFS[observer]
    xyz = colour.sd_to_XYZ(colour.SpectralDistribution(np.asarray(spectrum, np.float64), wl), cmfs, illuminant_sd)
    white = colour.sd_to_XYZ(colour.SpectralDistribution(np.ones(len(wl)), wl), cmfs, illuminant_sd)
    rgb = colour.XYZ_to_sRGB(xyz / 100, illuminant=colour.XYZ_to_xy(white / 100),
                             chromatic_adaptation_transform=cat)
    return np.clip(rgb, 0, 1)


@pytest.mark.parametrize("spec,sd_factory,adapt,cat,observer", [
    ("D65", lambda: colour.SDS_ILLUMINANTS["D65"], "none", None, CIE1931),
    ("A", lambda: colour.SDS_ILLUMINANTS["A"], "bradford", "Bradford", CIE1931),
    ("FL11", lambda: colour.SDS_ILLUMINANTS["FL11"], "cat16", "CAT16", CIE1931),
    ("LED-B3", lambda: colour.SDS_ILLUMINANTS["LED-B3"], "none", None, CIE1964),
    ("cct:2700", lambda: colour.sd_blackbody(2700, colour.SpectralShape(360, 830, 1)), "bradford", "Bradford",
     CIE1931),
])
def test_render_equals_colour_per_pixel_path(spec, sd_factory, adapt, cat, observer):
    rng = np.random.default_rng(1)
    pixels = rng.random((1, 60, 31)).astype(np.float32)
    out = relight.render_srgb(reflectance_cube(pixels), spec, adapt=adapt, observer=observer)
    sd = sd_factory()
    ref = np.stack([colour_path(p, WL, sd, observer, cat) for p in pixels[0]])
    np.testing.assert_allclose(out[0], ref, atol=1e-4, rtol=0)


def test_render_linear_matches_colour_without_clipping():
    rng = np.random.default_rng(2)
    pixels = rng.random((2, 5, 31)).astype(np.float32)
    lin = relight.render_linear(reflectance_cube(pixels), "D50")
    cmfs = colour.MSDS_CMFS[CIE1931]
    ill = colour.SDS_ILLUMINANTS["D50"]
    for idx in np.ndindex(2, 5):
        xyz = colour.sd_to_XYZ(colour.SpectralDistribution(pixels[idx].astype(float), WL), cmfs, ill) / 100
        ref = colour.XYZ_to_sRGB(xyz, chromatic_adaptation_transform=None, apply_cctf_encoding=False)
        np.testing.assert_allclose(lin[idx], ref, atol=1e-5)


def test_perfect_white_reflector_under_d65_is_srgb_white():
    white = reflectance_cube(np.ones((3, 4, 31)))
    np.testing.assert_allclose(relight.render_srgb(white, "D65", adapt="none"), 1.0, atol=1e-4)
    assert (relight.render_uint8(white, "D65") == 255).all()
    np.testing.assert_allclose(relight.render_linear(white, "D65"), 1.0, atol=2e-4)
    black = reflectance_cube(np.zeros((1, 1, 31)))
    assert relight.render_srgb(black).max() == 0.0


def test_plain_view_shows_radiance_as_captured_and_reflectance_under_d65():
    """The band view, thumbnails and CLI previews: radiance is not lit a second time, so a D65-lit grey is
    neutral whether the cube holds its radiance or its reflectance (lighting radiance by D65 turned it cyan)."""
    d65 = relight.illuminant_spd("D65", WL)
    grey = np.full((2, 3, 31), 0.5)
    radiance = HSCube(grey * d65 / d65.max(), WL, kind="radiance")
    for cube in (radiance, reflectance_cube(grey), HSCube(grey, WL)):  # radiance, reflectance, unknown
        view = relight.render_view(cube).astype(int)
        assert np.ptp(view, axis=-1).max() <= 1 and 100 < view.min()  # neutral, not black
    assert relight.view_illuminant(radiance) == "E" and relight.view_illuminant(reflectance_cube(grey)) == "D65"
    assert relight.view_observer(radiance) == relight.DEFAULT_OBSERVER  # unless the cube names its response
    recon = HSCube(radiance.data, WL, {"response": "cie1964-srgb"}, kind="radiance")  # as a reconstruction
    assert relight.view_observer(recon) == relight.OBSERVERS["cie1964"]
    doubly_lit = relight.render_uint8(radiance, "D65").astype(int)[0, 0]
    assert doubly_lit[2] - doubly_lit[0] > 20  # what the view showed before: blue-tinted
    np.testing.assert_allclose(relight.render_view(radiance, "srgb") * 255, relight.render_view(radiance), atol=0.51)
    with pytest.raises(InputError, match="view mode"):
        relight.render_view(radiance, "png")
    assert relight.recorded_capture_illuminant(recon) == "D65"  # sRGB's white: reflectance = radiance / D65
    assert relight.recorded_capture_illuminant(radiance) is None
    assert relight.recorded_capture_illuminant(HSCube(grey, WL, {"response": "cie1964-srgb"},
                                                      kind="reflectance")) is None


@pytest.mark.parametrize("adapt", ["bradford", "cat16"])
def test_adaptation_maps_any_white_to_srgb_white(adapt):
    white = reflectance_cube(np.ones((1, 1, 31)))
    for spec in ("A", "FL2", "cct:2000", "daylight:15000", "LED-RGB1"):
        np.testing.assert_allclose(relight.render_srgb(white, spec, adapt=adapt)[0, 0], 1.0, atol=1e-4)


def test_colorchecker_under_d65_within_delta_e_1():
    """Reference: colour-science's own XYZ_to_sRGB(sd_to_XYZ(sd, CIE 1931, D65)) of each patch's *native*
    5 nm, 380–780 nm spectrum. It is independent of what is under test here — resampling to the 31-band
    400–700 nm grid, the folded render matrix, the lookup-table encoding. (The charts' published xyY in
    ``colour.CCS_COLOURCHECKERS`` are for other physical charts measured under D50: they differ from Ohta's
    spectra by ΔE2000 up to 3, so they cannot check a renderer to ΔE < 1.)"""
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    names = list(sds)
    assert len(names) == 24
    data = np.stack([resample_spectra(sds[n].values, sds[n].wavelengths, WL) for n in names])[None]
    mine = relight.render_srgb(reflectance_cube(data), "D65")[0]
    cmfs, d65 = colour.MSDS_CMFS[CIE1931], colour.SDS_ILLUMINANTS["D65"]
    ref = np.clip(np.stack([colour.XYZ_to_sRGB(colour.sd_to_XYZ(sds[n], cmfs, d65) / 100) for n in names]), 0, 1)
    white = colour.RGB_COLOURSPACES["sRGB"].whitepoint
    lab = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(x), white) for x in (mine, ref)]
    de = colour.delta_E(lab[0], lab[1], method="CIE 2000")
    assert de.max() < 1.0, dict(zip(names, np.round(de, 2), strict=True))


def test_every_catalogue_illuminant_renders():
    names = relight.list_illuminants()
    assert len(names) == 59 and names[0] == "A" and names[-1].startswith("ISO 7589")
    rng = np.random.default_rng(3)
    cube = reflectance_cube(np.concatenate([np.ones((1, 1, 31)), rng.random((1, 7, 31))], axis=1))
    for name in names + ["cct:1000", "cct:40000", "daylight:4000", "daylight:25000"]:
        out = relight.render_srgb(cube, name, adapt="bradford")
        assert out.shape == (1, 8, 3) and np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1, name
        np.testing.assert_allclose(out[0, 0], 1.0, atol=1e-3, err_msg=name)
        spd = relight.illuminant_spd(name, WL)
        assert spd.shape == (31,) and spd.max() == pytest.approx(1.0) and spd.min() >= 0


def test_illuminant_specs_and_errors(tmp_path):
    assert relight.canonical_spec("d65") == "D65"
    assert relight.canonical_spec(" iso 7589 photoflood ") == "ISO 7589 Photoflood"
    assert relight.canonical_spec("led_b1") == "LED-B1"
    assert relight.canonical_spec("cct:5000K") == "cct:5000"
    normalised = {relight._norm_name(n) for n in relight.list_illuminants()}
    assert len(normalised) == 59  # case/space-insensitive matching is unambiguous
    d65 = relight.illuminant_spd("D65", WL)
    np.testing.assert_allclose(relight.illuminant_spd("daylight:6504", WL), d65, atol=2e-3)
    planck = colour.sd_blackbody(3000, colour.SpectralShape(400, 700, 10)).values
    np.testing.assert_allclose(relight.illuminant_spd("cct:3000", WL), planck / planck.max(), rtol=3e-3)
    for bad in ("D66", "cct:hot", "cct:100", "daylight:3000", "", "csv:" + str(tmp_path / "missing.csv")):
        with pytest.raises(InputError):
            relight.render_matrix(WL, bad)


def test_csv_illuminant_with_header(tmp_path):
    sd = colour.SDS_ILLUMINANTS["A"]
    path = tmp_path / "a.csv"
    path.write_text("wavelength_nm,power\n" + "".join(f"{w},{v}\n" for w, v in zip(sd.wavelengths, sd.values, strict=True)))
    np.testing.assert_allclose(relight.render_matrix(WL, f"csv:{path}"), relight.render_matrix(WL, "A"),
                               atol=1e-9)
    np.testing.assert_allclose(relight.illuminant_spd(f"csv:{path}", WL), relight.illuminant_spd("A", WL))
    for text in ("nm,value\n", "400,1\n401,1\n", "400,1\n410,x\n", "400,1,2\n500,1,2\n", "400,1\n400,2\n", "400,-1\n500,1\n"):
        path.write_text(text)
        with pytest.raises(InputError):
            relight.illuminant_spd(f"csv:{path}", WL)


def test_render_matrix_is_cached_and_read_only():
    a = relight.render_matrix(WL, "FL2", adapt="cat16")
    b = relight.render_matrix(np.arange(400, 701, 10), "fl2", "cie1931", "CAT16")
    assert a is b and a.shape == (31, 3) and not a.flags.writeable
    assert relight.render_matrix(WL, "FL2") is not a


def test_other_grids_render_consistently():
    """A smooth spectrum on a 5 nm grid, an irregular grid, or 400–1000 nm renders like on the standard grid."""
    spectrum = lambda wl: 0.2 + 0.6 * np.exp(-(((wl - 560) / 60) ** 2))  # noqa: E731
    ref = relight.render_srgb(reflectance_cube(spectrum(WL)[None, None]), "D65")
    rng = np.random.default_rng(4)
    for wl in (np.arange(400, 701, 5.0), np.sort(rng.uniform(398, 702, 80)), np.arange(400, 1001, 10.0)):
        out = relight.render_srgb(reflectance_cube(spectrum(wl)[None, None], wl), "D65")
        np.testing.assert_allclose(out, ref, atol=4e-3)
        white = relight.render_srgb(reflectance_cube(np.ones((1, 1, wl.size)), wl), "D65")
        np.testing.assert_allclose(white, 1.0, atol=2e-3)


def test_lookup_table_encoding_is_exact_enough():
    lin = np.concatenate([np.linspace(0, 1, 200001), np.geomspace(1e-9, 1, 10001)]).astype(np.float32)
    data = lin[None, :, None]
    m = np.ones((1, 3))  # one band → all channels: the clip + encode alone
    enc = relight._apply(data, m, "srgb")[0, :, 0]
    np.testing.assert_allclose(enc, srgb_encode(lin), atol=2e-5)
    assert (relight._apply(data, m, "uint8")[0, :, 0] == relight.to_uint8(enc)).all()
    assert relight._apply(data * 2 - 0.5, m, "srgb").min() == 0 and relight._apply(data * 2, m, "srgb").max() == 1


def test_uint8_render_equals_rounded_float_render():
    rng = np.random.default_rng(5)
    cube = reflectance_cube(rng.random((16, 16, 31)))
    for spec, adapt in (("D65", "none"), ("HP1", "bradford")):
        np.testing.assert_array_equal(relight.render_uint8(cube, spec, adapt=adapt),
                                      relight.to_uint8(relight.render_srgb(cube, spec, adapt=adapt)))


def test_estimate_reflectance_from_capture_illuminant_and_white():
    rng = np.random.default_rng(6)
    refl = rng.uniform(0.05, 0.9, (6, 5, 31)).astype(np.float32)
    refl[0, 0] = 1.0
    refl[4:6, 3:5] = 0.5
    spd = relight.illuminant_spd("A", WL).astype(np.float32)
    radiance = HSCube(refl * spd, WL, kind="radiance")
    est = relight.estimate_reflectance(radiance, capture_illuminant="A")
    assert est.kind == "reflectance"
    np.testing.assert_allclose(est.data, refl, rtol=1e-5)
    np.testing.assert_allclose(relight.estimate_reflectance(radiance, white_pixel=(0, 0)).data, refl, rtol=1e-5)
    grey = relight.estimate_reflectance(radiance, white_roi=(4, 3, 2, 2), white_reflectance=0.5)
    np.testing.assert_allclose(grey.data, refl, rtol=1e-5)
    target = relight.render_srgb(reflectance_cube(refl), "D50", adapt="bradford")
    for kwargs in ({"capture_illuminant": "A"}, {"white": (0, 0)}, {"white": (4, 3, 2, 2), "white_reflectance": 0.5}):
        np.testing.assert_allclose(relight.render_srgb(radiance, "D50", adapt="bradford", **kwargs), target,
                                   atol=1e-4)


@pytest.mark.parametrize("kwargs,needle", [
    ({"capture_illuminant": "A", "white_pixel": (0, 0)}, "not both"),
    ({"white_pixel": (9, 0)}, "outside"),
    ({"white_roi": (0, 0, 0, 2)}, "region"),
    ({"white_roi": (5, 4, 2, 2)}, "region"),
    ({"white_pixel": (1, 1)}, "no energy"),
    ({"capture_illuminant": (WL, np.r_[np.zeros(3), np.ones(28)])}, "no energy"),
    ({}, "needs"),
])
def test_estimate_reflectance_errors(kwargs, needle):
    data = np.ones((6, 5, 31), np.float32)
    data[1, 1, 3] = 0.0
    with pytest.raises(InputError, match=needle):
        relight.estimate_reflectance(HSCube(data, WL, kind="radiance"), **kwargs)


def test_capture_illuminant_on_reflectance_cube_is_refused():
    with pytest.raises(InputError, match="already reflectance"):
        relight.render_srgb(reflectance_cube(np.ones((1, 1, 31))), "D65", capture_illuminant="A")


def test_exposure():
    cube = reflectance_cube(np.full((4, 4, 31), 0.25))
    np.testing.assert_allclose(relight.render_linear(cube, exposure=4.0), 1.0, atol=2e-4)
    auto = relight.render_linear(cube, exposure="auto")  # luminance Y → 1: a flat grey of 0.25 gets ×4
    np.testing.assert_allclose(auto, relight.render_linear(cube, exposure=4.0), atol=1e-5)
    for bad in (0, -1, float("nan"), "bright"):
        with pytest.raises(InputError):
            relight.render_srgb(cube, exposure=bad)
    with pytest.raises(InputError):
        relight.render_srgb(cube, adapt="vonkries")
    with pytest.raises(InputError):
        relight.render_srgb(cube, observer="cie2015")


def test_delta_e_map():
    rng = np.random.default_rng(7)
    a = rng.random((8, 9, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1).astype(np.float32)
    assert np.abs(relight.delta_e_map(a, a)).max() < 1e-4
    de = relight.delta_e_map(a, b)
    assert de.shape == (8, 9) and de.dtype == np.float32
    wp = colour.RGB_COLOURSPACES["sRGB"].whitepoint
    ref = colour.delta_E(colour.XYZ_to_Lab(colour.sRGB_to_XYZ(a[2, 3]), wp),
                         colour.XYZ_to_Lab(colour.sRGB_to_XYZ(b[2, 3]), wp), method="CIE 2000")
    assert de[2, 3] == pytest.approx(ref, rel=1e-5)
    u8 = relight.to_uint8(a)
    assert relight.delta_e_map(u8, a).max() < 1.0  # 8-bit quantisation only
    with pytest.raises(ShapeError):
        relight.delta_e_map(a, b[:4])


def test_delta_e_map_in_chunks_equals_one_pass(monkeypatch):
    """The map is computed in bounded chunks (a 12 MP map at once took ~4 GB): chunk edges change nothing."""
    rng = np.random.default_rng(9)
    a = rng.random((13, 11, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    whole = relight.delta_e_map(a, b)
    monkeypatch.setattr(relight, "_DE_CHUNK_PIXELS", 17)  # 143 pixels: 9 chunks, the last one short
    np.testing.assert_allclose(relight.delta_e_map(a, b), whole, rtol=1e-6)
    wp = colour.RGB_COLOURSPACES["sRGB"].whitepoint
    ref = colour.delta_E(colour.XYZ_to_Lab(colour.sRGB_to_XYZ(a.astype(np.float64)), wp),
                         colour.XYZ_to_Lab(colour.sRGB_to_XYZ(b.astype(np.float64)), wp), method="CIE 2000")
    np.testing.assert_allclose(whole, ref, rtol=1e-5, atol=1e-6)
    bad = a.copy()
    bad[12, 10, 0] = np.nan  # in the last chunk: still refused
    with pytest.raises(InputError):
        relight.delta_e_map(a, bad)


def test_relighting_changes_colour_measurably():
    rng = np.random.default_rng(8)
    cube = reflectance_cube(rng.uniform(0.1, 0.9, (8, 8, 31)))
    d65 = relight.render_srgb(cube, "D65")
    assert relight.delta_e_map(d65, relight.render_srgb(cube, "A")).mean() > 5
    assert relight.delta_e_map(d65, relight.render_srgb(cube, "A", adapt="bradford")).mean() < 5


def test_catalogue_records():
    records = relight.illuminant_catalogue()
    cat = [r for r in records if r["kind"] == "catalogue"]
    assert len(cat) == 59 and {r["name"] for r in records} >= {"cct:K", "daylight:K", "csv:PATH"}
    d65 = next(r for r in cat if r["name"] == "D65")
    assert d65["xy"] == pytest.approx([0.3127, 0.3290], abs=2e-4)
    json.dumps(records)


# ---------------------------------------------------------------------------------------------------------
# CLI (needs core.io)
# ---------------------------------------------------------------------------------------------------------
def _cli(args, capsys):
    from hsi_studio.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_illuminants(capsys):
    code, out, _ = _cli(["illuminants", "--json"], capsys)
    assert code == 0 and len([r for r in json.loads(out) if r["kind"] == "catalogue"]) == 59
    code, out, _ = _cli(["illuminants"], capsys)
    assert code == 0 and "ISO 7589 Photoflood" in out and "daylight:K" in out


def test_cli_relight(tmp_path, capsys):
    from hsi_studio.core.io import api as io
    rng = np.random.default_rng(9)
    cube_path = tmp_path / "scene.npy"
    io.write_cube(HSCube(rng.uniform(0.05, 0.9, (12, 10, 31)).astype(np.float32), WL, kind="reflectance"),
                  cube_path)
    out = tmp_path / "lit.png"
    code, _, err = _cli(["relight", cube_path, "--illuminant", "cct:3000", "--adapt", "bradford", "-o", out], capsys)
    assert code == 0, err
    img = io.read_rgb(out)
    expected = relight.render_srgb(io.read_cube(cube_path), "cct:3000", adapt="bradford")
    assert img.shape == (12, 10, 3) and np.abs(img.data - expected).max() <= 1 / 255 + 1e-6
    code, _, err = _cli(["relight", cube_path, "--illuminant", "D66", "-o", tmp_path / "x.png"], capsys)
    assert code == 2 and "D66" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(["relight", cube_path, "-o", out], capsys)
    assert code == 2 and "--force" in err


def test_cli_reconstruct_physics(tmp_path, capsys):
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.io import api as io

    rng = np.random.default_rng(10)
    rgb_path = tmp_path / "photo.png"
    img = rng.random((10, 12, 3)).astype(np.float32)
    img[:, :3] = np.linspace(0.2, 0.9, 10)[:, None, None]  # a grey ramp
    io.write_rgb(RGBImage(img), rgb_path, bit_depth=8)
    for model, fmt, ext in (("physics:mallett2019", "h5", ".h5"), ("physics:otsu2018", "npy", ".npy"),
                            ("physics:minnorm", "mat", ".mat")):
        outdir = tmp_path / model.split(":")[1]
        code, _, err = _cli(["reconstruct", rgb_path, "-o", outdir, "--model", model, "--format", fmt], capsys)
        assert code == 0, err
        cube = io.read_cube(outdir / f"photo{ext}")
        assert cube.shape == (10, 12, 31) and np.allclose(cube.wavelengths, WL)
        preview = io.read_rgb(outdir / "photo_preview.png").data
        photo = io.read_rgb(rgb_path).data
        assert preview.shape == photo.shape
        assert np.ptp(preview[:, :3], axis=-1).max() <= 2 / 255  # greys stay grey, whatever the cube's kind
        if model == "physics:minnorm":  # radiance, shown as captured through its response: the photo itself
            assert np.abs(preview.astype(float) - photo).max() <= 1 / 255
            # relit under D65, the reconstruction is the photo again: its recorded capture light is divided out
            code, out, err = _cli(["relight", outdir / "photo.mat", "--illuminant", "D65", "-o", tmp_path / "d65.png"],
                                  capsys)
            assert code == 0, err
            assert "capture illuminant D65 (recorded" in out
            assert np.abs(io.read_rgb(tmp_path / "d65.png").data[:, :3] - photo[:, :3]).max() <= 2 / 255
    code, _, err = _cli(["reconstruct", rgb_path, "-o", tmp_path / "mallett2019", "--model", "physics:mallett2019"],
                        capsys)
    assert code == 2 and "--force" in err
    code, _, err = _cli(["reconstruct", rgb_path, "-o", tmp_path / "o", "--model", "physics:smits"], capsys)
    assert code == 2 and "physics:mallett2019" in err
