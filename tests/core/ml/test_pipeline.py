"""The reconstruction pipeline: input checks, physics baselines, tiling with overlap blending."""

import numpy as np
import pytest

from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.ml.pipelines.tiling import run_tiled
from hsi_studio.core.spectral.recovery import linear_srgb
from hsi_studio.core.spectral.responses import ObservableSplit, srgb_encode


def _photo(h=40, w=56, seed=0):
    rng = np.random.default_rng(seed)
    return RGBImage(srgb_encode(rng.uniform(0.02, 0.9, (h, w, 3))), "srgb")


def test_physics_baselines_reproduce_the_input():
    img = _photo()
    res = pipeline.reconstruct(img, "physics:minnorm")
    assert res.cube.shape == (40, 56, 31) and res.std is None
    split = ObservableSplit()
    lin, _ = linear_srgb(img)
    rel = np.abs(split.project(res.cube.data) - lin).max() / lin.max()
    assert rel < 1e-4


def test_tiled_equals_untiled_for_a_per_pixel_model():
    lin, _ = linear_srgb(_photo(150, 170))
    w = np.random.default_rng(1).normal(size=(3, 31)).astype(np.float32)

    def fn(part, progress):
        progress(1.0)
        return part @ w, np.abs(part @ w) * 0.1

    fracs = []
    whole, whole_std = fn(lin, lambda f, m="": None)
    tiled, tiled_std = run_tiled(fn, lin, 31, tile=64, overlap=16,
                                          progress=lambda f, m="": fracs.append(f), cancel=CancelToken())
    np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tiled_std, whole_std, rtol=1e-4, atol=1e-5)
    assert fracs[-1] == pytest.approx(1.0) and fracs == sorted(fracs)


def test_tiling_can_be_cancelled():
    lin, _ = linear_srgb(_photo(150, 170))
    token = CancelToken()

    def fn(part, progress):
        token.cancel()
        return np.zeros(part.shape[:2] + (31,), np.float32), None

    with pytest.raises(Cancelled):
        run_tiled(fn, lin, 31, tile=64, overlap=16, progress=lambda f, m="": None, cancel=token)


@pytest.mark.parametrize("kwargs,needle", [
    ({"model": "physics:nope"}, "nope"),
    ({"model": "/no/such/bundle"}, "model_index.json"),
])
def test_bad_model_choice(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        pipeline.reconstruct(_photo(), **kwargs)


def test_bad_rgb_input():
    with pytest.raises(InputError):
        pipeline.reconstruct(np.full((8, 8, 3), np.nan), "physics:minnorm")
    with pytest.raises(InputError, match="grayscale"):
        pipeline.reconstruct(np.zeros((8, 8)), "physics:minnorm")


def test_shipped_default_model_loads_and_reproduces_the_input():
    assert (pipeline.default_model_path() / "model_index.json").is_file(), "models/default is part of the product"
    img = _photo(40, 48, seed=3)
    res = pipeline.reconstruct(img, "default", steps=2, samples=2, seed=1)
    assert res.cube.shape == (40, 48, 31) and res.std is not None and res.cube.kind == "radiance"
    model = pipeline.load_model(pipeline.default_model_path())
    lin, _ = linear_srgb(img)
    rel = np.abs(res.cube.data @ model.speuae.S.numpy() - lin).max() / lin.max()
    assert rel <= 1e-4


def test_out_of_memory_halves_the_tile_then_falls_back_to_the_cpu_and_other_errors_pass_through():
    import torch

    from hsi_studio.core.ml.reconstruct import oom_fallback

    oom = torch.cuda.OutOfMemoryError("CUDA out of memory")
    messages: list[str] = []
    assert oom_fallback(oom, 512, "cuda", messages) == (256, "cuda")
    assert oom_fallback(oom, 128, "cuda", messages) == (128, "cpu")
    assert "retrying with 256-pixel tiles" in messages[0] and "falling back to the CPU" in messages[1]
    with pytest.raises(torch.cuda.OutOfMemoryError):
        oom_fallback(oom, 128, "cpu", messages)
    with pytest.raises(ValueError):
        oom_fallback(ValueError("not memory"), 512, "cuda", messages)


def test_running_stats_give_the_mean_and_population_std_of_the_samples_and_leave_them_alone():
    import torch

    from hsi_studio.core.ml.pipelines.uldm_pipeline import RunningStats

    rng = np.random.default_rng(3)
    samples = [rng.normal(5.0, 0.01, (7, 5, 31)) for _ in range(4)]  # a large mean, a small spread: Welford's case
    stats = RunningStats()
    for i, x in enumerate(samples):
        before = x.copy()
        stats.add(torch.from_numpy(x) if i % 2 else x)  # float64 tensors and arrays: not changed in place
        np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(stats.mean(), np.mean(samples, 0), rtol=1e-6)
    np.testing.assert_allclose(stats.std(), np.std(samples, 0), rtol=1e-4)
    assert stats.mean().dtype == stats.std().dtype == np.float32
