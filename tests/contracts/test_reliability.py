"""Hostile configs, checkpoints, bundles and arguments exit 2 with one line; nothing is read wrong,
leaked or clobbered; memory is budgeted from headers; odd file names never break a finished command.
(The bad *files* are in test_bad_inputs.py; kills and signals in test_reliability_faults.py; concurrent
writers and signals mid-write in test_reliability_writers.py.)"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from factories import WL31, ToyStage, random_cube, toy_config
from factories import run_cli as run
from PIL import Image

from hsi_studio.cli import main
from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import FileFormatError, InputError, OutputError, SizeLimitError, UnsafeFileError
from hsi_studio.core.io import api as io
from hsi_studio.core.ml.training import checkpoint
from hsi_studio.core.storage import manifest as manifests
from hsi_studio.core.storage.provenance import file_sha256

CUBE = random_cube(seed=0).data


def exits_2_one_line(args, capsys, needle: str = "") -> str:
    code, _, err = run(args, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and "error:" in lines[0] and "internal error" not in lines[0], err
    assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def cube_file(tmp_path):
    return io.write_cube(HSCube(CUBE, WL31), tmp_path / "c.h5")


# ---------------------------------------------------------------------------------------------------------
# Training configs — wrong types and values, deep JSON, partial configs
# ---------------------------------------------------------------------------------------------------------
BAD_CONFIGS = {
    "steps_string": ({"steps": "10"}, "steps"),
    "steps_null": ({"steps": None}, "steps"),
    "lr_string": ({"lr": "fast"}, "lr"),
    "lr_nan": ({"lr": float("nan")}, "lr"),
    "stage_not_dict": ({"stage": [1, 2]}, "stage"),
    "unknown_schedule": ({"lr_schedule": "bogus"}, "lr_schedule"),
    "hidden_zero": ({"stage": {"hidden": 0}}, "hidden"),
    "layers_string": ({"stage": {"layers": "3"}}, "layers"),
    "generated_above_1": ({"stage": {"generated": 3}}, "generated"),
    "grad_accum_float": ({"grad_accum": 1.5}, "grad_accum"),
    "crop_1e6": ({"crop": 10**6}, "crop"),
    "batch_bool": ({"batch_size": True}, "batch_size"),
    "warmup_negative": ({"warmup_steps": -1}, "warmup_steps"),
    "ema_decay_1": ({"ema_decay": 1.0}, "ema_decay"),
    "ema_decay_negative": ({"ema_decay": -0.5}, "ema_decay"),
    "threads_negative": ({"threads": -1}, "threads"),
    "device_bogus": ({"device": "tpu"}, "device"),
    "unknown_key": ({"stepz": 3}, "stepz"),
    "not_an_object": ([1, 2], "JSON object"),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_training_config_exits_2(tmp_path, capsys, name):
    config, needle = BAD_CONFIGS[name]
    (tmp_path / "c.json").write_text(json.dumps(config))
    exits_2_one_line(["train", "stage1", "--tiny", "--out", tmp_path / "o", "--config", tmp_path / "c.json"],
                     capsys, needle)
    assert not (tmp_path / "o").exists()  # refused before anything was created


@pytest.mark.parametrize("text", ["[" * 100_000, '{"steps": ' * 50_000, "\xff\xfe not utf-8", ""])
def test_unparsable_training_config_exits_2(tmp_path, capsys, text):
    (tmp_path / "c.json").write_bytes(text.encode("latin-1"))
    exits_2_one_line(["train", "stage1", "--tiny", "--out", tmp_path / "o", "--config", tmp_path / "c.json"],
                     capsys, "c.json")


@pytest.mark.parametrize("flag", [["--threads", "0"], ["--threads", "-2"], ["--steps", "0"], ["--crop", "-1"]])
def test_bad_training_flags_exit_2(tmp_path, capsys, flag):
    exits_2_one_line(["train", "stage1", "--tiny", "--out", tmp_path / "o", *flag], capsys, flag[0])


def test_partial_config_overrides_only_the_keys_it_names(tmp_path):
    from hsi_studio.cli import build_parser
    from hsi_studio.commands.train import build_config
    from hsi_studio.core.ml.training.stages import default_config

    (tmp_path / "c.json").write_text(json.dumps({"steps": 2, "stage": {"layers": 2}}))
    args = build_parser().parse_args(["train", "stage1", "--tiny", "--out", str(tmp_path / "o"),
                                      "--config", str(tmp_path / "c.json")])
    got, tiny = build_config(args).to_dict(), default_config("stage1", tiny=True).to_dict()
    assert got["steps"] == 2 and got["stage"]["layers"] == 2
    for key in ("batch_size", "crop", "lr", "val_every", "ckpt_every", "warmup_steps"):
        assert got[key] == tiny[key], key
    assert got["stage"]["hidden"] == tiny["stage"]["hidden"]


def test_train_out_naming_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    exits_2_one_line(["train", "stage1", "--tiny", "--out", tmp_path / "f"], capsys, "is a file")


def test_full_disk_while_training_is_an_output_error(tmp_path, monkeypatch, one_torch_thread):
    from hsi_studio.core.ml.training import engine as training

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[-1]) if args else None)

    monkeypatch.setattr(checkpoint, "fsync_write", full)
    monkeypatch.setattr(manifests, "fsync_write", full)
    with pytest.raises(OutputError, match="No space left on device"):
        training.run_training(ToyStage(), toy_config(), tmp_path / "run")
    assert [p for p in (tmp_path / "run").rglob(".*")] == []  # no partial checkpoint left


def test_read_only_output_is_an_output_error(tmp_path, monkeypatch):
    from hsi_studio.core.ml.training import engine as training

    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == tmp_path / "ro" / "run":
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(OutputError, match="Read-only"):
        training.run_training(ToyStage(), toy_config(), tmp_path / "ro" / "run")


# ---------------------------------------------------------------------------------------------------------
# Tampered checkpoints on --resume
# ---------------------------------------------------------------------------------------------------------
def _tamper(ckpt: Path, edit) -> None:
    state = json.loads((ckpt / "state.json").read_text())
    edit(state["__map__"])
    (ckpt / "state.json").write_text(json.dumps(state))
    manifests.write_manifest(ckpt, {"kind": "hsi-studio-checkpoint"})  # a tamperer re-signs the manifest


def _truncate_tensors(ckpt: Path) -> None:
    data = (ckpt / "tensors.safetensors").read_bytes()
    (ckpt / "tensors.safetensors").write_bytes(data[: len(data) // 2])
    manifests.write_manifest(ckpt, {"kind": "hsi-studio-checkpoint"})


def _drop_tensor(ckpt: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(ckpt / "tensors.safetensors"))
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, str(ckpt / "tensors.safetensors"))
    manifests.write_manifest(ckpt, {"kind": "hsi-studio-checkpoint"})


TAMPERED = {
    "step_string": lambda c: _tamper(c, lambda s: s.update(step="2")),
    "step_null": lambda c: _tamper(c, lambda s: s.update(step=None)),
    "step_list": lambda c: _tamper(c, lambda s: s.update(step=[2])),
    "model_not_a_map": lambda c: _tamper(c, lambda s: s.update(model=3)),
    "truncated_tensors": _truncate_tensors,
    "missing_tensor_key": _drop_tensor,
    "state_json_garbage": lambda c: ((c / "state.json").write_text("{" * 50_000),
                                     manifests.write_manifest(c, {})),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_torch_thread):
    from hsi_studio.core.ml.training.engine import run_training

    out = tmp_path_factory.mktemp("trained") / "run"
    run_training(ToyStage(), toy_config(steps=2, ckpt_every=2), out)
    return out


def _copy_run(trained: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(trained, dest)
    return dest


@pytest.mark.parametrize("name", list(TAMPERED))
def test_tampered_checkpoint_on_resume_is_a_typed_error(trained, tmp_path, name):
    from hsi_studio.core.ml.training.engine import latest_checkpoint, run_training

    out = _copy_run(trained, tmp_path / "run")
    TAMPERED[name](latest_checkpoint(out))
    with pytest.raises(FileFormatError) as info:
        run_training(ToyStage(), toy_config(steps=4), out, resume=True)
    assert "\n" not in str(info.value) and "expected" in str(info.value)


def test_checkpoint_of_a_different_model_size_is_a_typed_error(trained, tmp_path):
    from hsi_studio.core.ml.training.engine import run_training

    out = _copy_run(trained, tmp_path / "run")
    with pytest.raises(FileFormatError, match="does not fit"):
        run_training(ToyStage(hidden=32), toy_config(steps=4), out, resume=True)


# ---------------------------------------------------------------------------------------------------------
# Manifests and bundles
# ---------------------------------------------------------------------------------------------------------
def _signed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    manifests.write_manifest(folder)
    return folder


def _set_files(folder: Path, files) -> None:
    (folder / "manifest.json").write_text(json.dumps({"files": files}))


@pytest.mark.parametrize("rel,error", [
    ("../../../../etc/passwd", UnsafeFileError),
    ("/etc/passwd", UnsafeFileError),
    ("sub/../../outside.bin", UnsafeFileError),
    ("C:\\Windows\\win.ini", UnsafeFileError),
    ("link_out", UnsafeFileError),
])
def test_manifest_paths_outside_the_folder_are_refused_before_hashing(tmp_path, monkeypatch, rel, error):
    folder = _signed_folder(tmp_path)
    (tmp_path / "outside.bin").write_bytes(b"\0" * 1000)
    os.symlink(tmp_path / "outside.bin", folder / "link_out")
    _set_files(folder, {"a.json": file_sha256(folder / "a.json"), rel: "0" * 64})
    hashed = []
    monkeypatch.setattr(manifests, "file_sha256", lambda p: hashed.append(p) or "0" * 64)
    with pytest.raises(error, match="outside"):
        manifests.verify_manifest(folder)
    assert hashed == []  # refused before anything was hashed


@pytest.mark.parametrize("files", [[], "a.json", 7, {"a.json": 5}, {"a.json": "nothex"}, None])
def test_manifest_files_of_the_wrong_type_are_refused(tmp_path, files):
    folder = _signed_folder(tmp_path)
    _set_files(folder, files)
    with pytest.raises(FileFormatError, match="expected"):
        manifests.verify_manifest(folder)


def test_deep_manifest_json_is_refused(tmp_path):
    folder = _signed_folder(tmp_path)
    (folder / "manifest.json").write_text("[" * 100_000)
    with pytest.raises(FileFormatError, match="nested too deeply"):
        manifests.verify_manifest(folder)


@pytest.fixture(scope="module")
def speuae_bundle(tmp_path_factory, one_torch_thread):
    import torch

    from hsi_studio.core.ml.models.bundle import save_speuae
    from hsi_studio.core.ml.models.speuae import SpeUAE
    from hsi_studio.core.spectral.responses import camera_response

    torch.manual_seed(0)
    model = SpeUAE.from_response(camera_response("cie1964-srgb"), hidden=8, layers=1)
    return save_speuae(model, tmp_path_factory.mktemp("b") / "speuae")


def _edit_bundle(src: Path, dest: Path, edit) -> Path:
    import shutil

    shutil.copytree(src, dest)
    edit(dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifests.write_manifest(dest, {k: v for k, v in manifest.items() if k != "files"})
    return dest


def _index(edit):
    def apply(root: Path) -> None:
        index = json.loads((root / "model_index.json").read_text())
        edit(index)
        (root / "model_index.json").write_text(json.dumps(index))
    return apply


def _scheduler(text: str):
    def apply(root: Path) -> None:
        (root / "scheduler").mkdir()
        (root / "scheduler" / "scheduler_config.json").write_text(text)
    return apply


TAMPERED_BUNDLES = {
    "allowed_class_in_wrong_role": _index(lambda i: i.update(speuae=["diffusers", "AutoencoderKL"])),
    "component_entry_not_a_list": _index(lambda i: i.update(speuae={"class": "SpeUAE"})),
    "index_deeply_nested": lambda r: (r / "model_index.json").write_text("[" * 100_000),
    "scheduler_not_json": _scheduler("not json {"),
    "scheduler_bogus_schedule": _scheduler(json.dumps({"beta_schedule": "wobbly"})),
    "scheduler_unknown_setting": _scheduler(json.dumps({"teleport": True})),
    "scheduler_timesteps_string": _scheduler(json.dumps({"num_train_timesteps": "1000"})),
    "component_config_wrong_type": lambda r: (r / "speuae" / "config.json").write_text(
        json.dumps({**json.loads((r / "speuae" / "config.json").read_text()), "hidden": "wide"})),
}


@pytest.mark.parametrize("name", list(TAMPERED_BUNDLES))
def test_tampered_bundle_is_a_typed_error(speuae_bundle, tmp_path, name):
    from hsi_studio.core.ml.models.bundle import load_bundle

    root = _edit_bundle(speuae_bundle, tmp_path / "b", TAMPERED_BUNDLES[name])
    with pytest.raises(InputError) as info:
        load_bundle(root)
    assert "\n" not in str(info.value) and "expected" in str(info.value), str(info.value)


# ---------------------------------------------------------------------------------------------------------
# CLI arguments
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["evaluate", "{cube}", "{cube}", "--min-nm", "900"], "leaves no bands"),
    (["evaluate", "{cube}", "{cube}", "--min-nm", "nan"], "min-nm"),
    (["evaluate", "{cube}", "{cube}", "--crop", "0"], "crop"),
    (["simulate-rgb", "{cube}", "-o", "{tmp}/s.png", "--noise", "-1"], "noise"),
    (["simulate-rgb", "{cube}", "-o", "{tmp}/s.png", "--jpeg", "0"], "jpeg"),
    (["reconstruct", "{tmp}/p.png", "-o", "{tmp}/afile/sub", "--model", "physics:mallett2019"], "afile"),
    (["reconstruct", "{tmp}/p.png", "-o", "{tmp}/o", "--model", "physics:mallett2019", "--samples", "0"],
     "samples"),
])
def test_bad_arguments_exit_2(cube_file, tmp_path, capsys, args, needle):
    io.write_rgb(np.random.default_rng(1).uniform(0, 1, (8, 8, 3)), tmp_path / "p.png")
    (tmp_path / "afile").write_text("x")
    args = [a.format(cube=cube_file, tmp=tmp_path) for a in args]
    exits_2_one_line(args, capsys, needle)
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("wl", [np.linspace(800, 820, 3), np.linspace(380, 395, 4), np.linspace(300, 400, 6)])
def test_relight_of_a_cube_on_an_odd_grid_never_crashes(tmp_path, capsys, wl):
    cube = HSCube(np.random.default_rng(0).uniform(0, 1, (4, 4, wl.size)).astype(np.float32), wl)
    io.write_cube(cube, tmp_path / "odd.h5")
    code, _, err = run(["relight", tmp_path / "odd.h5", "-o", tmp_path / "o.png"], capsys)
    assert code in (0, 2) and "internal error" not in err, err


# ---------------------------------------------------------------------------------------------------------
# Read wrong / overwrite without --force
# ---------------------------------------------------------------------------------------------------------
def test_convert_force_never_replaces_a_good_output_with_a_damaged_png(tmp_path, capsys):
    good = np.random.default_rng(2).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    Image.fromarray(good).save(tmp_path / "in.png")
    main(["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png")])
    before = (tmp_path / "out.png").read_bytes()
    data = bytearray((tmp_path / "in.png").read_bytes())
    data[data.index(b"IDAT") + 30] ^= 0xFF
    (tmp_path / "in.png").write_bytes(bytes(data))
    capsys.readouterr()
    exits_2_one_line(["convert", tmp_path / "in.png", tmp_path / "out.png", "--force"], capsys, "CRC")
    assert (tmp_path / "out.png").read_bytes() == before


def test_convert_refuses_to_replace_either_file_of_an_envi_pair(cube_file, tmp_path, capsys):
    (tmp_path / "out.img").write_bytes(b"precious")
    exits_2_one_line(["convert", cube_file, tmp_path / "out.hdr"], capsys, "out.img")
    (tmp_path / "out.img").unlink()
    (tmp_path / "x.hdr").write_text("precious")
    exits_2_one_line(["convert", cube_file, tmp_path / "x.img"], capsys, "x.hdr")
    assert (tmp_path / "x.hdr").read_text() == "precious" and not (tmp_path / "x.img").exists()


def test_convert_trailing_slash_does_not_skip_the_existing_output_check(cube_file, tmp_path, capsys):
    assert run(["convert", cube_file, f"{tmp_path}/bands/"], capsys)[0] == 0
    before = sorted(os.listdir(tmp_path / "bands"))
    exits_2_one_line(["convert", cube_file, f"{tmp_path}/bands/"], capsys, "already exists")
    assert run(["convert", cube_file, f"{tmp_path}/bands/", "--force"], capsys)[0] == 0
    assert sorted(os.listdir(tmp_path / "bands")) == before
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_envi_pair_reads_back_and_carries_its_token(tmp_path):
    hdr = io.write_cube(HSCube(CUBE, WL31), tmp_path / "e.hdr")
    np.testing.assert_array_equal(io.read_cube(hdr).data, CUBE)
    assert "hsi studio pair" in hdr.read_text()
    import spectral.io.envi as envi

    np.testing.assert_array_equal(np.asarray(envi.open(str(hdr)).load()), CUBE)  # still standard ENVI


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("order", [0, 1])
def test_envi_interleaves_and_byte_orders_read_right(tmp_path, interleave, order):
    axes = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    dtype = "<f4" if order == 0 else ">f4"
    (tmp_path / "x.img").write_bytes(b"\0" * 10 + np.transpose(CUBE, axes).astype(dtype).tobytes())
    (tmp_path / "x.hdr").write_text(f"ENVI\nsamples = 5\nlines = 6\nbands = 31\nheader offset = 10\n"
                                    f"data type = 4\ninterleave = {interleave}\nbyte order = {order}\n")
    np.testing.assert_array_equal(io.read_cube(tmp_path / "x.hdr").data, CUBE)


def test_hdf5_external_storage_inside_the_folder_reads_from_that_folder(tmp_path, monkeypatch):
    import h5py

    (tmp_path / "data.bin").write_bytes(CUBE.astype("<f4").tobytes())
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.create_dataset("cube", shape=CUBE.shape, dtype="<f4", external=[("data.bin", 0, CUBE.nbytes)])
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "data.bin").write_bytes(np.zeros_like(CUBE).tobytes())  # the working directory is not used
    monkeypatch.chdir(elsewhere)
    np.testing.assert_array_equal(io.read_cube(tmp_path / "ext.h5").data, CUBE)


# ---------------------------------------------------------------------------------------------------------
# Memory budgets from headers; info decodes nothing
# ---------------------------------------------------------------------------------------------------------
def test_memory_budget_refuses_from_the_header(tmp_path, monkeypatch):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 1), np.float32))
    header["shape"] = (4000, 4000, 31)
    with open(tmp_path / "sparse.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.truncate(f.tell() + 4000 * 4000 * 31 * 4)  # sparse: no disk used
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "256M")
    t0 = time.monotonic()
    with pytest.raises(SizeLimitError, match="HSI_STUDIO_MAX_MEMORY"):
        io.read_cube(tmp_path / "sparse.npy")
    assert time.monotonic() - t0 < 2


def test_memory_budget_follows_available_memory(monkeypatch):
    from hsi_studio.core import cube as cube_mod

    monkeypatch.delenv("HSI_STUDIO_MAX_MEMORY", raising=False)
    monkeypatch.setattr(cube_mod, "available_memory", lambda: 1000 * 1024**2)
    assert cube_mod.memory_budget() == int(1000 * 1024**2 * cube_mod.MEMORY_FRACTION)
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "2G")
    assert cube_mod.memory_budget() == 2 * 1024**3
    assert cube_mod.available_memory.__name__  # a real reading exists on this platform too
    monkeypatch.undo()
    assert cube_mod.available_memory() is None or cube_mod.available_memory() > 0


def test_info_on_a_png_bomb_reads_only_the_header(tmp_path, capsys, monkeypatch):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * (4000 * (1 + 4000 * 3)), 9)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4000, 4000, 8,
                                        2, 0, 0, 0)) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("info decoded pixels")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    code, out, _ = run(["info", tmp_path / "bomb.png", "--json"], capsys)
    assert code == 0 and json.loads(out)["width"] == 4000


# ---------------------------------------------------------------------------------------------------------
# Non-UTF-8 file names (valid on Linux)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 names are a Linux thing")
def test_non_utf8_file_names_never_fail_after_the_work(tmp_path):
    src = os.fsencode(tmp_path) + b"/caf\xe9.h5"
    io.write_cube(HSCube(CUBE, WL31), tmp_path / "c.h5")
    os.rename(tmp_path / "c.h5", src)
    io.write_rgb(np.random.default_rng(1).uniform(0, 1, (8, 8, 3)), tmp_path / "p.png")
    os.rename(tmp_path / "p.png", os.fsencode(tmp_path) + b"/ph\xf6to.png")
    exe = [sys.executable, "-m", "hsi_studio"]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    for args in ([b"info", src], [b"convert", src, os.fsencode(tmp_path) + b"/out\xff.npz"],
                 [b"reconstruct", os.fsencode(tmp_path) + b"/ph\xf6to.png", b"-o", os.fsencode(tmp_path) + b"/r",
                  b"--model", b"physics:mallett2019"]):
        r = subprocess.run([*map(os.fsencode, exe), *args], capture_output=True, env=env, timeout=120)
        text = (r.stdout + r.stderr).decode("utf-8")
        assert r.returncode == 0 and "Traceback" not in text and "Error" not in text, text
        assert "\ufffd" in text or "?" in text
    assert os.path.exists(os.fsencode(tmp_path) + b"/out\xff.npz")
    assert os.path.exists(os.fsencode(tmp_path) + b"/r/ph\xf6to.h5")
