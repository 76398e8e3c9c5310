"""The methods registry (hsi_studio.core.spectral.methods) is the one list of methods: the model list, `hsi-studio
models`, `reconstruct --model`'s help, the "expected …" errors and the evaluation baselines all derive from it; and
model_index.json is read by one function."""

import json
import subprocess
import sys

import pytest

from hsi_studio.cli import main
from hsi_studio.core.errors import FileFormatError, InputError
from hsi_studio.core.ml import bundle_index, evaluation
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.spectral import methods, recovery
from hsi_studio.services.models import method_label, model_choices, model_rows


def _bundle(folder, cls):
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": cls}))
    return folder


def test_each_method_is_registered_once_with_name_label_kind_and_loader():
    registered = pipeline.methods()
    names = [m.name for m in registered]
    assert len(names) == len(set(names))
    assert names[:3] == ["physics:mallett2019", "physics:otsu2018", "physics:minnorm"]  # recovery's order
    assert {"default", "rootpoly", "mlp", "fast"} <= set(names)
    for m in registered:
        assert m.label and m.kind in methods.KINDS and ":" in m.loader
        assert callable(m.load())  # the loader resolves (its module is imported only now)
    assert {m.kind for m in registered} == set(methods.KINDS)
    assert pipeline.methods(methods.TRAINING_FREE) == tuple(m for m in registered if not m.learned)


def test_a_name_registers_once():
    known = methods.get("physics:otsu2018")
    assert methods.register(known) is known  # the same facts again: a no-op
    with pytest.raises(ValueError, match="already registered"):
        methods.register(methods.Method(known.name, "another label", known.kind, known.loader))
    with pytest.raises(ValueError, match="expected one of"):
        methods.Method("x", "X", "diffusion", "a:b")
    with pytest.raises(ValueError, match="physics:"):
        methods.Method("physics:x", "X", methods.PER_PIXEL, "a:b")


def test_recovery_lists_derive_from_the_registry():
    free = pipeline.methods(methods.TRAINING_FREE)
    assert recovery.METHODS == tuple(m.key for m in free)
    assert recovery.METHOD_LABELS == {m.key: m.label for m in free}
    assert [m.__name__.rsplit(".", 1)[-1] for m in recovery.MODULES] == ["mallett2019", "otsu2018", "cohen1982"]
    for module in recovery.MODULES:
        assert module.METHOD in free and "DOI: 10." in module.__doc__  # one module per method, with its reference


def test_every_method_is_in_the_model_list_and_hsi_studio_models(capsys):
    specs = [spec for _label, spec, _ok in model_choices()]
    rows = model_rows()
    listed = [r["model"] for r in rows]
    assert main(["models", "--json"]) == 0
    assert [r["model"] for r in json.loads(capsys.readouterr().out)] == listed
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for m in pipeline.methods():
        if not m.learned:
            assert m.name in specs and m.name in listed and f"Baseline: {m.label}" in text
        elif m.name == pipeline.DEFAULT:
            assert listed[0] == "default"  # listed installed or not
        elif pipeline.installed(m):
            assert m.name in listed and m.label in text
            row = rows[listed.index(m.name)]
            assert row["kind"] == m.kind and methods.BUNDLE_KINDS[row["class"]] == m.kind
    kinds = {r["model"]: r.get("kind") for r in rows}
    assert all(kinds[m.name] == methods.TRAINING_FREE for m in pipeline.methods(methods.TRAINING_FREE))


def test_method_labels_come_from_the_registry():
    for m in pipeline.methods():
        label = method_label(m.name)
        if not m.learned:
            assert label == m.label
        elif m.kind in (methods.PER_PIXEL, methods.FAST):
            assert label.endswith(f": {m.label}")
        else:
            assert label == m.name
    assert method_label("physics:nope") == "physics:nope" and method_label("/a/bundle") == "/a/bundle"


def test_every_method_is_in_the_model_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: nothing wrapped
    with pytest.raises(SystemExit):
        main(["reconstruct", "--help"])
    text = capsys.readouterr().out
    assert pipeline.model_help() in text
    for m in pipeline.methods():
        assert (m.key if not m.learned else m.name) in pipeline.model_help()
    assert "physics:" + "|".join(recovery.METHODS) in text


def test_an_unknown_method_is_refused_with_the_registered_names(tmp_path):
    free = [m.name for m in pipeline.methods(methods.TRAINING_FREE)]
    with pytest.raises(InputError) as info:
        pipeline.resolve_model("physics:nope")
    assert str(info.value).endswith("expected default, a bundle folder, or " + ", ".join(free))
    with pytest.raises(InputError) as info:
        pipeline.resolve_model(str(tmp_path / "nope"))
    shipped = [m.name for m in pipeline.methods() if m.learned and m.name != "default"]
    assert f"a bundle name in models/ ({', '.join(shipped)})" in str(info.value)
    assert "physics:" + "|".join(m.key for m in pipeline.methods(methods.TRAINING_FREE)) in str(info.value)
    with pytest.raises(InputError, match="expected one of " + ", ".join(recovery.METHODS)):
        recovery.check_method("nope")


def test_evaluation_baselines_are_the_registry_baselines():
    free = pipeline.methods(methods.TRAINING_FREE)
    assert evaluation.ANALYTIC == tuple(m.name for m in free)
    assert evaluation.LEARNED_BASELINES == tuple(m.name for m in pipeline.methods() if m.learned and m.baseline)
    assert evaluation.LEARNED_BASELINES == ("rootpoly", "mlp")
    assert evaluation.D65_WHITE == ("physics:mallett2019", "physics:otsu2018")
    want = [m.name for m in free] + [m.name for m in pipeline.methods() if m.learned and m.baseline
                                     and pipeline.installed(m)]
    assert evaluation.baselines() == want


def test_a_shipped_model_is_installed_only_with_the_class_its_kind_needs(tmp_path, monkeypatch):
    monkeypatch.setenv("HSI_STUDIO_MODELS", str(tmp_path))
    _bundle(tmp_path / "rootpoly", "PixelRegression")
    _bundle(tmp_path / "mlp", "SpatialResidual")  # the wrong class for a per-pixel regression
    assert pipeline.installed(methods.get("rootpoly")) and not pipeline.installed(methods.get("mlp"))
    assert not pipeline.installed(methods.get("fast"))  # no bundle
    assert evaluation.baselines() == [*evaluation.ANALYTIC, "rootpoly"]


def test_model_index_is_read_by_one_function(tmp_path):
    from hsi_studio.core.ml.models import bundle

    assert bundle.read_index is bundle_index.read_index
    assert set(bundle.ALLOWED_COMPONENTS) == set(bundle_index.COMPONENT_CLASSES)
    assert pipeline.bundle_class is bundle_index.bundle_class
    odd = _bundle(tmp_path / "odd", "StableDiffusionPipeline")
    assert bundle_index.bundle_class(odd) == "StableDiffusionPipeline"  # listing reads any class …
    with pytest.raises(FileFormatError, match="unknown bundle class 'StableDiffusionPipeline'"):
        bundle_index.read_index(odd)  # … loading only the allow-listed ones
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model_index.json").write_text("{not json")
    assert bundle_index.bundle_class(tmp_path / "bad") is None and bundle_index.bundle_class(tmp_path / "no") is None
    with pytest.raises(FileFormatError, match="model_index.json is not valid JSON"):
        bundle.load_base(tmp_path / "bad")
    with pytest.raises(InputError, match="has no model_index.json; expected an rgb-pretrain model folder"):
        bundle.load_base(tmp_path)
    with pytest.raises(FileFormatError, match="model_index.json is missing"):
        bundle_index.read_index(tmp_path)
    bad_role = tmp_path / "role"
    bad_role.mkdir()
    (bad_role / "model_index.json").write_text(json.dumps({"_class_name": "ULDM", "vae": ["hsi_studio", "SpeUAE"]}))
    with pytest.raises(FileFormatError, match="component 'vae' has class SpeUAE; expected AutoencoderKL"):
        bundle_index.read_index(bad_role)


def test_the_registry_and_the_model_list_load_no_torch():
    code = ("import sys; from hsi_studio.core.ml import reconstruct as r; from hsi_studio.services.models import "
            "model_rows; r.methods(); r.model_help(); model_rows(); r.resolve_model('physics:otsu2018'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
