"""Learned per-pixel baselines (root-polynomial, MLP) and the non-negative, RGB-exact output every learned
model writes: fitting, exposure equivariance, bundle round trip, refusal of bad bundles, the CLI."""

import json

import numpy as np
import pytest
import torch
from factories import smooth_cubes

from hsi_studio.cli import main
from hsi_studio.core.errors import InputError as HSIError
from hsi_studio.core.io import api as io
from hsi_studio.core.ml.data import TrainingSource, validation_pairs
from hsi_studio.core.ml.models import load_bundle, save_regression
from hsi_studio.core.ml.models.bounds import REFLECTANCE_CAP, photo_light
from hsi_studio.core.ml.models.regression import PixelRegression, nonnegative_consistent
from hsi_studio.core.ml.pipelines.regression_pipeline import RegressionPipeline
from hsi_studio.core.ml.training.regression_fit import fit_regression
from hsi_studio.core.spectral.responses import camera_response
from hsi_studio.core.storage.provenance import file_sha256 as sha256


def _smooth_cubes(n=3, size=24, seed=0):
    """Random reflectance-like cubes: a few smooth spectra painted in blocks."""
    return smooth_cubes(n, size, seed, block=6)


@pytest.fixture(scope="module")
def source():
    return TrainingSource(_smooth_cubes(), None, 0.0, "cie1964-srgb", seed=0, sim={"light": "D65"})


def test_nonnegative_consistent_keeps_rgb_exact_and_removes_negatives():
    s = torch.tensor(camera_response("cie1964-srgb").matrix, dtype=torch.float32)
    rng = np.random.default_rng(1)
    truth = torch.tensor(rng.random((500, 31)), dtype=torch.float32)
    y = truth @ s
    x = truth + torch.tensor(rng.normal(0, 0.5, (500, 31)), dtype=torch.float32)  # many negatives
    x = x + (y - x @ s) @ torch.linalg.pinv(s)  # consistent but negative
    assert (x < 0).any()
    out = nonnegative_consistent(x, y, None, s)
    assert float(out.min()) >= 0
    assert float((out @ s - y).abs().max() / y.max()) < 1e-5
    untouched = ~(x < 0).any(dim=-1)
    assert torch.equal(out[untouched], x[untouched])


@pytest.mark.parametrize("kind", ["rootpoly", "mlp"])
def test_fit_reconstruct_round_trip(kind, source, tmp_path, one_torch_thread):
    model = fit_regression(source, kind, steps=60, batch=2048, pixels=20_000)
    truth = validation_pairs([source.cube(0)], source.response, light="D65")[0]
    y = truth["rgb"]
    cube, std = RegressionPipeline(model)(y)
    assert std is None and cube.shape == truth["cube"].shape and cube.min() >= 0
    s = camera_response("cie1964-srgb").matrix
    assert np.abs(cube @ s - y).max() / y.max() < 1e-4  # RGB-exact like the ULDM
    err = np.abs(cube - truth["cube"]).mean() / truth["cube"].mean()
    assert err < 0.25, f"{kind} barely learned the training spectra (relative error {err:.3f})"
    doubled, _ = RegressionPipeline(model)(2 * y)  # exposure-equivariant wherever the highlight cap is idle
    light = photo_light(model.response)
    cap1 = REFLECTANCE_CAP * np.maximum(y.max(-1, keepdims=True), 1) * light
    cap2 = REFLECTANCE_CAP * np.maximum(2 * y.max(-1, keepdims=True), 1) * light
    idle = ((cube < cap1 * (1 - 1e-4)).all(-1) & (doubled < cap2 * (1 - 1e-4)).all(-1))
    assert idle.mean() > 0.5  # this synthetic source has narrow peaks above 1.2 × white: those are capped
    np.testing.assert_allclose(doubled[idle], 2 * cube[idle], rtol=1e-3, atol=1e-5)
    save_regression(model, tmp_path / kind)
    again = load_bundle(tmp_path / kind)
    assert isinstance(again, PixelRegression) and again.config.kind == kind
    np.testing.assert_array_equal(RegressionPipeline(again)(y)[0], cube)


def test_rootpoly_learns_better_than_a_linear_map(source, one_torch_thread):
    truth = validation_pairs([source.cube(0)], source.response, light="D65")[0]
    errs = {}
    for degree in (1, 2):
        m = fit_regression(source, "rootpoly", degree=degree, pixels=20_000)
        errs[degree] = np.abs(RegressionPipeline(m)(truth["rgb"])[0] - truth["cube"]).mean()
    assert errs[2] <= errs[1] * 1.05


def test_bad_regression_bundles_are_refused(source, tmp_path, one_torch_thread):
    model = fit_regression(source, "rootpoly", pixels=10_000)
    good = save_regression(model, tmp_path / "rp")
    weights = next(good.rglob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-8:] = b"\x00" * 8
    weights.write_bytes(bytes(data))
    with pytest.raises(HSIError, match="sha256|manifest|changed"):
        load_bundle(good)
    bad = save_regression(model, tmp_path / "rp2")
    (bad / "regression" / "model.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(HSIError, match="pickle"):
        load_bundle(bad)
    with pytest.raises(HSIError, match="kind"):
        PixelRegression.from_response(camera_response("cie1964-srgb"), kind="svm")


def test_cli_train_regression_then_reconstruct_reflectance(tmp_path, capsys, one_torch_thread):
    from hsi_studio.core.ml.evaluation import PHOTO_OBSERVER, photo_of
    from hsi_studio.core.spectral import relight

    data = tmp_path / "cubes"
    data.mkdir()
    cubes = _smooth_cubes(n=3, size=24)
    for i, c in enumerate(cubes):
        io.write_cube(c, data / f"c{i}.h5")
    out = tmp_path / "rp"
    assert main(["train", "regression", "--data", str(data), "--kind", "rootpoly", "--val", str(data / "c2.h5"),
                 "--out", str(out)]) == 0
    record = json.loads((out / "training.json").read_text())["training"]
    assert record["data"] == ["c0.h5", "c1.h5"] and record["light"] == "D65"
    prov = json.loads((out / "training.json").read_text())["provenance"]
    assert [d["path"] for d in prov["data"]] == ["c0.h5", "c1.h5"]  # outside the current folder: names only
    assert prov["data"][0]["sha256"] == sha256(data / "c0.h5") and prov["val"][0]["path"] == "c2.h5"
    assert {"torch", "diffusers", "numpy", "hsi_studio"} <= set(prov["libraries"])
    assert main(["train", "regression", "--data", str(data), "--out", str(out)]) == 2  # exists, no --force
    photo = photo_of(cubes[2])
    io.write_rgb(photo, tmp_path / "photo.png")
    res = tmp_path / "res"
    assert main(["reconstruct", str(tmp_path / "photo.png"), "-o", str(res), "--model", str(out),
                 "--reflectance", "--no-preview"]) == 0
    refl = io.read_cube(res / "photo.h5")
    assert refl.kind == "reflectance" and refl.data.min() >= 0
    # a white-balanced reflectance estimate renders back to the photo under D65
    back = relight.render_srgb(refl, "D65", observer=PHOTO_OBSERVER)
    assert np.abs(back - photo.data).max() < 2.5 / 255
    capsys.readouterr()


def test_mlp_fit_is_a_function_of_its_seed(source, one_torch_thread):
    """--seed decides the whole fit, initial weights included, whatever drew random numbers before."""
    import torch

    a = fit_regression(source, "mlp", steps=5, batch=512, hidden=16, seed=3)
    torch.rand(7)  # the global generator moved on
    b = fit_regression(source, "mlp", steps=5, batch=512, hidden=16, seed=3)
    c = fit_regression(source, "mlp", steps=5, batch=512, hidden=16, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
