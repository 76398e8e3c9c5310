"""Where things live: models hold components (forward passes), pipelines run them, the training losses live
with the stages; one owner for devices, schedulers and sampling checks; no import circle among the models."""

import argparse
import ast
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "hsi_studio" / "core" / "ml" / "models"
COMPONENTS = ("rgb_base", "speuae", "refiner", "regression", "uldm")


def _imports(path: Path, package: str) -> list[tuple[str, bool]]:
    """(absolute module name, at module level?) for every import in a file, function-level ones included."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [f"{mod}.{a.name}" for a in node.names]
            out += [(n, id(node) in top) for n in [mod, *names]]
    return out


def _model_graph() -> dict[str, set[str]]:
    mods = {f"hsi_studio.core.ml.models.{p.stem}": p for p in MODELS.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for name, _ in _imports(path, "hsi_studio.core.ml.models"):
            if name in mods and name != mod:
                graph[mod].add(name)
    return graph


def test_models_import_graph_is_acyclic():
    graph = _model_graph()
    assert {"hsi_studio.core.ml.models.bundle", "hsi_studio.core.ml.models.uldm"} <= set(graph)
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, f"import cycle: {' → '.join([*path, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_models_import_each_other_at_module_level_and_components_never_import_bundle_or_pipelines():
    for path in MODELS.glob("*.py"):
        for name, top in _imports(path, "hsi_studio.core.ml.models"):
            if name.startswith("hsi_studio.core.ml.models.") and name.count(".") == 4:
                assert top, f"{path.name} imports {name} inside a function (an import circle dodged?)"
            if path.stem in COMPONENTS:
                assert not name.startswith(("hsi_studio.core.ml.models.bundle", "hsi_studio.core.ml.pipelines",
                                            "hsi_studio.core.ml.reconstruct", "hsi_studio.core.ml.training.losses")), \
                    f"component module {path.name} imports {name}"


def test_models_hold_no_sampling_losses_or_persistence():
    from hsi_studio.core.ml.models import RGBLDM, ULDM, SpeUAE
    from hsi_studio.core.ml.models.regression import PixelRegression

    for cls, names in ((ULDM, ("reconstruct", "sample", "training_loss", "spaae_loss", "refine_loss", "save",
                                "load", "make_scheduler")),
                       (RGBLDM, ("vae_loss", "denoise_loss", "save")), (SpeUAE, ("loss", "save")),
                       (PixelRegression, ("reconstruct",))):
        present = [n for n in names if n in vars(cls)]
        assert not present, f"{cls.__name__} still has {present}"
    from hsi_studio.core.ml.models import regression

    assert not hasattr(regression, "fit_regression")  # fitting is training: core.regression_fit


def test_one_owner_for_schedulers_and_sampling_checks():
    from hsi_studio.cli import build_parser
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.pipelines import checks

    assert pipeline.SCHEDULERS is checks.SCHEDULERS
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rec = sub.choices["reconstruct"]
    assert next(a for a in rec._actions if a.dest == "scheduler").choices == checks.SCHEDULERS
    for kwargs, needle in (({"steps": 0}, "steps"), ({"samples": 65}, "samples"), ({"scheduler": "euler"},
                           "scheduler"), ({"precision": "fp8"}, "precision"), ({"tile": 10}, "tile")):
        with pytest.raises(InputError, match=needle):
            checks.check_sampling(**kwargs)
    for path in ("core/ml/reconstruct.py", "core/ml/models/uldm.py", "commands/reconstruct.py", "core/ml/pipelines/uldm_pipeline.py"):
        text = (ROOT / "hsi_studio" / path).read_text()
        assert '("dpmsolver++", "ddim")' not in text and "def _check_counts" not in text, path


def test_inference_and_training_choose_devices_through_core_devices(monkeypatch, tmp_path, one_torch_thread):
    from hsi_studio.core.ml import devices
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.training.engine import run_training
    from hsi_studio.core.ml.training.stages import default_config, make_stage

    calls = []

    def fake(device):
        calls.append(device)
        if device == "train-here":
            raise RuntimeError("training asked core.devices")
        return "cpu"

    monkeypatch.setattr(devices, "resolve_device", fake)
    rgb = np.random.default_rng(0).uniform(0, 1, (8, 8, 3)).astype(np.float32)
    res = pipeline.reconstruct(rgb, "rootpoly", device="inference-here")
    assert res.device == "cpu" and calls == ["inference-here"]
    cfg = default_config("stage1", tiny=True)
    cfg.device = "train-here"  # the engine passes it to core.devices unchanged
    with pytest.raises(RuntimeError, match="core.devices"):
        run_training(make_stage("stage1", cfg), cfg, tmp_path / "run")
    assert calls[-1] == "train-here"
    for path in ("core/ml/reconstruct.py", "core/ml/training/engine.py"):
        assert "def resolve_device" not in (ROOT / "hsi_studio" / path).read_text()


# -- ULDMPipeline on a tiny random model (the shared ``tiny_uldm`` fixture, tests/conftest.py) -----------------
def test_uldm_pipeline_gives_the_same_mean_and_std_as_before(tiny_uldm, one_torch_thread):
    """The sums below pin the pipeline's output (recomputed when highlights got their cap, models/bounds.py:
    this random model puts a few bands above it)."""
    from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

    rgb = np.random.default_rng(0).uniform(0.02, 0.9, (13, 21, 3)).astype(np.float32)
    pipe = ULDMPipeline(tiny_uldm)
    mean, std = pipe(rgb, steps=2, samples=3, seed=5)
    assert mean.shape == std.shape == (13, 21, 31) and mean.dtype == std.dtype == np.float32
    assert float(mean.astype(np.float64).sum()) == pytest.approx(3035.8091716718573, rel=1e-6)
    assert float(std.astype(np.float64).sum()) == pytest.approx(28.143285209681608, rel=1e-5)
    one, none = pipe(rgb, steps=2, samples=1, seed=5, scheduler="ddim")
    assert none is None  # samples=1: no std (the convention the CLI and GUI rely on)
    assert float(one.astype(np.float64).sum()) == pytest.approx(3034.3838421592855, rel=1e-6)
    tiled, tiled_std = pipe(rgb, steps=2, samples=2, seed=5, tile=64, overlap=16)  # fits one tile: unchanged
    again, again_std = pipe(rgb, steps=2, samples=2, seed=5)
    np.testing.assert_array_equal(tiled, again)
    np.testing.assert_array_equal(tiled_std, again_std)


def test_the_reconstruction_entry_point_refuses_a_non_reconstructing_model(tiny_uldm):
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml import reconstruct as pipeline

    with pytest.raises(InputError, match="SpeUAE"):
        pipeline.pipeline_for(tiny_uldm.speuae)
    assert type(pipeline.pipeline_for(tiny_uldm)).__name__ == "ULDMPipeline"


def test_bundles_are_written_by_functions_of_the_bundle_module(tiny_uldm, tmp_path):
    from torch import nn

    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml.models import SpeUAE, load_bundle, save_model

    path = save_model(tiny_uldm.speuae, tmp_path / "s1")
    assert isinstance(load_bundle(path), SpeUAE)
    with pytest.raises(InputError, match="Linear"):
        save_model(nn.Linear(2, 2), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
