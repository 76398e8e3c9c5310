"""The Reconstruct dock with a learned model: a tiny random ULDM bundle in a models folder is listed, runs on
the worker through ``pipeline.reconstruct`` with steps / samples / seed, reaches 100 % and shows the cube and
its uncertainty."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pipeline = pytest.importorskip("hsi_studio.core.ml.reconstruct")


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    from factories import tiny_uldm

    from hsi_studio.core.ml.models import save_uldm

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models run fastest on one thread
    root = tmp_path_factory.mktemp("models")
    save_uldm(tiny_uldm(seed=0), root / "tiny-uldm")
    yield root
    torch.set_num_threads(before)


def test_reconstruct_with_a_tiny_learned_model(window, qtbot, models_folder, rgb_photo):
    from hsi_studio.core.spectral.responses import ObservableSplit, srgb_decode

    window.set_rgb(rgb_photo)
    dock = window.dock
    dock.choose_models_folder(str(models_folder))
    index = dock.model.findData(str(models_folder / "tiny-uldm"))
    assert index >= 0 and dock.model.itemText(index) == "Bundle: tiny-uldm"
    dock.model.setCurrentIndex(index)
    assert dock.steps.isEnabled() and dock.samples.isEnabled() and dock.device.isEnabled()
    dock.steps.setValue(2)
    dock.samples.setValue(2)
    dock.device.setCurrentIndex(dock.device.findData("cpu"))
    fractions = []
    with qtbot.waitSignal(dock.result_ready, timeout=60000) as blocker:
        assert dock.run()
        dock.job.progress.connect(lambda f, m: fractions.append(f))
    result = blocker.args[0]
    assert dock.progress.value() == 1000 and fractions[-1] == pytest.approx(1.0)
    assert result.cube.shape == (48, 64, 31) and result.std is not None and result.device == "cpu"
    assert window.cube is result.cube and window.std is result.std
    # The learned cube reproduces the photo's RGB (the observable/unobservable split).
    split = ObservableSplit()
    lin = srgb_decode(rgb_photo.data)
    assert np.abs(split.project(result.cube.data) - lin).max() < 0.02
    # The uncertainty band is drawn around a clicked pixel.
    window.spectrum.on_click(5, 5, False)
    assert window.spectrum.std_hi.yData is not None and len(window.spectrum.std_hi.yData) == 31
    qtbot.waitUntil(lambda: dock.devices is not None, timeout=30000)  # the lazy device probe finished
    assert dock.device.itemText(1).startswith("cpu")
