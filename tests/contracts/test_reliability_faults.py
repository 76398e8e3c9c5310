"""Kills and signals: a process killed (SIGKILL) or signalled (SIGTERM / SIGINT) at a chosen point —
through :data:`hsi_studio.core.storage.atomic.FAULT_HOOK` in a subprocess — leaves either the complete old output or
the complete new one, never a mixed set; the next run removes its stale temporaries and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from factories import WL31, ToyStage, random_cube, toy_config

from hsi_studio.cli import main
from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import FileFormatError, InputError
from hsi_studio.core.io import api as io
from hsi_studio.core.storage import atomic

TESTS = Path(__file__).resolve().parents[1]  # the killed child imports the toy stage from tests/factories.py

OLD = random_cube(seed=0).data  # the output before a write
NEW = random_cube(seed=1).data  # and the one a write brings

# Runs `hsi-studio ARGS` (or a training run) and sends SIGNAL to itself the NTH time the fault point STAGE is
# reached. Without the atomic exchange (NO_EXCHANGE=1) folders are swapped by two renames.
CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from hsi_studio.core.storage import atomic
    stage, sig, nth = sys.argv[1], getattr(signal, sys.argv[2]), int(sys.argv[3])
    seen = []
    def hook(name):
        if name == stage:
            seen.append(name)
            if len(seen) == nth:
                os.kill(os.getpid(), sig)
    atomic.FAULT_HOOK = hook
    if os.environ.get("NO_EXCHANGE"):
        atomic._exchange = lambda a, b: False
    if stage == "progress":  # a signal while the job computes (its progress callback is running)
        from hsi_studio.commands import common
        report = common.Reporter.__call__
        common.Reporter.__call__ = lambda self, *a, **k: (hook("progress"), report(self, *a, **k))[1]
    if sys.argv[4] == "train":
        from factories import ToyStage, toy_config
        from hsi_studio.core.ml.training.engine import run_training
        run_training(ToyStage(), toy_config(steps=4, ckpt_every=2, val_every=100), sys.argv[5])
        sys.exit(0)
    from hsi_studio.cli import main
    sys.exit(main(sys.argv[4:]))
""").format(tests=str(TESTS))


def child(stage: str, sig: str, nth: int, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, stage, sig, str(nth), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def cubes(tmp_path):
    return (io.write_cube(HSCube(OLD, WL31), tmp_path / "old.h5"),
            io.write_cube(HSCube(NEW, WL31), tmp_path / "new.h5"))


# ---------------------------------------------------------------------------------------------------------
# kill -9 at the worst moment
# ---------------------------------------------------------------------------------------------------------
def test_killed_convert_leaves_a_temporary_the_next_run_removes(cubes, tmp_path, capsys):
    out = tmp_path / "out" / "c.npz"
    out.parent.mkdir()
    r = child("file-written", "SIGKILL", 1, "convert", cubes[1], out)
    assert r.returncode == -signal.SIGKILL
    # the complete temporary the kill left (and the output's lock file, which the next writer takes over)
    assert not out.exists() and [n for n in hidden(out.parent) if not n.endswith(".hsi-lock")] == [
        n for n in hidden(out.parent) if ".hsi-tmp" in n] and len(hidden(out.parent)) == 2
    assert main(["convert", str(cubes[1]), str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: removed stale temporary" in err and len(err.strip().splitlines()) == 1, err
    assert hidden(out.parent) == []
    np.testing.assert_array_equal(io.read_cube(out).data, NEW)


def test_kill_between_the_two_renames_of_an_envi_pair_is_detected(cubes, tmp_path):
    hdr = io.write_cube(HSCube(OLD, WL31), tmp_path / "e.hdr")
    r = child("pair-first-replaced", "SIGKILL", 1, "convert", cubes[1], hdr, "--force")
    assert r.returncode == -signal.SIGKILL
    with pytest.raises(FileFormatError, match="different writes"):  # new .img beside the old .hdr
        io.read_cube(hdr)
    assert main(["convert", str(cubes[1]), str(hdr), "--force"]) == 0
    np.testing.assert_array_equal(io.read_cube(hdr).data, NEW)
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("no_exchange", [False, True])
def test_kill_during_a_band_folder_swap_keeps_a_complete_folder(cubes, tmp_path, capsys, no_exchange):
    bands = tmp_path / "bands"
    io.write_cube(HSCube(OLD, WL31), f"{bands}/")
    stage = "folder-aside" if no_exchange else "folder-exchanged"
    env = {"NO_EXCHANGE": "1"} if no_exchange else {}
    r = child(stage, "SIGKILL", 1, "convert", cubes[1], f"{bands}/", "--force", env=env)
    assert r.returncode == -signal.SIGKILL
    if no_exchange:
        assert not bands.exists()  # the kill struck between the two renames …
    else:
        np.testing.assert_allclose(io.read_cube(bands).data, NEW, atol=1e-4)  # exchanged: the new one, whole
    assert main(["convert", str(cubes[0]), str(tmp_path / "other.h5")]) == 0  # any later write there …
    err = capsys.readouterr().err
    assert ("restored" if no_exchange else "removed stale temporary") in err and "bands" in err, err
    assert hidden(tmp_path) == []  # … cleans up, and puts a moved-aside folder back
    np.testing.assert_allclose(io.read_cube(bands).data, NEW if not no_exchange else OLD, atol=1e-4)


def test_sigterm_during_convert_exits_130_without_temporaries(cubes, tmp_path):
    out = tmp_path / "o" / "c.h5"
    out.parent.mkdir()
    r = child("file-written", "SIGTERM", 1, "convert", cubes[1], out)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines() == ["hsi-studio convert: cancelled by SIGTERM"], r.stderr
    assert os.listdir(out.parent) == []


def test_kill_inside_the_first_checkpoint_write_is_cleaned_and_reported(tmp_path, one_torch_thread):
    from hsi_studio.core.ml.training.engine import run_training

    out = tmp_path / "run"
    r = child("checkpoint-written", "SIGKILL", 1, "train", out)
    assert r.returncode == -signal.SIGKILL
    assert len(hidden(out / "checkpoints")) == 1  # the partial checkpoint the kill left
    with pytest.warns(UserWarning, match="removed stale temporary"), \
            pytest.raises(InputError, match=r"no checkpoint .*removed 1 partial"):
        run_training(ToyStage(), toy_config(steps=4, ckpt_every=2, val_every=100), out, resume=True)
    assert hidden(out / "checkpoints") == []


def test_kill_inside_a_later_checkpoint_write_resumes_exactly(tmp_path, one_torch_thread):
    from hsi_studio.core.ml.training.engine import run_training

    whole = run_training(ToyStage(), toy_config(steps=4, ckpt_every=2, val_every=100), tmp_path / "whole")
    out = tmp_path / "run"
    r = child("checkpoint-written", "SIGKILL", 2, "train", out)  # step 2 is saved; the best export at 4 is cut
    assert r.returncode == -signal.SIGKILL
    with pytest.warns(UserWarning, match="removed stale temporary"):
        resumed = run_training(ToyStage(), toy_config(steps=4, ckpt_every=2, val_every=100), out, resume=True)
    assert resumed.weights_sha256 == whole.weights_sha256
    assert hidden(out / "checkpoints") == [] and hidden(out) == []


# ---------------------------------------------------------------------------------------------------------
# SIGTERM / SIGINT in reconstruct: exit 130, one line, per input complete or absent
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("nth", [1, 2, 3, 4])
def test_signal_during_reconstruct_writes_leaves_complete_or_absent_outputs(tmp_path, sig, nth):
    photos = []
    for i in range(2):
        photos.append(tmp_path / f"p{i}.png")
        io.write_rgb(np.random.default_rng(i).uniform(0, 1, (12, 10, 3)), photos[-1])
    outdir = tmp_path / "out"
    # each input writes a cube and a preview: the nth atomic write is cube/preview of input (nth - 1) // 2
    r = child("file-written", sig, nth, "reconstruct", *photos, "-o", outdir, "--model", "physics:mallett2019")
    assert r.returncode == 130, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if "[" not in ln]  # progress bars aside
    assert lines == [f"hsi-studio reconstruct: cancelled by {sig}"], r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    assert (nth > 2 or not outdir.exists()) and hidden(tmp_path) == []  # no output: no (empty) folder left
    assert not outdir.exists() or hidden(outdir) == []
    for i, p in enumerate(photos):
        cube, preview = outdir / f"{p.stem}.h5", outdir / f"{p.stem}_preview.png"
        done = i < (nth - 1) // 2
        assert cube.exists() == preview.exists() == done, (i, sorted(os.listdir(outdir)))
        if done:
            assert io.read_cube(cube).shape == (12, 10, 31) and io.read_rgb(preview).data.shape == (12, 10, 3)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_while_reconstruct_computes_stops_it_with_nothing_written(tmp_path, sig):
    io.write_rgb(np.random.default_rng(0).uniform(0, 1, (12, 10, 3)), tmp_path / "p.png")
    outdir = tmp_path / "out"
    r = child("progress", sig, 1, "reconstruct", tmp_path / "p.png", "-o", outdir, "--model", "physics:mallett2019")
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"hsi-studio reconstruct: cancelled by {sig}", r.stderr
    assert not outdir.exists() or os.listdir(outdir) == []


def test_stale_temporaries_of_live_processes_are_left_alone(tmp_path):
    live = tmp_path / f".x.{os.getppid()}-0123abcd.hsi-tmp.h5"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = tmp_path / f".x.{int(dead.stdout)}-0123abcd.hsi-tmp.h5"
    mine_user = tmp_path / ".settings.json"
    for p in (live, gone, mine_user):
        p.write_text("x")
    lines = atomic.clean_stale_temporaries(tmp_path, warn=False)
    assert len(lines) == 1 and gone.name in lines[0]
    assert live.exists() and mine_user.exists() and not gone.exists()
