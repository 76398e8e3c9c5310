"""Short training runs (a quick try, a smoke test) finish: every step count of the per-pixel MLP's one-cycle
schedule works, 20 steps included (its warm-up used to end on step 0: ZeroDivisionError)."""

import pytest
from factories import smooth_cubes

from hsi_studio.core.ml.data import TrainingSource
from hsi_studio.core.ml.training.regression_fit import fit_regression


@pytest.mark.parametrize("steps", [1, 2, 19, 20, 21])
def test_mlp_fits_for_any_step_count(steps, one_torch_thread):
    source = TrainingSource(smooth_cubes(2, 16, 0, block=4), None, 0.0, "cie1964-srgb", seed=0,
                            sim={"light": "D65"})
    model = fit_regression(source, "mlp", steps=steps, batch=256, hidden=8, seed=0)
    assert not model.training
