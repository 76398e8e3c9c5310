"""The one-pass models' inference path (made for speed) gives the values of the training forward:
the vectorised non-negative projection against the per-pixel loop it replaced, ``PixelRegression.predict`` and
``FastModel.infer`` against ``forward`` (oneDNN's fused kernels and the eager fallback), the transposed
convolution that replaces upsample + 3×3 convolution, and the pipelines (streamed tiles equal in-memory ones
bit for bit). No timings here: speed is measured by ``benchmarks/speed.py``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hsi_studio.core.ml.models import regression as regression_module
from hsi_studio.core.ml.models.bounds import photo_light, upper_bounded_consistent
from hsi_studio.core.ml.models.regression import PixelRegression, nonnegative_consistent
from hsi_studio.core.ml.models.spatial import FastModel, _upsampled_conv
from hsi_studio.core.ml.pipelines import tiling
from hsi_studio.core.ml.pipelines.regression_pipeline import RegressionPipeline
from hsi_studio.core.ml.pipelines.spatial_pipeline import SpatialPipeline
from hsi_studio.core.spectral.responses import camera_response

RESPONSE = camera_response("cie1964-srgb")
S = torch.tensor(RESPONSE.matrix, dtype=torch.float32)


def _loop_projection(x, y, S, iters=12):
    """The active-set projection as it was before it was vectorised (per-pixel Gram matrices and LU solves)."""
    neg = (x < 0).any(dim=-1)
    if not bool(neg.any()):
        return x
    x0, ys, s = x[neg].double(), y[neg].double(), S.double()
    free = torch.ones_like(x0, dtype=torch.bool)
    xs = x0
    eye = torch.eye(3, dtype=torch.float64) * 1e-12
    for _ in range(iters):
        free = free & (xs >= 0)
        sf = s[None] * free[..., None]
        gram = sf.transpose(1, 2) @ sf + eye
        resid = ys - ((x0 * free)[:, None, :] @ s)[:, 0]
        lam = torch.linalg.solve(gram, resid[..., None])
        xs = (x0 + (sf @ lam)[..., 0]) * free
        if bool((xs >= 0).all()):
            break
    out = x.clone()
    out[neg] = xs.clamp_min(0).to(x.dtype)
    return out


def _spectra(n=6000, seed=0):
    """Plausible spectra with negative dips, their RGB, black pixels and a few out-of-gamut RGB values."""
    g = torch.Generator().manual_seed(seed)
    wl = torch.linspace(0, 1, S.shape[0])
    centres = torch.rand(n, 3, generator=g)
    x = sum(torch.exp(-0.5 * ((wl - centres[:, i:i + 1]) / 0.15) ** 2) * torch.rand(n, 1, generator=g)
            for i in range(3))
    x = x - 0.15 * torch.rand(n, 1, generator=g) * torch.sin(6.28 * wl * torch.rand(n, 1, generator=g) * 3)
    y = x @ S
    y[:300] = 0.0                                                    # black pixels
    x[:300] = -1e-4 * torch.rand(300, S.shape[0], generator=g)
    y[300:400, 1] = -0.02                                            # out of gamut: no non-negative spectrum
    return x.float(), y.float()


def test_vectorised_projection_equals_the_per_pixel_loop():
    x, y = _spectra()
    assert int((x < 0).any(-1).sum()) > 1000
    ref = _loop_projection(x, y, S)
    out = nonnegative_consistent(x, y, None, S)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float((out - ref).abs().max()) <= 1e-6 * float(ref.abs().max())
    assert float(out.min()) >= 0
    def reprojection(z):
        return (z.double() @ S.double() - y.double()).abs().amax(dim=-1)

    exact = reprojection(ref) < 1e-6                                 # where a non-negative spectrum exists
    assert int(exact.sum()) > 4000 and float(reprojection(out)[exact].max()) < 1e-6
    assert torch.equal(out[:300], torch.zeros_like(out[:300]))       # black stays black
    untouched = ~(x < 0).any(-1)
    assert torch.equal(out[untouched], x[untouched])


def test_projection_of_degenerate_pixels_matches_the_loop():
    """Random spectra that are mostly negative leave one or two free bands: the closed-form solve must hand
    those nearly singular systems to LU, as the loop did."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3000, S.shape[0], generator=g)
    y = torch.rand(3000, 3, generator=g) * 2 - 0.3
    ref, out = _loop_projection(x, y, S), nonnegative_consistent(x, y, None, S)
    assert float((out - ref).abs().max()) <= 1e-6 * float(ref.abs().max())


def test_projection_in_place_and_in_any_shape():
    x, y = _spectra(n=2048, seed=1)
    x4, y4 = x.reshape(2, 32, 32, -1).clone(), y.reshape(2, 32, 32, 3)
    ref = nonnegative_consistent(x4, y4, None, S)
    assert ref.shape == x4.shape and float(x4.min()) < 0             # the input is left alone by default
    same = nonnegative_consistent(x4, y4, None, S, inplace=True)
    assert same is x4 and torch.equal(x4, ref)
    clean = x.clamp_min(0)
    assert nonnegative_consistent(clean, y, None, S) is clean         # nothing negative: the input itself


@pytest.mark.parametrize("kind", ["rootpoly", "mlp"])
@pytest.mark.parametrize("fused", [True, False])
def test_predict_equals_forward(kind, fused, monkeypatch):
    torch.manual_seed(0)
    model = PixelRegression.from_response(RESPONSE, kind=kind, degree=3, hidden=32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    if not fused:
        monkeypatch.setattr(regression_module, "_FUSED_OPS", False)
    monkeypatch.setattr(regression_module, "PREDICT_ROWS", 1000)     # several blocks and a ragged last one
    y = torch.rand(4321, 3) * 1.2
    y[:50] = 0
    with torch.inference_mode():
        ref, out = model(y), model.predict(y)
        part, grid = model.predict(y[:3000]), model.predict(y[:4320].reshape(60, 72, 3))
    tol = 2e-6 * float(ref.abs().max())
    assert float((part - out[:3000]).abs().max()) <= tol                # pixel by pixel: any batch
    assert grid.shape == (60, 72, S.shape[0]) and float((grid.reshape(-1, S.shape[0]) - out[:4320]).abs().max()) <= tol
    assert float((out - ref).abs().max()) <= 2e-6 * float(ref.abs().max())


def test_predict_is_differentiable_outside_inference():
    """With gradients on, ``predict`` takes the eager path (oneDNN's fused kernels have no backward)."""
    model = PixelRegression.from_response(RESPONSE, kind="mlp", hidden=16)
    out = model.predict(torch.rand(64, 3))
    out.sum().backward()
    assert model.net[0].weight.grad is not None


def _fast(width=8, seed=0):
    torch.manual_seed(seed)
    prior = PixelRegression.from_response(RESPONSE, kind="mlp", hidden=16)
    model = FastModel.from_prior(prior, width=width)
    with torch.no_grad():                                            # a trained-looking, non-zero network
        for p in model.spatial.parameters():
            p.normal_(0, 0.15)
    return model.eval()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("shape", [(64, 64), (37, 45), (6, 9)])
def test_fast_infer_equals_forward(fused, shape, monkeypatch):
    if not fused:
        monkeypatch.setattr(regression_module, "_FUSED_OPS", False)
    model = _fast()
    y = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(2)) * 0.9 + 0.05
    with torch.inference_mode():
        ref, out = model(y), model.infer(y)
        prior = model.prior_of(y)
    assert out.shape == ref.shape == (1, S.shape[0], *shape)
    assert float((ref - prior).abs().max()) > 1e-2                    # the residual is not zero
    assert float((out - ref).abs().max()) <= 2e-6 * float(ref.abs().max())
    if shape[0] % 4 == 0 and shape[1] % 4 == 0:                        # (else it is padded and cropped)
        assert out.permute(0, 2, 3, 1).is_contiguous()                 # pixel-major without a copy


def test_zero_residual_infer_returns_the_prior_exactly():
    torch.manual_seed(0)
    model = FastModel.from_prior(PixelRegression.from_response(RESPONSE, kind="mlp", hidden=16)).eval()
    y = torch.rand(1, 3, 24, 28)
    with torch.inference_mode():
        assert torch.equal(model.infer(y), model.prior_of(y))


@pytest.mark.parametrize("size", [(5, 7), (16, 16)])
def test_upsampled_conv_is_a_transposed_convolution(size):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, *size, generator=g, dtype=torch.float64)
    w = torch.randn(4, 6, 3, 3, generator=g, dtype=torch.float64)
    ref = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)
    assert torch.allclose(_upsampled_conv(x, w), ref, atol=1e-12)


def test_pipelines_match_their_models():
    model = _fast()
    rgb = np.random.default_rng(4).random((70, 90, 3)).astype(np.float32) * 0.9 + 0.05
    fast, std = SpatialPipeline(model)(rgb)
    y = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    with torch.inference_mode():
        ref = model(y)[0].permute(1, 2, 0).reshape(-1, S.shape[0])
        ref = nonnegative_consistent(ref, torch.from_numpy(rgb).reshape(-1, 3), None, model.S)
        # the pipelines also cap highlights (models/bounds.py; a random model exceeds the cap)
        ref = upper_bounded_consistent(ref, torch.from_numpy(rgb).reshape(-1, 3), model.S, photo_light(model.response))
    ref = ref.reshape(70, 90, -1).numpy()
    assert std is None and fast.dtype == np.float32 and float(fast.min()) >= 0
    assert np.abs(fast - ref).max() <= 2e-6 * np.abs(ref).max()
    with torch.inference_mode():
        expect = model.prior_of(y)[0].permute(1, 2, 0).reshape(-1, S.shape[0])
        expect = upper_bounded_consistent(expect, torch.from_numpy(rgb).reshape(-1, 3), model.S,
                                          photo_light(model.response)).reshape(70, 90, -1).numpy()
    whole, _ = RegressionPipeline(model.prior)(rgb)
    assert np.abs(whole - expect).max() <= 1e-6 * np.abs(expect).max()


def test_streamed_tiles_equal_the_in_memory_tiles_exactly():
    """The streamed reconstruction relies on each tile giving the same bits whichever way it is run."""
    prior = PixelRegression.from_response(RESPONSE, kind="mlp", hidden=16).eval()
    rgb = np.random.default_rng(5).random((150, 70, 3)).astype(np.float32)
    whole, _ = RegressionPipeline(prior)(rgb, tile=64, overlap=16)
    rows = np.zeros_like(whole)

    def sink(top, mean, std):
        rows[top:top + len(mean)] = mean

    with tiling.streaming(sink):
        assert RegressionPipeline(prior)(rgb, tile=64, overlap=16) == (None, None)
    assert np.array_equal(rows, whole)
