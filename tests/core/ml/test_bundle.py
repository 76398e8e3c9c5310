"""Model bundles: diffusers folder layout, identical outputs after save → load, manifest verification,
allow-listed class names, pickle refusal, atomic writes."""

import json

import numpy as np
import pytest
import torch
from factories import tiny_uldm

from hsi_studio.core.errors import FileFormatError, InputError, UnsafeFileError
from hsi_studio.core.ml.models import (
    RGBLDM,
    ULDM,
    SpeUAE,
    load_bundle,
    load_uldm,
    save_rgbldm,
    save_speuae,
    save_uldm,
)
from hsi_studio.core.ml.models import bundle as bundle_mod
from hsi_studio.core.ml.models.bundle import ALLOWED_COMPONENTS, bundle_info
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline
from hsi_studio.core.storage.manifest import write_manifest
from hsi_studio.core.storage.provenance import file_sha256 as sha256

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def uldm():
    return tiny_uldm()


@pytest.fixture(scope="module")
def saved(uldm, tmp_path_factory):
    return save_uldm(uldm, tmp_path_factory.mktemp("bundles") / "uldm")


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


RGB = np.random.default_rng(0).uniform(0.05, 0.8, (16, 16, 3)).astype(np.float32)


def test_layout_index_spectral_and_manifest(saved, uldm):
    index = json.loads((saved / "model_index.json").read_text())
    assert index["_class_name"] == "ULDM"
    assert index["speuae"] == ["hsi_studio", "SpeUAE"]
    assert index["vae"] == ["diffusers", "AutoencoderKL"] and index["unet"] == ["diffusers", "UNet2DModel"]
    for comp in ("speuae", "vae", "unet"):
        assert (saved / comp / "config.json").is_file()
        assert (saved / comp / "diffusion_pytorch_model.safetensors").is_file()
    sched = json.loads((saved / "scheduler" / "scheduler_config.json").read_text())
    assert sched["num_train_timesteps"] == 1000 and sched["prediction_type"] == "v_prediction"
    spectral = json.loads((saved / "spectral.json").read_text())
    assert spectral["wavelengths"] == list(np.arange(400, 701, 10.0))
    np.testing.assert_allclose(spectral["response"]["matrix"], uldm.speuae.config.response)
    assert "rgb" in spectral
    manifest = json.loads((saved / "manifest.json").read_text())
    files = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    assert all(manifest["files"][f] == sha256(saved / f) for f in files)
    assert {"torch", "diffusers"} <= set(manifest["versions"]) and manifest["created"]
    assert not list(saved.parent.glob(".uldm*"))  # no temporary folder left behind
    assert bundle_info(saved)["class"] == "ULDM"


def test_uldm_roundtrip_gives_identical_outputs(saved, uldm):
    loaded = load_uldm(saved, device="cpu")
    assert isinstance(loaded, ULDM) and loaded.unet.config.in_channels == 8
    for a, b in zip(uldm.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert a[0] == b[0]
        torch.testing.assert_close(a[1], b[1], rtol=0, atol=0)
    m1, s1 = ULDMPipeline(uldm)(RGB, steps=2, samples=2, seed=3)
    m2, s2 = ULDMPipeline(loaded)(RGB, steps=2, samples=2, seed=3)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)


def test_speuae_and_rgbldm_roundtrip(tmp_path, uldm):
    path = save_speuae(uldm.speuae, tmp_path / "s1")
    loaded = load_bundle(path)
    assert isinstance(loaded, SpeUAE)
    x = torch.rand(1, 31, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)[0], uldm.speuae(x)[0], rtol=0, atol=0)
    torch.manual_seed(4)
    rgb = RGBLDM.create(tiny=True)
    rgb.encode_latents(torch.rand(2, 3, 32, 32) * 2 - 1)  # measures the latent scale
    back = load_bundle(save_rgbldm(rgb, tmp_path / "rgb"))
    assert isinstance(back, RGBLDM)
    assert float(back.latent_scale) == pytest.approx(float(rgb.latent_scale))
    z = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(back.decode_latents(z), rgb.decode_latents(z), rtol=0, atol=0)


def test_tampered_weights_are_refused(saved, tmp_path):
    path = _copy(saved, tmp_path / "t")
    weights = path / "unet" / "diffusion_pytorch_model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    weights.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="sha256"):
        load_bundle(path)


def test_missing_files_are_refused(saved, tmp_path):
    path = _copy(saved, tmp_path / "m")
    (path / "vae" / "config.json").unlink()
    with pytest.raises(FileFormatError, match="missing"):
        load_bundle(path)
    path = _copy(saved, tmp_path / "m2")
    (path / "manifest.json").unlink()
    with pytest.raises(FileFormatError, match="manifest"):
        load_bundle(path)
    with pytest.raises(InputError):
        load_bundle(tmp_path / "does-not-exist")


def test_unlisted_weights_are_refused(saved, tmp_path):
    path = _copy(saved, tmp_path / "u")
    (path / "unet" / "extra.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(FileFormatError, match="not listed"):
        load_bundle(path)


@pytest.mark.parametrize("name", ["diffusion_pytorch_model.bin", "weights.pt", "model.ckpt", "x.pkl"])
def test_pickle_files_are_refused(saved, tmp_path, name):
    path = _copy(saved, tmp_path / "p")
    (path / "unet" / name).write_bytes(b"\x80\x04pickle")
    with pytest.raises(UnsafeFileError, match="safetensors"):
        load_bundle(path)


@pytest.mark.parametrize("where,value", [("unet", ["os", "system"]), ("_class_name", "Popen")])
def test_unknown_class_names_are_refused_by_the_allow_list(saved, tmp_path, where, value):
    path = _copy(saved, tmp_path / "c")
    index = json.loads((path / "model_index.json").read_text())
    index[where] = value
    (path / "model_index.json").write_text(json.dumps(index))
    (path / "manifest.json").unlink()
    write_manifest(path)  # even a consistent manifest does not make an unknown class loadable
    with pytest.raises(FileFormatError, match="allow-list") as info:
        load_bundle(path)
    if where == "unet":
        assert all(name in str(info.value) for name in ALLOWED_COMPONENTS)


def test_failed_save_keeps_the_previous_bundle(uldm, tmp_path, monkeypatch):
    dest = save_uldm(uldm, tmp_path / "keep")
    before = json.loads((dest / "manifest.json").read_text())["files"]

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod, "write_manifest", boom)
    with pytest.raises(OSError, match="disk full"):
        save_uldm(uldm, dest)
    assert json.loads((dest / "manifest.json").read_text())["files"] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]  # temporary folder cleaned up
    monkeypatch.undo()
    assert save_uldm(uldm, dest) == dest and isinstance(load_bundle(dest), ULDM)  # overwriting works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_loading_the_wrong_kind_says_what_it_holds(tmp_path, uldm):
    path = save_speuae(uldm.speuae, tmp_path / "s1")
    with pytest.raises(InputError, match="SpeUAE"):
        load_uldm(path)
