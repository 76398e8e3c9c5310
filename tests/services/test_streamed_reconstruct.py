"""A large photo is reconstructed in tiles whose finished rows are streamed to the output files
(bounded memory); the files equal what the in-memory path writes."""

import os

import numpy as np
import pytest

from hsi_studio.cli import main
from hsi_studio.core.cube import HSCube
from hsi_studio.core.io import api as io
from hsi_studio.core.io import mat as io_mat
from hsi_studio.core.io import stream as io_stream
from hsi_studio.core.jobs import NEVER_CANCEL
from hsi_studio.core.ml.pipelines import tiling
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.services import estimate

WL = STANDARD_WAVELENGTHS


def _tile_fn(part, report):
    """A deterministic stand-in for a model: depends on the tile's pixels (and on its size), with a std."""
    mean = (part.sum(-1, keepdims=True) * np.linspace(0.5, 1.5, 31, dtype=np.float32)
            + np.float32(part.shape[0] % 7) * np.float32(0.01))
    return mean.astype(np.float32), (0.1 * mean + 0.01).astype(np.float32)


@pytest.mark.parametrize("shape,tile,overlap", [((150, 200), 64, 32), ((64, 300), 64, 16), ((50, 40), 64, 32),
                                                ((333, 71), 100, 0)])
def test_streamed_tiles_are_the_in_memory_blend_row_by_row(shape, tile, overlap):
    rgb = np.random.default_rng(0).uniform(0, 1, (*shape, 3)).astype(np.float32)
    mean, std = tiling.run_tiled(_tile_fn, rgb, 31, tile, overlap, lambda *a: None, NEVER_CANCEL)
    got, tops = [], []

    def sink(top, m, s):
        tops.append((top, m.shape[0]))
        got.append((m.copy(), s.copy()))

    with tiling.streaming(sink):
        assert tiling.run_tiled(_tile_fn, rgb, 31, tile, overlap, lambda *a: None, NEVER_CANCEL) == (None, None)
    assert not tiling.streaming_active()
    assert [t for t, _ in tops] == list(np.cumsum([0] + [n for _, n in tops])[:-1])  # in order, each row once
    assert max(n for _, n in tops) <= max(tiling.EMIT_ROWS, tile)
    np.testing.assert_array_equal(np.concatenate([m for m, _ in got]), mean)  # bit for bit
    np.testing.assert_array_equal(np.concatenate([s for _, s in got]), std)


@pytest.mark.parametrize("ext", [".h5", ".hdr", ".npy", ".mat", ".mat73"])
def test_each_streamed_writer_writes_the_file_write_cube_writes(tmp_path, ext, monkeypatch):
    if ext == ".mat73":  # the v7.3 branch (over 2 GiB in real use)
        monkeypatch.setattr(io_mat, "MAT_V5_MAX_BYTES", 1000)
        ext = ".mat"
    data = np.random.default_rng(1).uniform(0, 2, (150, 70, 31)).astype(np.float32)
    meta = {"model": "m", "steps": 3, "note": "é"}
    cube = HSCube(data, WL, meta, kind="radiance")
    ref = io.write_cube(cube, tmp_path / f"ref{ext}")
    w = io_stream.open_rows(tmp_path / f"s{ext}", 150, 70, WL)
    for top, n in ((0, 5), (5, 128), (133, 17)):  # uneven bands, across an HDF5 chunk row
        w.write_rows(top, data[top:top + n])
    got = w.finish("radiance", meta)
    w.close()
    a, b = io.read_cube(got), io.read_cube(ref)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.wavelengths, b.wavelengths)
    assert a.kind == b.kind and {k: v for k, v in a.metadata.items() if k != "source"} == \
        {k: v for k, v in b.metadata.items() if k != "source"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries left


def test_a_writer_restarted_at_row_0_overwrites(tmp_path):
    data = np.random.default_rng(2).uniform(0, 1, (140, 9, 31)).astype(np.float32)
    w = io_stream.open_rows(tmp_path / "c.h5", 140, 9, WL)
    w.write_rows(0, data[:130] * 5)  # a run that failed (GPU out of memory) after a chunk row …
    w.write_rows(0, data[:70])  # … starts again with smaller tiles
    w.write_rows(70, data[70:])
    io.read_cube(w.finish("radiance", {}))
    np.testing.assert_array_equal(io.read_cube(tmp_path / "c.h5").data, data)
    with pytest.raises(ValueError, match="before rows"):
        io_stream.open_rows(tmp_path / "d.npy", 10, 9, WL).write_rows(5, data[:5])


def _photo(tmp_path, h=70, w=100):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(5 * xx), 0.5 + 0.3 * np.cos(4 * yy), 0.4 + 0.3 * xx * yy], -1)
    img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)
    path = tmp_path / "p.png"
    io.write_rgb(img.astype(np.float32), path)
    return path


def _both(tmp_path, monkeypatch, args):
    """The same command streamed (out S) and in memory (out M)."""
    photo = _photo(tmp_path)
    assert estimate.streams(70, 100, 64)
    assert main(["reconstruct", str(photo), "-o", str(tmp_path / "S"), "--tile", "64", *args]) == 0
    with monkeypatch.context() as m:
        m.setenv(estimate.STREAM_ENV, "0")
        assert main(["reconstruct", str(photo), "-o", str(tmp_path / "M"), "--tile", "64", *args]) == 0
    names = sorted(p.name for p in (tmp_path / "M").iterdir())
    assert sorted(p.name for p in (tmp_path / "S").iterdir()) == names  # the same files, no temporaries
    return names


def _same_cube(a, b):
    ca, cb = io.read_cube(a), io.read_cube(b)
    np.testing.assert_array_equal(ca.data, cb.data)
    assert ca.kind == cb.kind
    drop = ("source",)
    assert {k: v for k, v in ca.metadata.items() if k not in drop} == \
        {k: v for k, v in cb.metadata.items() if k not in drop}


@pytest.mark.parametrize("fmt,model,extra", [
    ("h5", "mlp", ["--reflectance"]),
    ("envi", "physics:mallett2019", []),
    ("npy", "physics:minnorm", []),
    ("mat", "physics:otsu2018", []),
])
def test_cli_streamed_files_equal_the_in_memory_files(tmp_path, monkeypatch, fmt, model, extra, one_torch_thread):
    names = _both(tmp_path, monkeypatch, ["--model", model, "--format", fmt, *extra])
    cube = next(n for n in names if n.endswith((".h5", ".hdr", ".npy", ".mat")) and "_std" not in n)
    _same_cube(tmp_path / "S" / cube, tmp_path / "M" / cube)
    pa = io.read_rgb(tmp_path / "S" / "p_preview.png").data
    pb = io.read_rgb(tmp_path / "M" / "p_preview.png").data
    assert np.abs(pa - pb).max() <= 1.5 / 255  # the preview: the same to the lookup table's rounding


def test_cli_streamed_std_equals_the_in_memory_std(tmp_path, monkeypatch, one_torch_thread):
    """A diffusion model with two samples: the mean and the std cube, blended in tiles, both streamed."""
    names = _both(tmp_path, monkeypatch, ["--model", "default", "--steps", "1", "--samples", "2", "--reflectance"])
    assert "p_std.h5" in names
    for name in ("p.h5", "p_std.h5"):
        _same_cube(tmp_path / "S" / name, tmp_path / "M" / name)


def test_a_failed_or_cancelled_streamed_run_commits_nothing(tmp_path, monkeypatch, capsys):
    photo = _photo(tmp_path, 300, 200)  # several 128-row bands
    out = tmp_path / "R"

    def fail(self, kind, metadata):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_stream.H5Rows, "finish", fail)
    code = main(["reconstruct", str(photo), "-o", str(out), "--model", "physics:mallett2019", "--tile", "64"])
    assert code == 2 and "No space left" in capsys.readouterr().err
    assert not out.exists() or [p.name for p in out.iterdir() if not p.name.endswith(".hsi-lock")] == []
    monkeypatch.undo()

    from hsi_studio.core.jobs import Cancelled
    from hsi_studio.services import reconstruct_stream

    calls = []

    def cancel_midway(self, top, mean, std, original=reconstruct_stream.RowSink.__call__):
        calls.append(top)
        if len(calls) == 2:
            raise Cancelled("cancelled")
        return original(self, top, mean, std)

    monkeypatch.setattr(reconstruct_stream.RowSink, "__call__", cancel_midway)
    code = main(["reconstruct", str(photo), "-o", str(out), "--model", "physics:mallett2019", "--tile", "64"])
    assert code == 130 and len(calls) == 2
    assert not out.exists() or [p.name for p in out.iterdir() if not p.name.endswith(".hsi-lock")] == []


def test_the_budget_describes_the_streamed_path():
    gib = 1024**3
    assert not estimate.streams(512, 512) and estimate.streams(3000, 4000) and estimate.streams(100, 150, 64)
    # 12 MP: the in-memory estimate was 4.5 GiB (5.6 with a std); streamed it is well under 4 GiB
    assert estimate.memory_needed(3000, 4000, 1, streamed=False) > 4 * gib
    assert estimate.memory_needed(3000, 4000, 1) < 3.5 * gib
    assert estimate.memory_needed(3000, 4000, 4) < 4 * gib
    # what no longer grows with the cube: 4× the pixels cost far less than 4× the memory
    assert estimate.memory_needed(6000, 8000, 1) < 2.5 * estimate.memory_needed(3000, 4000, 1)
    fits = estimate.largest_fitting(3000, 4000, 1, 2 * gib)
    assert 0 < fits < 12e6 and estimate.memory_needed(int(3000 * (fits / 12e6) ** 0.5), 4000 * (fits / 12e6) ** 0.5, 1) \
        <= 2 * gib
    assert estimate.largest_fitting(3000, 4000, 1, 100 * 1024**2) == 0  # not even the model fits


def test_a_photo_the_streamed_path_cannot_fit_is_refused_up_front(tmp_path, monkeypatch, capsys):
    photo = _photo(tmp_path)
    monkeypatch.setenv("HSI_STUDIO_MAX_MEMORY", "600M")
    code = main(["reconstruct", str(photo), "-o", str(tmp_path / "R"), "--model", "physics:mallett2019",
                 "--tile", "64"])
    err = capsys.readouterr().err
    assert code == 2 and "streamed" in err and "memory budget is 0.59 GiB" in err and not (tmp_path / "R").exists()


def test_the_gui_result_of_a_large_photo_is_mapped_from_a_temporary_file(tmp_path, one_torch_thread):
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.services import reconstruct_stream

    rgb = io.read_rgb(_photo(tmp_path))
    from hsi_studio.services.reconstruction import Reconstruction

    res = Reconstruction(*reconstruct_stream.reconstruct_mapped(rgb, "mlp", folder=tmp_path, tile=64))
    ref = pipeline.reconstruct(rgb, "mlp", tile=64)
    assert isinstance(res.cube.data.base, np.memmap) or isinstance(res.cube.data, np.memmap)
    np.testing.assert_array_equal(res.cube.data, ref.cube.data)
    assert res.cube.metadata == ref.cube.metadata and res.cube.kind == ref.cube.kind and res.std is None
    if os.name == "posix":
        assert list(tmp_path.glob("hsi-studio-*")) == []  # unlinked once mapped
    assert isinstance(rgb, RGBImage)


def test_a_streamed_chart_report_equals_the_in_memory_one(tmp_path, monkeypatch):
    import json

    from factories import chart_photo, write_chart_png

    photo, corners = write_chart_png(tmp_path / "chart.png", np.diag([0.8, 1.0, 1.2]))
    assert estimate.streams(*chart_photo()[0].shape[:2], 64)
    spec = ",".join(f"{v:g}" for v in corners.ravel())
    args = ["--model", "physics:minnorm", "--tile", "64", "--chart", spec, "--white-balance", "chart"]
    assert main(["reconstruct", str(photo), "-o", str(tmp_path / "S"), *args]) == 0
    monkeypatch.setenv(estimate.STREAM_ENV, "0")
    assert main(["reconstruct", str(photo), "-o", str(tmp_path / "M"), *args]) == 0
    a, b = (json.loads((tmp_path / d / "chart_chart.json").read_text()) for d in "SM")
    assert a == b and a["spectra"]["sam_mean_deg"] > 0
    _same_cube(tmp_path / "S" / "chart.h5", tmp_path / "M" / "chart.h5")
    assert (tmp_path / "S" / "chart_chart.csv").read_text() == (tmp_path / "M" / "chart_chart.csv").read_text()
