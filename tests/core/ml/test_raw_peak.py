"""A working model is judged on its output as a whole: one wild pixel (an out-of-gamut colour of a
chart-calibrated photo, where the default gave 189 at one pixel of a real ColorChecker photo) is capped to a
plausible, RGB-exact spectrum, while a broken model, wild everywhere, is still refused by the range check."""

import numpy as np
import pytest
import torch

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.models.bounds import (
    BROKEN_FACTOR,
    raw_peak,
    reflectance_cap,
    upper_bounded_consistent,
)
from hsi_studio.core.ml.reconstruct import check_physical_range
from hsi_studio.core.spectral.responses import camera_response


def _scene(n=400, seed=0):
    resp = camera_response("cie1964-srgb")
    S = torch.from_numpy(np.asarray(resp.matrix, dtype=np.float32))
    light = np.ones(S.shape[0], dtype=np.float32)
    x = torch.from_numpy(np.random.default_rng(seed).uniform(0.1, 0.9, (n, S.shape[0])).astype(np.float32))
    return x, x @ S, S, light


def test_one_wild_pixel_does_not_make_the_peak():
    x, _, _, _ = _scene()
    x[7] = 189.0
    assert raw_peak(x) < 1.0 and float(x.max()) == 189.0


def test_a_model_wild_everywhere_keeps_its_peak_and_nan_is_infinite():
    x, _, _, _ = _scene()
    assert raw_peak(x * 1e6) > 1e5
    x[3, 2] = float("nan")
    assert raw_peak(x) == float("inf")


def test_a_wild_pixel_is_capped_rgb_exactly_and_the_reconstruction_passes_the_range_check():
    x, y, S, light = _scene()
    x[7] = 189.0
    y_keep = y.clone()
    out = upper_bounded_consistent(x, y, S, light, raw_peak=raw_peak(x))
    assert float(out.max()) <= float(reflectance_cap(y, light).max()) * (1 + 1e-6)
    assert torch.allclose(out[:7], x[:7]) and torch.allclose(out[8:], x[8:])
    check_physical_range(out.numpy(), y_keep.numpy(), "m")  # no error


def test_a_broken_model_is_left_as_it_is_and_refused():
    x, y, S, light = _scene()
    wild = x * 1e4
    assert raw_peak(wild) > BROKEN_FACTOR * float(reflectance_cap(y, light).max())
    out = upper_bounded_consistent(wild, y, S, light, raw_peak=raw_peak(wild))
    assert torch.equal(out, wild)
    with pytest.raises(InputError, match="outside the physical range"):
        check_physical_range(out.numpy(), y.numpy(), "m")
