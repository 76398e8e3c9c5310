"""Writers: nothing clobbered, hung or silently wrong.

An exclusive create at commit and a lock per output (concurrent writers), one signal policy, analyses written as
one staged set, FIFOs refused, exit 2 instead of an internal error or a silent answer, names near NAME_MAX, the
memory budget planned up front."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from factories import WL31, random_cube
from PIL import Image

from hsi_studio.cli import main
from hsi_studio.core.cube import HSCube
from hsi_studio.core.io import api as io
from hsi_studio.core.storage import atomic

OLD = random_cube(seed=0).data  # the output before a write
NEW = random_cube(seed=1).data  # and the one a write brings
PHYSICS = ["--model", "physics:mallett2019"]

# Runs `hsi-studio ARGS`; at the first atomic write ("file-written") it creates READY and waits for GO, so that
# a second process can run while this one holds its output. MODE "signal:SIG" instead sends SIG to itself from
# inside a library call that is writing (h5py's create_dataset, numpy.save) — "signal-in-del:SIG" from inside
# a finaliser (__del__), where a KeyboardInterrupt would be "ignored" and the write would go on.
CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    mode, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    from hsi_studio.core.storage import atomic
    if mode == "pause":
        def hook(name):
            if name == "file-written" and not ready.exists():
                ready.write_text(str(os.getpid()))
                t0 = time.monotonic()
                while not go.exists() and time.monotonic() - t0 < 120:
                    time.sleep(0.02)
        atomic.FAULT_HOOK = hook
    elif mode.startswith(("signal:", "signal-in-del:", "signal-twice:")):
        sig = getattr(signal, mode.split(":")[1])
        class Finaliser:
            def __del__(self):
                os.kill(os.getpid(), sig)
                time.sleep(0.01)
        def send():
            if mode.startswith("signal-in-del:"):
                Finaliser()  # dropped at once: the signal arrives inside __del__
            else:
                os.kill(os.getpid(), sig)
                if mode.startswith("signal-twice:"):
                    time.sleep(0.01)
                    os.kill(os.getpid(), sig)
            time.sleep(0.01)
        import h5py, numpy
        create, save = h5py.Group.create_dataset, numpy.save
        def create_dataset(self, *a, **k):
            send()
            return create(self, *a, **k)
        def np_save(*a, **k):
            send()
            return save(*a, **k)
        h5py.Group.create_dataset = create_dataset
        numpy.save = np_save
    from hsi_studio.cli import main
    sys.exit(main(sys.argv[4:]))
""")


def spawn(mode: str, tmp: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, mode, str(tmp / "ready"), str(tmp / "go"),
                             *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def run_child(mode: str, tmp: Path, *args) -> subprocess.CompletedProcess:
    p = spawn(mode, tmp, *args)
    out, err = p.communicate(timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


def run(args, capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def exits_2(args, capsys, *needles: str) -> str:
    code, err = run(args, capsys)
    lines = [ln for ln in err.strip().splitlines() if ": warning: " not in ln and "[" not in ln]
    assert code == 2 and len(lines) == 1, (code, err)
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def photos(tmp_path):
    out = []
    for i, sub in enumerate(("x", "y")):
        (tmp_path / sub).mkdir()
        out.append(tmp_path / sub / "p.png")
        io.write_rgb(np.random.default_rng(i).uniform(0, 1, (12, 10, 3)), out[-1])
    return out


@pytest.fixture
def cubes(tmp_path):
    return (io.write_cube(HSCube(OLD, WL31), tmp_path / "old.h5"),
            io.write_cube(HSCube(NEW, WL31), tmp_path / "new.h5"))


# ---------------------------------------------------------------------------------------------------------
# Check-then-write, two writers, the same stem twice
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["reconstruct", "convert"])
def test_two_processes_into_one_output_one_wins_the_other_exits_2(photos, cubes, tmp_path, command):
    if command == "reconstruct":
        out = tmp_path / "O"
        args = lambda photo: ["reconstruct", photo, "-o", out, *PHYSICS, "--force"]  # noqa: E731
        first, second = args(photos[0]), args(photos[1])
    else:
        out = tmp_path / "o" / "c.h5"
        out.parent.mkdir()
        first, second = (["convert", c, out, "--force"] for c in cubes)
    holder = spawn("pause", tmp_path, *first)
    try:
        wait_for(tmp_path / "ready", holder)  # the first one is writing its outputs now
        rival = subprocess.run([sys.executable, "-m", "hsi_studio.cli", *map(str, second)], capture_output=True,
                               text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    finally:
        (tmp_path / "go").write_text("")
        h_out, h_err = holder.communicate(timeout=300)
    assert holder.returncode == 0, h_err
    assert rival.returncode == 2, rival.stderr
    line = rival.stderr.strip().splitlines()[-1]
    assert "being written by another hsi-studio run" in line and f"process {holder.pid}: hsi-studio {command}" \
        in line, line
    if command == "reconstruct":  # the holder's outputs, not the rival's
        assert main(["reconstruct", str(photos[0]), "-o", str(tmp_path / "ref"), *PHYSICS]) == 0
        np.testing.assert_array_equal(io.read_cube(out / "p.h5").data, io.read_cube(tmp_path / "ref" / "p.h5").data)
        assert "wrote" in h_out and "wrote" not in rival.stdout
    else:
        np.testing.assert_array_equal(io.read_cube(out).data, OLD)
    assert hidden(out if out.is_dir() else out.parent) == []  # no lock file or temporary left


def test_a_file_appearing_before_the_commit_is_never_overwritten(photos, tmp_path, capsys, monkeypatch):
    out = tmp_path / "O"

    def intruder(stage):  # another program writes p.h5 while reconstruct computes
        if stage == "file-written" and not (out / "p.h5").exists():
            (out / "p.h5").write_bytes(b"someone else's")

    monkeypatch.setattr(atomic, "FAULT_HOOK", intruder)
    exits_2(["reconstruct", photos[0], "-o", out, *PHYSICS], capsys, "p.h5 appeared while this command ran",
            "--force")
    assert (out / "p.h5").read_bytes() == b"someone else's"
    assert sorted(os.listdir(out)) == ["p.h5"]  # no preview of a half set, no temporaries


def test_convert_never_overwrites_a_file_that_appeared_meanwhile(cubes, tmp_path, capsys, monkeypatch):
    out = tmp_path / "c.npz"
    monkeypatch.setattr(atomic, "FAULT_HOOK", lambda stage: out.write_bytes(b"x") if not out.exists() else None)
    exits_2(["convert", cubes[1], out], capsys, "appeared while this command ran")
    assert out.read_bytes() == b"x" and hidden(tmp_path) == []


def test_an_envi_pair_is_taken_only_if_both_names_are_free(cubes, tmp_path):
    hdr = tmp_path / "e.hdr"
    with atomic.exclusive_outputs(), pytest.raises(io.OutputError, match="appeared"):
        with atomic.atomic_pair(hdr.with_suffix(".img"), hdr) as base:
            Path(str(base) + ".img").write_bytes(b"data")
            Path(str(base) + ".hdr").write_bytes(b"head")
            hdr.write_bytes(b"theirs")  # the header name is taken meanwhile
    assert hdr.read_bytes() == b"theirs" and not hdr.with_suffix(".img").exists() and hidden(tmp_path) == []


def test_same_stem_twice_in_one_batch_is_refused_before_any_work(photos, tmp_path, capsys):
    out = tmp_path / "O"
    exits_2(["reconstruct", *photos, "-o", out, *PHYSICS, "--force"], capsys, "would both write p.h5")
    assert not out.exists()
    io.write_rgb(np.zeros((4, 4, 3)) + 0.5, tmp_path / "x" / "q.jpg")
    io.write_rgb(np.zeros((4, 4, 3)) + 0.5, tmp_path / "x" / "q.png")
    exits_2(["reconstruct", tmp_path / "x", "-o", out, *PHYSICS], capsys, "would both write q.h5")


def test_training_into_a_locked_output_exits_2_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "run"
    with atomic.output_lock(out, "hsi-studio train stage1 --out run"):
        line = exits_2(["train", "regression", "--data", tmp_path, "--out", out], capsys,
                       "being written by another hsi-studio run", f"process {os.getpid()}: hsi-studio train")
    assert "run" in line and hidden(tmp_path) == []


def test_a_stale_lock_of_a_killed_process_is_taken_over(cubes, tmp_path, capsys):
    out = tmp_path / "c.h5"
    atomic.lock_path(out).write_text("12345: hsi-studio convert (killed)")  # nobody holds it
    assert run(["convert", cubes[1], out], capsys)[0] == 0
    assert hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# Every signal ends with 130 and nothing committed
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["signal:SIGTERM", "signal:SIGINT", "signal:SIGHUP", "signal-in-del:SIGTERM",
                                  "signal-in-del:SIGINT"])
def test_signal_during_convert_to_h5_commits_nothing(cubes, tmp_path, mode):
    out = tmp_path / "o" / "c.h5"
    out.parent.mkdir()
    io.write_cube(HSCube(OLD, WL31), out)
    r = run_child(mode, tmp_path, "convert", cubes[1], out, "--force")
    sig = mode.split(":")[1]
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines() == [f"hsi-studio convert: cancelled by {sig}"], r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr
    np.testing.assert_array_equal(io.read_cube(out).data, OLD)  # the --force replacement did not happen
    assert os.listdir(out.parent) == ["c.h5"]


@pytest.mark.parametrize("mode", ["signal:SIGTERM", "signal:SIGHUP", "signal-twice:SIGINT"])
def test_signal_during_analyze_commits_nothing(tmp_path, mode):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    out = tmp_path / "A"
    assert main(["analyze", str(cube), "-o", str(out), "--kmeans", "3", "--pca", "3"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = run_child(mode, tmp_path, "analyze", cube, "-o", out, "--kmeans", "4", "--pca", "2", "--force")
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("hsi-studio analyze: cancelled by SIG"), r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old outputs untouched, no temporaries
    assert hidden(tmp_path) == []


def test_twice_ctrl_c_during_kmeans_writes_no_result(tmp_path):
    cube = io.write_cube(HSCube(np.random.default_rng(2).uniform(0, 1, (40, 40, 31)).astype(np.float32), WL31),
                         tmp_path / "c.h5")
    out = tmp_path / "A"
    script = textwrap.dedent("""
        import os, signal, sys, time
        from hsi_studio.commands import common
        report, sent = common.Reporter.__call__, []
        def call(self, fraction, message=""):
            if "iteration 1/" in message and not sent:  # Ctrl-C twice: SPy swallows the KeyboardInterrupt
                sent.append(1)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
            return report(self, fraction, message)
        common.Reporter.__call__ = call
        from hsi_studio.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    r = subprocess.run([sys.executable, "-c", script, "analyze", str(cube), "-o", str(out), "--kmeans", "4",
                        "--iterations", "20"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 130, r.stderr
    assert not out.exists() and hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# An analysis is one staged set
# ---------------------------------------------------------------------------------------------------------
def test_full_disk_during_analyze_leaves_no_partial_set(tmp_path, capsys, monkeypatch):
    import errno

    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    out = tmp_path / "A"
    save, calls = np.save, []

    def full_disk(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(*a, **k)

    monkeypatch.setattr(np, "save", full_disk)
    code, err = run(["analyze", cube, "-o", out, "--kmeans", "3", "--pca", "2", "--pixel", "1,1"], capsys)
    assert code == 2, err
    assert not out.exists() and hidden(tmp_path) == []  # none of the outputs, no folder, no temporary


def test_library_out_into_a_missing_folder_is_refused_before_any_output(tmp_path, capsys):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    out = tmp_path / "A"
    exits_2(["analyze", cube, "-o", out, "--kmeans", "3", "--library-out", tmp_path / "nope" / "lib.sli"], capsys,
            "does not exist")
    assert not out.exists()


def test_analyze_writes_its_library_with_the_set(tmp_path, capsys):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    out = tmp_path / "A"
    assert run(["analyze", cube, "-o", out, "--kmeans", "3", "--library-out", tmp_path / "lib.sli"], capsys)[0] == 0
    from hsi_studio.core.analysis.library import read_library

    assert len(read_library(tmp_path / "lib.sli")) == 3
    assert hidden(tmp_path) == [] and hidden(out) == []


# ---------------------------------------------------------------------------------------------------------
# FIFOs (and folders, devices) where a CSV or library is read
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "spd.csv"
    os.mkfifo(path)
    previous = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("hung on a FIFO")))
    signal.alarm(30)
    yield path
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("args", [
    ["relight", "{cube}", "-o", "{tmp}/r.png", "--illuminant", "csv:{fifo}"],
    ["relight", "{cube}", "-o", "{tmp}/r.png", "--capture-illuminant", "csv:{fifo}"],
    ["analyze", "{cube}", "-o", "{tmp}/A", "--sam-ref", "{fifo}"],
    ["analyze", "{cube}", "-o", "{tmp}/A", "--library", "{fifo}"],
    ["simulate-rgb", "{cube}", "-o", "{tmp}/s.png", "--response", "csv:{fifo}"],
    ["reconstruct", "{photo}", "-o", "{tmp}/R", "--model", "physics:minnorm", "--response", "csv:{fifo}"],
])
def test_a_fifo_where_a_csv_is_read_is_refused_at_once(tmp_path, capsys, fifo, photos, args):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    filled = [a.format(cube=cube, tmp=tmp_path, fifo=fifo, photo=photos[0]) for a in args]
    exits_2(filled, capsys, "is a FIFO (named pipe)", "expected")
    assert not (tmp_path / "A").exists() and not (tmp_path / "R").exists()


def test_a_folder_or_device_where_a_library_is_read_is_refused(tmp_path, capsys):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    (tmp_path / "lib.csv").mkdir()
    exits_2(["analyze", cube, "-o", tmp_path / "A", "--library", tmp_path / "lib.csv"], capsys, "is a folder")
    if os.path.exists("/dev/zero"):
        exits_2(["relight", cube, "-o", tmp_path / "r.png", "--illuminant", "csv:/dev/zero"], capsys,
                "is a device")


# ---------------------------------------------------------------------------------------------------------
# Exit 2 with one line, never a silent answer
# ---------------------------------------------------------------------------------------------------------
def test_wrong_exits_are_now_exit_2(tmp_path, capsys, photos):
    cube = io.write_cube(HSCube(NEW, WL31), tmp_path / "c.h5")
    nir = tmp_path / "nir.csv"
    nir.write_text("800,1\n900,2\n1000,1\n1100,1\n")
    huge = tmp_path / "huge.csv"
    huge.write_text("400," + "1" * 10_000_000 + "\n500,1\n")
    exits_2(["reconstruct", photos[0], "-o", tmp_path / "R", *PHYSICS, "--seed", str(2**64)], capsys, "--seed")
    exits_2(["relight", cube, "-o", tmp_path / "r.png", "--illuminant", f"csv:{huge}"], capsys, "CSV")
    exits_2(["relight", cube, "-o", tmp_path / "r.png", "--illuminant", f"csv:{nir}"], capsys, "visible range")
    exits_2(["relight", cube, "-o", tmp_path / "r.png", "--capture-illuminant", f"csv:{nir}"], capsys,
            "visible range")
    exits_2(["simulate-rgb", cube, "-o", tmp_path / "s.png", "--noise", "1e300"], capsys, "--noise")
    for flags, needle in ((["--lr", "nan"], "--lr"), (["--lr", "1e30"], "--lr"), (["--threads", "5000"], "--threads"),
                          (["--batch-pixels", "1000000000"], "--batch-pixels")):
        line = exits_2(["train", "regression", "--data", tmp_path, "--out", tmp_path / "m", *flags], capsys, needle)
        assert "--tile" not in line and "no readable cubes" not in line
    assert not any((tmp_path / n).exists() for n in ("R", "r.png", "s.png", "m"))


def test_a_cube_with_no_visible_band_is_not_relit_to_black(tmp_path, capsys):
    cube = io.write_cube(HSCube(NEW, np.arange(800.0, 1101.0, 10.0)), tmp_path / "nir.h5")
    exits_2(["relight", cube, "-o", tmp_path / "r.png"], capsys, "none in the visible range")
    assert not (tmp_path / "r.png").exists()


def test_silent_wrong_results_are_refused(tmp_path, capsys, photos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zero = io.write_cube(HSCube(np.zeros((6, 5, 31), np.float32), WL31), tmp_path / "zero.h5")
    exits_2(["reconstruct", photos[0], "-o", "", *PHYSICS], capsys, "empty name")
    exits_2(["analyze", zero, "-o", "", "--pca", "2"], capsys, "empty name")
    exits_2(["convert", zero, ""], capsys, "empty name")
    exits_2(["analyze", zero, "-o", "Z", "--index", "650,550"], capsys, "--index", "undefined everywhere")
    exits_2(["analyze", zero, "-o", "Z", "--pixel", "1,1", "--ref-name", "x"], capsys, "--ref-name")
    assert sorted(os.listdir(tmp_path)) == ["x", "y", "zero.h5"]  # nothing written into the current folder


def _jpeg(tmp_path: Path, progressive: bool) -> Path:
    y, x = np.mgrid[0:96, 0:80]
    arr = np.stack([x * 3 % 256, y * 2 % 256, (x + y) % 256], -1).astype(np.uint8)
    p = tmp_path / f"full{int(progressive)}.jpg"
    Image.fromarray(arr).save(p, progressive=progressive, quality=90)
    return p


@pytest.mark.parametrize("progressive", [False, True])
def test_a_truncated_jpeg_is_refused_not_filled_with_grey(tmp_path, capsys, progressive):
    data = _jpeg(tmp_path, progressive).read_bytes()
    sos = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xda"]
    cut = tmp_path / "cut.jpg"  # cut inside the first scan, then closed with an end-of-image marker
    cut.write_bytes(data[:sos[0] + (sos[1] - sos[0] if len(sos) > 1 else len(data) - sos[0]) // 2] + b"\xff\xd9")
    exits_2(["convert", cut, tmp_path / "o.png"], capsys, "stops before its last scans" if progressive else "ends early")
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(data[: len(data) * 2 // 3])  # and a plain cut (no end marker)
    exits_2(["convert", plain, tmp_path / "o.png"], capsys, "truncated")
    assert run(["convert", tmp_path / f"full{int(progressive)}.jpg", tmp_path / "o.png"], capsys)[0] == 0


def test_a_truncated_bmp_is_refused(tmp_path, capsys):
    for mode in ("RGB", "P"):
        img = Image.fromarray(np.random.default_rng(0).integers(0, 4, (40, 30, 3)).astype(np.uint8) * 60)
        p = tmp_path / f"b{mode}.bmp"
        (img if mode == "RGB" else img.convert("P")).save(p)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) * 2 // 3])
        exits_2(["convert", p, tmp_path / "o.png"], capsys, "truncated")


def test_a_cmyk_jpeg_is_converted_with_a_warning_that_says_so(tmp_path, capsys):
    p = tmp_path / "c.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 16, 3)).astype(np.uint8)).convert("CMYK").save(p)
    code, err = run(["convert", p, tmp_path / "o.png"], capsys)
    assert code == 0 and "warning: c.jpg: CMYK image converted to RGB" in err, err
    assert io.read_rgb(tmp_path / "o.png").data.shape == (20, 16, 3)


# ---------------------------------------------------------------------------------------------------------
# Names near NAME_MAX
# ---------------------------------------------------------------------------------------------------------
def test_temporary_names_never_exceed_name_max(tmp_path):
    for n in (1, 200, 240, 250, 255):
        stem = "é" * (n // 2) + "a" * (n % 2)
        for tmp in (atomic.temp_name(tmp_path / f"{stem}.h5"), atomic.temp_folder_name(tmp_path / stem)):
            assert len(os.fsencode(tmp.name)) <= 255
            tmp.write_bytes(b"") if tmp.suffix else tmp.mkdir()  # a valid name on this file system


@pytest.mark.parametrize("n", [240, 248, 251])
def test_outputs_with_names_near_the_limit_are_written(cubes, tmp_path, capsys, n):
    out = tmp_path / ("b" * (n - 3) + ".h5")
    assert run(["convert", cubes[1], out], capsys)[0] == 0
    np.testing.assert_array_equal(io.read_cube(out).data, NEW)
    assert run(["convert", cubes[0], out, "--force"], capsys)[0] == 0
    assert hidden(tmp_path) == []
    folder = tmp_path / ("d" * n)
    assert run(["analyze", cubes[0], "-o", folder, "--pca", "2"], capsys)[0] == 0
    assert sorted(os.listdir(folder)) == ["pca.npy", "pca.png"] and hidden(tmp_path) == []


def test_a_name_too_long_for_the_outputs_is_refused_up_front_with_no_folder_left(tmp_path, capsys, photos):
    long = tmp_path / "x" / ("e" * 245 + ".png")
    photos[0].rename(long)
    out = tmp_path / "R"
    exits_2(["reconstruct", long, "-o", out, *PHYSICS], capsys, "at most 255 bytes")
    assert not out.exists()


def test_force_onto_a_band_folder_symlink_leaves_no_hidden_link(cubes, tmp_path, capsys):
    real = tmp_path / "real"
    io.write_cube(HSCube(OLD, WL31), f"{real}/")
    link = tmp_path / "bands"
    link.symlink_to(real, target_is_directory=True)
    assert run(["convert", cubes[1], f"{link}/", "--force"], capsys)[0] == 0
    np.testing.assert_allclose(io.read_cube(link).data, NEW, atol=1e-4)
    assert hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# The memory budget is planned for, up front
# ---------------------------------------------------------------------------------------------------------
def test_a_photo_over_the_memory_budget_is_refused_up_front_with_the_size_that_fits(tmp_path, capsys,
                                                                                     monkeypatch):
    photo = tmp_path / "p.png"
    io.write_rgb(np.random.default_rng(0).uniform(0, 1, (100, 80, 3)), photo)
    out = tmp_path / "R"
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "2M")  # the cubes of 8000 pixels need ~3 MB
    t0 = time.monotonic()
    line = exits_2(["reconstruct", photo, "-o", out, *PHYSICS], capsys, "80×100 photo", "memory budget is",
                   "expected a photo of at most 5,242 pixels")
    assert time.monotonic() - t0 < 10 and not out.exists(), line
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "8M")
    assert run(["reconstruct", photo, "-o", out, *PHYSICS], capsys)[0] == 0
