"""Hostile bundles and training runs: the bundle loader loads what it hashes and refuses symbolic links,
bounds every config size before building anything, refuses non-float and absurd weights and a
reconstruction far outside the physical range; ``--resume`` uses the recorded seed, and SIGTERM repeated
during training still exits 130 with one checkpoint saved. Each test failed before its fix."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from factories import astronaut_crop
from safetensors.torch import load_file, save_file

from hsi_studio.cli import main
from hsi_studio.core.cube import RGBImage
from hsi_studio.core.errors import FileFormatError, InputError, UnsafeFileError
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.ml.models import limits
from hsi_studio.core.ml.models.bundle import load_bundle
from hsi_studio.core.storage import manifest as manifests

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
WEIGHTS = "diffusion_pytorch_model.safetensors"


def _copy(name: str, dest: Path) -> Path:
    out = dest / name
    shutil.copytree(MODELS / name, out)
    return out


def _reseal(folder: Path) -> None:
    """Rewrite the manifest after an edit (what an attacker with write access can do: the manifest protects
    against corruption; the loader's checks protect against what a consistent bundle describes)."""
    old = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").unlink()
    manifests.write_manifest(folder, {k: v for k, v in old.items() if k != "files"})


def _edit_config(folder: Path, component: str, **changes) -> None:
    p = folder / component / "config.json"
    cfg = json.loads(p.read_text())
    cfg.update(changes)
    p.write_text(json.dumps(cfg))
    _reseal(folder)


def _edit_weights(folder: Path, component: str, fn) -> None:
    p = folder / component / WEIGHTS
    tensors = load_file(str(p))
    save_file({k: fn(k, v) for k, v in tensors.items()}, str(p))
    _reseal(folder)


# -- 6. the manifest cannot be bypassed ---------------------------------------------------------------------
def test_a_symlinked_component_folder_is_refused(tmp_path):
    bundle = _copy("mlp", tmp_path)
    outside = tmp_path / "elsewhere"
    shutil.move(str(bundle / "regression"), outside)  # the weights now live outside the bundle
    (bundle / "regression").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeFileError, match="regression is a symbolic link") as exc:
        load_bundle(bundle)
    assert "\n" not in str(exc.value)


def test_a_symlinked_file_at_any_depth_is_refused(tmp_path):
    bundle = _copy("mlp", tmp_path)
    real = tmp_path / "weights.safetensors"
    shutil.move(str(bundle / "regression" / WEIGHTS), real)
    (bundle / "regression" / WEIGHTS).symlink_to(real)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        load_bundle(bundle)
    # a stray link nobody lists is refused too (it could be swapped in later)
    bundle2 = _copy("rootpoly", tmp_path / "b")
    (bundle2 / "regression" / "extra").symlink_to("/etc/hostname")
    with pytest.raises(UnsafeFileError, match="regression/extra is a symbolic link"):
        load_bundle(bundle2)


def test_the_loader_parses_the_bytes_it_hashed(tmp_path, monkeypatch):
    """The weights file is rewritten in place right after its sha256 was checked: the model loaded is still the
    one the manifest describes (before: the loader re-read the file and got the new, unverified weights)."""
    bundle = _copy("mlp", tmp_path)
    weights = bundle / "regression" / WEIGHTS
    original = {k: v.clone() for k, v in load_file(str(weights)).items()}  # load_file maps the file
    tampered_path = tmp_path / "tampered.safetensors"
    save_file({k: v * 1000 for k, v in original.items()}, str(tampered_path))
    tampered = tampered_path.read_bytes()
    digest = json.loads((bundle / "manifest.json").read_text())["files"][f"regression/{WEIGHTS}"]
    real_sha256 = hashlib.sha256

    class Spy:
        def __init__(self, *args):
            self._h = real_sha256(*args)

        def update(self, data):
            self._h.update(data)

        def hexdigest(self):
            out = self._h.hexdigest()
            if out == digest:  # the weights were just verified: overwrite them in place
                with open(weights, "r+b") as f:  # the same inode, rewritten
                    f.write(tampered)
                    f.truncate()
            return out

    monkeypatch.setattr(hashlib, "sha256", Spy)
    model = load_bundle(bundle)
    monkeypatch.setattr(hashlib, "sha256", real_sha256)
    assert weights.read_bytes() == tampered  # the file did change under the loader
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in original.items())


def test_a_file_over_the_size_ceiling_is_refused_before_it_is_read(tmp_path, monkeypatch):
    bundle = _copy("mlp", tmp_path)
    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 10_000)
    with pytest.raises(FileFormatError, match="expected at most 10,000"):
        load_bundle(bundle)


# -- 7. config-driven allocation is bounded before construction --------------------------------------------
def _refused_quickly(bundle: Path, match: str) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(FileFormatError, match=match) as exc:
            load_bundle(bundle)
        seconds = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024  # KiB on Linux
    assert seconds < 1.0, seconds
    assert peak < 200 * 1024**2 and grown < 200 * 1024**2, (peak, grown)
    assert "\n" not in str(exc.value)


def test_speuae_with_100000_layers_is_refused_in_under_a_second(tmp_path):
    bundle = _copy("speuae", tmp_path)
    _edit_config(bundle, "speuae", layers=100_000)
    _refused_quickly(bundle, "'layers' is 100,000; expected at most 64")


def test_unet_and_vae_with_100000_layers_per_block_are_refused_in_under_a_second(tmp_path):
    bundle = _copy("default", tmp_path)
    _edit_config(bundle, "unet", layers_per_block=100_000)
    _refused_quickly(bundle, "'layers_per_block' is 100,000; expected at most 16")
    bundle2 = _copy("default", tmp_path / "v")
    _edit_config(bundle2, "vae", block_out_channels=[32, 64, 96, 1_000_000])
    _refused_quickly(bundle2, "'block_out_channels' is 1,000,000")


def test_other_sizes_are_bounded_too(tmp_path):
    bundle = _copy("mlp", tmp_path)
    _edit_config(bundle, "regression", wavelengths=list(range(2000)))
    with pytest.raises(FileFormatError, match="'wavelengths' has 2,000 entries; expected at most 1,024"):
        load_bundle(bundle)
    bundle2 = _copy("default", tmp_path / "d")
    _edit_config(bundle2, "unet", down_block_types=["DownBlock2D"] * 100)
    with pytest.raises(FileFormatError, match="'down_block_types' has 100 entries"):
        load_bundle(bundle2)


def test_a_parameter_estimate_above_the_ceiling_is_refused(tmp_path, monkeypatch):
    bundle = _copy("mlp", tmp_path)
    assert limits.count_parameters(type(load_bundle(bundle)), {
        k: v for k, v in json.loads((bundle / "regression" / "config.json").read_text()).items()
        if not k.startswith("_")}) == 21_690
    monkeypatch.setattr(limits, "MAX_PARAMETERS", 10_000)
    with pytest.raises(FileFormatError, match="describes 21,690 parameters; expected at most 10,000"):
        load_bundle(bundle)


# -- 8. finite garbage -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int8, torch.bool])
def test_non_float_weights_are_refused(tmp_path, dtype):
    bundle = _copy("mlp", tmp_path)
    _edit_weights(bundle, "regression", lambda k, v: v.to(dtype) if k.endswith("weight") else v)
    with pytest.raises(FileFormatError, match="expected floating-point weights"):
        load_bundle(bundle)


def test_absurd_weight_magnitudes_are_refused(tmp_path):
    bundle = _copy("mlp", tmp_path)
    _edit_weights(bundle, "regression", lambda k, v: v + 1e30 if k.endswith("bias") else v)
    with pytest.raises(FileFormatError, match="magnitude 1e\\+30; expected at most 1e\\+06"):
        load_bundle(bundle)
    bundle2 = _copy("default", tmp_path / "d")
    _edit_weights(bundle2, "speuae", lambda k, v: v * 1e15 if k.endswith("bias") else v)
    with pytest.raises(FileFormatError, match="speuae weights"):
        load_bundle(bundle2)


def _photo(size: int = 64) -> RGBImage:
    crop = astronaut_crop()
    return RGBImage(np.ascontiguousarray(crop[::256 // size, ::256 // size]), "srgb")


def test_a_reconstruction_outside_the_physical_range_is_refused(tmp_path, capsys):
    """Weights under the magnitude ceiling can still make a broken model (here every MLP weight ×5e5): its
    output (maxima ~1e12) is refused, naming the model, instead of being written as a cube."""
    bundle = _copy("mlp", tmp_path)
    _edit_weights(bundle, "regression", lambda k, v: v * 5e5 if k.startswith("net") else v)
    with pytest.raises(InputError, match="reconstructed values up to .* outside the physical range") as exc:
        pipeline.reconstruct(_photo(), bundle, device="cpu")
    assert str(bundle) in str(exc.value)
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray((_photo().data * 255).astype(np.uint8)).save(photo)
    assert main(["reconstruct", str(photo), "--model", str(bundle), "-o", str(tmp_path / "out")]) == 2
    assert "physical range" in capsys.readouterr().err
    assert not any((tmp_path / "out").glob("*.h5")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("name", ["default", "fast", "materials", "mlp", "rootpoly"])
def test_shipped_models_stay_well_inside_the_physical_range(name):
    res = pipeline.reconstruct(_photo(64), name, device="cpu", steps=2 if name == "default" else None)
    assert float(res.cube.data.max()) < pipeline.MAX_OUTPUT_RATIO / 10


# -- training: --resume uses the recorded seed; repeated SIGTERM still exits 130 ---------------------------
def _train(out: Path, *extra: str) -> list[str]:
    return ["train", "stage1", "--tiny", "--device", "cpu", "--threads", "1", "--out", str(out), *extra]


def test_resume_uses_the_recorded_seed_and_refuses_another(tmp_path, capsys):
    explicit = tmp_path / "explicit"  # the reference: resumed with the original --seed given again
    assert main(_train(explicit, "--steps", "2", "--seed", "7")) == 0
    assert main(_train(explicit, "--steps", "4", "--seed", "7", "--resume")) == 0
    run = tmp_path / "run"
    assert main(_train(run, "--steps", "2", "--seed", "7")) == 0
    capsys.readouterr()
    assert main(_train(run, "--steps", "4", "--resume", "--seed", "8")) == 2
    err = capsys.readouterr().err
    assert "--seed 8 differs from seed 7" in err and len(err.strip().splitlines()) == 1
    assert main(_train(run, "--steps", "4", "--resume")) == 0  # no --seed: the recorded 7, not 0
    assert json.loads((run / "config.json").read_text())["seed"] == 7
    a, b = load_bundle(explicit / "model"), load_bundle(run / "model")
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_sigterm_repeated_during_training_exits_130_with_one_checkpoint(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hsi_studio", *_train(out, "--steps", "400", "--jsonl")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    seen = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        seen.append(line)
        if '"event": "step"' in line and json.loads(line)["step"] >= 3:
            break
        assert time.monotonic() < deadline
    # SIGTERM every 20 ms until the process is gone: some land during the checkpoint, some during shutdown
    while proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.02)
        assert time.monotonic() < deadline
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    records = [json.loads(x) for x in ("".join(seen) + rest).splitlines() if x.startswith("{")]
    cancelled = [r for r in records if r["event"] == "cancelled"]
    assert len(cancelled) == 1
    saved = [r for r in records if r["event"] == "checkpoint" and r["step"] == cancelled[0]["step"]]
    assert len(saved) == 1
    assert (out / "checkpoints" / f"step-{cancelled[0]['step']:08d}" / "manifest.json").is_file()
