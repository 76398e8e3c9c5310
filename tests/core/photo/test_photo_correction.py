"""White balance, ColorChecker calibration and the chart report, on synthetic photos made here with known
transforms; the report's numbers against independent computations; the CLI's flags and their bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from factories import chart_photo, write_chart_png
from factories import run_cli as run
from PIL import Image

from hsi_studio.core.errors import InputError
from hsi_studio.core.io import api as io
from hsi_studio.core.photo import chart_detect
from hsi_studio.core.photo import correction as pc
from hsi_studio.core.spectral._colour import colour
from hsi_studio.core.spectral.responses import srgb_encode


def test_chart_fit_recovers_a_known_colour_transform():
    cast = np.array([[0.9, 0.05, 0.0], [0.1, 0.7, 0.1], [0.0, 0.1, 1.3]])
    img, corners = chart_photo(cast)
    det = chart_detect.chart_from_corners(corners, img.shape)
    cal = pc.calibrate_chart(img.astype(np.float32), det)
    corrected = cal.fit.apply(img.astype(np.float32))
    patches = det.patch_rgb(corrected)
    de = pc.delta_e(patches, pc.reference_linear())
    # a linear cast is undone exactly (exposure included: the chart sets the reflectance scale)
    assert de.max() < 0.5 and cal.delta_e_after[cal.usable].mean() < 0.5
    assert cal.delta_e_before.mean() > 5  # the cast was real
    np.testing.assert_allclose(patches, pc.reference_linear(), atol=6e-3)  # cyan R < 0 is clipped in the photo


def test_a_photo_that_is_already_right_keeps_its_colours():
    img, corners = chart_photo(np.eye(3) * 0.6)  # right colours, darker exposure
    det = chart_detect.chart_from_corners(corners, img.shape)
    cal = pc.calibrate_chart(img.astype(np.float32), det)
    assert cal.fit.label.startswith("exposure only") and cal.fit.exponent == 1.0
    np.testing.assert_allclose(cal.fit.matrix, np.eye(3) / (0.6 * 0.8), rtol=1e-6)
    de = cal.delta_e_after
    assert np.delete(de, 17).max() < 1e-3  # exact, but for cyan, whose R < 0 no photo can record


def test_chart_fit_undoes_a_tone_curve_too():
    img, corners = chart_photo()
    toned = np.clip(img, 0, None) ** 1.45  # a camera whose curve is not sRGB's
    det = chart_detect.chart_from_corners(corners, img.shape)
    cal = pc.calibrate_chart(toned.astype(np.float32), det)
    assert cal.fit.exponent != 1.0
    assert cal.delta_e_after[cal.usable].mean() < 0.6 * cal.delta_e_before[cal.usable].mean()


def test_leave_one_out_matches_an_independent_least_squares():
    rng = np.random.default_rng(0)
    ref = pc.reference_linear()
    photo = ref @ rng.uniform(0.2, 1.0, (3, 3)) + rng.normal(0, 0.003, (24, 3))
    photo = np.clip(photo, 0.001, 0.9)
    use = pc.usable_patches(photo)
    ours = pc.leave_one_out(photo, ref, "Cheung 2004", {"terms": 3}, use)
    for i in np.flatnonzero(use):
        keep = np.flatnonzero(use & (np.arange(24) != i))
        m, *_ = np.linalg.lstsq(photo[keep], ref[keep], rcond=None)
        np.testing.assert_allclose(ours[i], photo[i] @ m, atol=1e-9)


def test_report_numbers_against_an_independent_computation(tmp_path):
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.spectral.relight import render_matrix
    from hsi_studio.services import photo

    img, corners = chart_photo(np.diag([0.8, 1.0, 1.2]))
    rgb = io.RGBImage(np.clip(img, 0, 1).astype(np.float32), "linear")
    prepared = photo.prepare_photo(rgb, chart=corners)
    # a reflectance "reconstruction": the reference spectra painted into the patches, 0.5 elsewhere
    det = prepared.detection
    wl = np.arange(400.0, 701.0, 10.0)
    spectra = pc.reference_spectra(wavelengths=wl)
    cube = np.full((*img.shape[:2], 31), 0.5, np.float32)
    bumped = spectra * (1 + 0.2 * np.sin(wl / 30.0))  # a known spectral error
    for i, (x, y) in enumerate(det.centres):
        h = det.half_size
        cube[int(y) - h:int(y) + h + 1, int(x) - h:int(x) + h + 1] = bumped[i]
    report = photo.chart_report(prepared, HSCube(cube, wl, kind="reflectance"))
    cos = (bumped * spectra).sum(1) / np.linalg.norm(bumped, axis=1) / np.linalg.norm(spectra, axis=1)
    sam = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    np.testing.assert_allclose([p["sam_deg"] for p in report["patches"]], sam, atol=2e-3)
    # ΔE before: exposure matched on the grey patches, then CIE 2000 (colour-science's sRGB → Lab here)
    photo_rgb = det.patch_rgb(np.clip(img, 0, 1))
    ref = spectra @ render_matrix(wl, "D65", pc.PHOTO_OBSERVER)
    grey = list(pc.NEUTRALS)
    lum = np.array([0.2126, 0.7152, 0.0722])
    scale = (ref[grey] @ lum).sum() / (photo_rgb[grey] @ lum).sum()
    white = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    lab = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(v, apply_cctf_decoding=False), white) for v in (photo_rgb * scale, ref)]
    expect = colour.delta_E(lab[0], lab[1], method="CIE 2000")
    np.testing.assert_allclose([p["delta_e_before"] for p in report["patches"]], expect, atol=2e-3)
    assert report["delta_e_after_loo_mean"] < 0.5 and len(report["patches"]) == 24
    files = photo.write_chart_report(report, tmp_path, "scene")
    assert [f.name for f in files] == ["scene_chart.json", "scene_chart.csv", "scene_chart.png"]
    assert json.loads(files[0].read_text())["spectra"]["sam_mean_deg"] == pytest.approx(sam.mean(), abs=2e-3)
    assert len(files[1].read_text().splitlines()) == 25
    assert Image.open(files[2]).size[0] >= 1000


def test_clipped_patches_are_flagged_and_left_out():
    img, corners = chart_photo(exposure=1.3)  # the white patch and neutral 8 clip
    det = chart_detect.chart_from_corners(corners, img.shape)
    cal = pc.calibrate_chart(np.clip(img, 0, 1).astype(np.float32), det)
    assert not cal.usable[18] and cal.usable[23] and cal.usable.sum() >= 12


# ---------------------------------------------------------------------------------------------------------
# White balance
# ---------------------------------------------------------------------------------------------------------
def cast_scene(gains=(0.6, 1.0, 1.4)):
    rng = np.random.default_rng(3)
    scene = rng.uniform(0.05, 0.3, (60, 80, 3))
    scene[20:30, 30:40] = 0.25  # a grey card
    return (scene / np.asarray(gains)).clip(0, 1).astype(np.float32)


def test_white_balance_on_a_pixel_and_a_region_recovers_the_cast():
    img = cast_scene()
    for spec in ((35, 25), (31, 21, 8, 8)):
        wb = pc.white_balance(img, spec)
        np.testing.assert_allclose(wb.gains, [0.6, 1.0, 1.4], rtol=1e-4)
        out = wb.apply(img)
        assert np.ptp(out[25, 35]) < 1e-4


def test_auto_white_balance_reduces_a_cast_and_the_warning_fires():
    img = cast_scene((0.35, 1.0, 2.2))
    assert pc.cast_warning(img) is not None and "white-balance" in pc.cast_warning(img)
    wb = pc.white_balance(img, "auto")
    balanced = wb.apply(img)
    e = pc.shades_of_grey(balanced)
    assert e.max() / e.min() < 1.05
    assert pc.cast_warning(balanced) is None


def test_white_balance_bad_input_says_what_is_wrong():
    img = cast_scene()
    with pytest.raises(InputError, match="outside"):
        pc.white_balance(img, (500, 5))
    bright = img.copy()
    bright[:10, :10] = 1.0
    with pytest.raises(InputError, match="overexposed"):
        pc.white_balance(bright, (5, 5))
    for bad in ("grey", "1,2,3", "-1,4", "1.5,2"):
        with pytest.raises(InputError, match="--white-balance"):
            pc.parse_white_balance(bad)


# ---------------------------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def chart_png(tmp_path):
    return write_chart_png(tmp_path / "chart.png", np.diag([0.7, 1.0, 1.3]))


def test_cli_chart_calibration_writes_the_report_and_records_it(chart_png, tmp_path, capsys):
    path, corners = chart_png
    spec = ",".join(f"{v:g}" for v in corners.ravel())
    code, out, err = run(["reconstruct", path, "-o", tmp_path / "out", "--model", "physics:otsu2018", "--chart", spec,
                          "--white-balance", "chart"], capsys)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["chart.h5", "chart_chart.csv", "chart_chart.json", "chart_chart.png", "chart_preview.png"]
    report = json.loads((tmp_path / "out" / "chart_chart.json").read_text())
    assert report["delta_e_after_loo_mean"] < 1.5 and report["spectra"]["sam_mean_deg"] < 15
    meta = io.read_cube(tmp_path / "out" / "chart.h5").metadata
    assert "chart_correction" in meta and json.loads(meta["white_balance"])["source"].startswith("chart")
    assert meta["colour_space"].startswith("sRGB")
    assert "spectral angle" in err


@pytest.mark.parametrize("flags, match", [
    (["--chart", "1,2,3"], "8 comma-separated numbers"),
    (["--chart", "1,2,3,4,5,6,7,nan"], "X1,Y1"),
    (["--white-balance", "sideways"], "--white-balance"),
    (["--chart", "auto", "--chart-reference", "no such chart"], "chart reference"),
])
def test_cli_bad_photo_flags_exit_2_with_one_line_before_any_work(chart_png, tmp_path, capsys, flags, match):
    path, _ = chart_png
    code, _, err = run(["reconstruct", path, "-o", tmp_path / "out", "--model", "physics:otsu2018", *flags], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and match.lower() in err.lower(), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_corners_outside_the_image_and_no_chart_found_exit_2(chart_png, tmp_path, capsys):
    path, _ = chart_png
    code, _, err = run(["reconstruct", path, "-o", tmp_path / "o1", "--model", "physics:otsu2018", "--chart",
                        "0,0,5000,0,5000,300,0,300"], capsys)
    assert code == 2 and "outside" in err and len(err.strip().splitlines()) == 1
    plain = tmp_path / "plain.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(plain)
    code, _, err = run(["reconstruct", plain, "-o", tmp_path / "o2", "--model", "physics:otsu2018", "--chart", "auto"],
                       capsys)
    assert code == 2 and "corners" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())


def test_cli_warns_about_a_cast_photo(tmp_path, capsys):
    img = cast_scene((0.35, 1.0, 2.2))
    path = tmp_path / "cast.png"
    Image.fromarray(np.round(srgb_encode(img) * 255).astype(np.uint8)).save(path)
    code, _, err = run(["reconstruct", path, "-o", tmp_path / "out", "--model", "physics:mallett2019"], capsys)
    assert code == 0 and "colour-cast" in err
    code, _, err = run(["reconstruct", path, "-o", tmp_path / "out2", "--model", "physics:mallett2019",
                        "--white-balance", "auto"], capsys)
    assert code == 0 and "colour-cast" not in err
    assert "auto" in io.read_cube(tmp_path / "out2" / "cast.h5").metadata["white_balance"]
