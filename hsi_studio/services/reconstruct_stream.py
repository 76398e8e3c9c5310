"""A large photo reconstructed in bounded memory (issue 24, item 5): the model runs in overlapping tiles and each
finished band of rows of the mean (and std) cube goes straight to its file (:mod:`hsi_studio.core.io.stream`)
instead of into an H×W×31 float32 cube and its copies. What the rows also feed is kept per pixel at 3–4 floats:
the sRGB preview (linear RGB and luminance, for the automatic exposure), and for a chart report only the chart's
sampling boxes.

The files equal what the in-memory path (``core.ml.reconstruct.reconstruct`` then ``core.io.api.write_cube``) writes for
the same photo and tile size: the same tiles are blended in the same order (:func:`~hsi_studio.core.ml.pipelines.
tiling.streaming`), ``--reflectance`` divides each row by the same per-band divisor, the same metadata is
recorded and the same checks (physical range, finite values) refuse the same results — after the run, before
anything is committed. ``hsi-studio reconstruct`` streams every photo larger than one tile; the GUI streams a
photo over :data:`~.estimate.LARGE_PHOTO_PIXELS` into a temporary file it maps (:func:`reconstruct_mapped`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import NonFiniteError
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken, no_progress


def _format_name(path) -> str:
    """The label of a streamed file's format, from the io registry (as write_cube's own errors say it)."""
    from hsi_studio.core.io import registry

    if path.suffix.lower() == ".raw":
        return "raw float32"
    fmt = registry.by_extension(path.suffix, "cube")
    return fmt.label if fmt is not None else path.suffix
PHYSICS_TILE = 128  # per-pixel baselines: any tile gives the same values; a short one keeps one row of tiles small


class RowSink:
    """Where the tiled run's rows go (``sink(top, mean, std | None)``, top to bottom): the cube and std writers
    (opened on the first rows), the preview's linear RGB and luminance, the chart boxes' reflectance."""

    def __init__(self, height: int, width: int, wavelengths, paths: dict[str, Path], *, meta: dict, kind: str,
                 divisor: np.ndarray | None = None, preview: bool = False, crop=None,
                 crop_divisor: np.ndarray | None = None) -> None:
        self.height, self.width = int(height), int(width)
        self.wavelengths = np.asarray(wavelengths, dtype=np.float64)
        self.paths, self.meta, self.kind = dict(paths), dict(meta), kind
        self.divisor, self.crop_box, self.crop_divisor = divisor, crop, crop_divisor
        self.writers: dict[str, Any] = {}
        self.preview = preview
        if preview:
            from hsi_studio.core.spectral import relight

            stub = self._stub()
            self.view_illuminant = relight.view_illuminant(stub)
            self.view_observer = relight.view_observer(stub)
            self.y_weights = relight.xyz_matrix(self.wavelengths, self.view_illuminant,
                                                self.view_observer)[:, 1].astype(np.float32)
        self.reset()

    def _stub(self) -> HSCube:
        return HSCube(np.zeros((1, 1, self.wavelengths.size), np.float32), self.wavelengths, self.meta, self.kind)

    def reset(self) -> None:
        """Forget what a run that starts again (smaller tiles after a GPU out-of-memory) already sent."""
        self.rows = 0
        self.max_abs: list[float] = []  # of the model's output (the physical-range check)
        self.max_written = -np.inf  # of the cube written (the preview's exposure rule)
        self.bad = {"cube": 0, "std": 0}
        if self.preview:
            self.linear = np.zeros((self.height, self.width, 3), np.float32)
            self.lum = np.zeros((self.height, self.width), np.float32)
        if self.crop_box is not None:
            y0, y1, x0, x1 = self.crop_box
            self.crop = np.zeros((y1 - y0, x1 - x0, self.wavelengths.size), np.float32)

    def _writer(self, key: str):
        from hsi_studio.core.io import stream as io_stream
        from hsi_studio.core.io.base import writing

        w = self.writers.get(key)
        if w is None:
            path = self.paths[key]
            with writing(path, _format_name(path)):
                w = self.writers[key] = io_stream.open_rows(path, self.height, self.width, self.wavelengths)
        return w

    def _write(self, key: str, top: int, rows: np.ndarray) -> None:
        from hsi_studio.core.io.base import writing

        path = self.paths[key]
        with writing(path, _format_name(path)):
            self._writer(key).write_rows(top, rows)

    def __call__(self, top: int, mean: np.ndarray, std: np.ndarray | None) -> None:
        from hsi_studio.core.spectral import relight

        n = mean.shape[0]
        if top == 0 and self.rows:
            self.reset()
        self.rows = top + n
        self.max_abs.append(float(np.max(np.abs(mean))) if mean.size else 0.0)
        self.bad["cube"] += int(mean.size - np.count_nonzero(np.isfinite(mean)))
        raw = mean
        if self.crop_box is not None:
            y0, y1, x0, x1 = self.crop_box
            a, b = max(top, y0), min(top + n, y1)
            if a < b:
                part = raw[a - top : b - top, x0:x1]
                self.crop[a - y0 : b - y0] = part / self.crop_divisor if self.crop_divisor is not None else part
        if self.divisor is not None:
            mean = mean / self.divisor
            std = None if std is None else std / self.divisor
        self._write("cube", top, mean)
        if std is not None and "std" in self.paths:
            self.bad["std"] += int(std.size - np.count_nonzero(np.isfinite(std)))
            self._write("std", top, std)
        if self.preview and self.bad["cube"] == 0:
            self.max_written = max(self.max_written, float(mean.max()))
            block = HSCube(mean, self.wavelengths, self.meta, self.kind)
            self.linear[top : top + n] = relight.render_linear(block, self.view_illuminant,
                                                               observer=self.view_observer, exposure=1.0)
            self.lum[top : top + n] = (mean.reshape(-1, mean.shape[2]) @ self.y_weights).reshape(n, -1)

    def check(self, lin: np.ndarray, model: str | None) -> None:
        """The in-memory path's checks on the whole result: physical range (a learned ``model``), then finite."""
        if self.rows != self.height:
            raise RuntimeError(f"the tiled run sent rows 0–{self.rows} of {self.height}")
        if model is not None:
            from hsi_studio.core.ml.reconstruct import check_physical_range

            check_physical_range(np.array(self.max_abs, np.float32), lin, model)
        for key in ("cube", "std"):
            if self.bad[key]:
                raise NonFiniteError(f"cube holds {self.bad[key]:,} NaN/Inf values; expected finite numbers "
                                     "everywhere")

    def preview_srgb(self) -> np.ndarray:
        """The sRGB float preview ``relight.render_view(cube, "srgb")`` gives (to its lookup table's rounding):
        exposure 1, or — when the cube holds values over 1.5 — the 99th percentile of luminance mapped to 1."""
        from hsi_studio.core.spectral.responses import srgb_encode

        exposure = 1.0
        if self.max_written > 1.5:
            ref = float(np.percentile(self.lum, 99.0))
            exposure = 1.0 / ref if ref > 0 else 1.0
        lin = self.linear
        self.linear = self.lum = None
        if exposure != 1.0:
            lin *= np.float32(exposure)
        np.clip(lin, 0.0, 1.0, out=lin)
        return srgb_encode(lin).astype(np.float32, copy=False)

    def finish(self, key: str, kind: str, metadata: dict) -> Path | None:
        from hsi_studio.core.io.base import writing

        if key not in self.writers:
            return None
        path = self.paths[key]
        with writing(path, _format_name(path)):
            return self.writers[key].finish(kind, metadata)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


@dataclasses.dataclass
class StreamedRun:
    """A finished streamed reconstruction whose files are written but not yet completed (:meth:`finish`)."""

    sink: RowSink
    meta: dict  # the cube's metadata, as the in-memory result's cube.metadata
    kind: str
    std_meta: dict | None
    raw_meta: dict  # the model output's metadata (before --reflectance)
    raw_kind: str
    model: str
    device: str
    seconds: float
    messages: list[str]

    @property
    def has_std(self) -> bool:
        return "std" in self.sink.writers

    def finish(self, extra: dict | None = None) -> dict[str, Path]:
        """Complete the cube (and std) files with their metadata (the cube's plus ``extra``: the photo's record,
        its source)."""
        out = {"cube": self.sink.finish("cube", self.kind, {**self.meta, **(extra or {})})}
        if self.has_std:  # the std keeps the model's record only, as the in-memory result's std does
            out["std"] = self.sink.finish("std", self.kind, dict(self.std_meta or {}))
        return {k: v for k, v in out.items() if v is not None}

    def preview_image(self) -> RGBImage:
        from hsi_studio.core.spectral import relight

        stub = HSCube(np.zeros((1, 1, self.sink.wavelengths.size), np.float32), self.sink.wavelengths, self.meta,
                      self.kind)
        return RGBImage(self.sink.preview_srgb(), "srgb", {"illuminant": relight.view_illuminant(stub)})

    def chart_reflectance(self, detection):
        """(the reflectance of the chart's sampling boxes as a cube, the detection moved onto it)."""
        y0, _y1, x0, _x1 = self.sink.crop_box
        cube = HSCube(self.sink.crop, self.sink.wavelengths, dict(self.raw_meta), kind="reflectance")
        moved = dataclasses.replace(detection, centres=np.asarray(detection.centres, np.float64) - [x0, y0],
                                    corners=np.asarray(detection.corners, np.float64) - [x0, y0])
        return cube, moved

    def close(self) -> None:
        self.sink.close()


def chart_box(detection, height: int, width: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the union of the chart's sampling boxes (clipped to the image as ``patch_rgb`` clips
    them), its top-left corner moved to even coordinates so that rounding a moved centre rounds the same way."""
    h = int(detection.half_size)
    xs = [int(round(float(x))) for x, _ in detection.centres]
    ys = [int(round(float(y))) for _, y in detection.centres]
    x0, x1 = max(min(xs) - h, 0), min(max(xs) + h + 1, width)
    y0, y1 = max(min(ys) - h, 0), min(max(ys) + h + 1, height)
    x0, y0 = x0 - x0 % 2, y0 - y0 % 2
    return y0, max(y1, y0 + 1), x0, max(x1, x0 + 1)


def _reflectance_divisor(meta: dict, kind: str, wavelengths) -> tuple[np.ndarray | None, dict, str, str | None]:
    """(float32 divisor or None, metadata, kind, light) of ``to_reflectance`` for a cube of ``meta``/``kind``."""
    from hsi_studio.services.reflectance_view import divisor_for

    divisor, md, light = divisor_for(meta, kind, wavelengths)
    return divisor, md, "reflectance", light


def stream_reconstruct(rgb: RGBImage, model: str, paths: dict[str, Path], *, reflectance: bool = False,
                       preview: bool = False, chart=None, steps: int | None = None, samples: int | None = None,
                       seed: int = 0, scheduler: str = "dpmsolver++", device: str = "auto", tile: int | None = None,
                       overlap: int | None = None, response: str | None = None, progress=no_progress,
                       cancel: CancelToken = NEVER_CANCEL) -> StreamedRun:
    """Reconstruct ``rgb`` with ``model`` (as ``core.ml.reconstruct.reconstruct``), writing the cube to ``paths["cube"]``
    (and the std to ``paths["std"]`` when the model gives one) as it goes. ``chart``: a chart detection whose
    sampling boxes' reflectance to keep. The files are completed by :meth:`StreamedRun.finish`; on an error
    they are closed and left to the caller (temporaries) to remove."""
    from hsi_studio.core.ml import devices
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.pipelines import tiling
    from hsi_studio.core.ml.pipelines.checks import check_sampling
    from hsi_studio.core.spectral.recovery import linear_srgb

    t0 = time.monotonic()
    check_sampling(steps, samples, scheduler, tile=tile)
    lin, _ = linear_srgb(rgb)
    h, w, _ = lin.shape
    src = pipeline.resolve_model(str(model))
    tile = int(tile or pipeline.DEFAULT_TILE)
    messages: list[str] = []
    if isinstance(src, str):  # physics baselines: per pixel, so tiles without overlap give the same values
        from hsi_studio.core.spectral import methods
        from hsi_studio.core.spectral.recovery import recover

        entry = methods.get(src)  # the training-free method's registry entry
        method = entry.key
        kw = {"response": response if entry.takes_response else None, "encoding": "linear"}
        probe = recover(RGBImage(lin[:1, :1], "linear"), method, **kw)
        meta, kind, wl, std_meta, name, dev = probe.metadata, probe.kind, probe.wavelengths, None, src, "cpu"

        def run():
            def one(part, report):
                return recover(RGBImage(part, "linear"), method, progress=report, cancel=cancel, **kw).data, None

            tiling.run_tiled(one, lin, wl.size, PHYSICS_TILE, 0, progress, cancel)
    else:
        rec = pipeline.model_defaults(src)
        steps = rec["steps"] if steps is None else steps
        samples = rec["samples"] if samples is None else samples
        check_sampling(steps, samples, scheduler, tile=tile)
        dev = devices.resolve_device(device)
        pipe = pipeline.pipeline_for(pipeline.load_model(src, dev), path=src)
        wl = np.asarray(pipe.wavelengths, dtype=np.float64)
        meta = {"model": str(src), "steps": steps, "samples": samples, "seed": seed, "scheduler": scheduler,
                "response": pipe.response.name}
        std_meta = {**meta, "quantity": "per-pixel standard deviation"}
        kind, name = "radiance", str(src)
        ov = pipeline.DEFAULT_OVERLAP if overlap is None else int(overlap)

        def run():
            mean, std = pipe(lin, steps=steps, samples=samples, seed=seed, scheduler=scheduler, device=dev,
                             progress=progress, cancel=cancel, tile=tile, overlap=ov)
            if mean is not None:  # a pipeline that did not tile: its whole result, in row bands
                for top in range(0, h, 128):
                    sink(top, mean[top : top + 128], None if std is None else std[top : top + 128])

    raw_meta, raw_kind = dict(meta), kind
    divisor, out_meta, out_kind = (None, dict(meta), kind)
    out_std_meta = None if std_meta is None else dict(std_meta)
    if reflectance:
        divisor, out_meta, out_kind, light = _reflectance_divisor(meta, kind, wl)
        if out_std_meta is not None and divisor is not None:
            out_std_meta["reflectance_from"] = light  # as to_reflectance records it on the std
    crop = crop_divisor = None
    if chart is not None:
        crop = chart_box(chart, h, w)
        crop_divisor = _reflectance_divisor(raw_meta, raw_kind, wl)[0]
    sink = RowSink(h, w, wl, paths, meta=out_meta, kind=out_kind, divisor=divisor, preview=preview, crop=crop,
                   crop_divisor=crop_divisor)
    try:
        while True:
            try:
                with tiling.streaming(sink):
                    run()
                break
            except Exception as exc:  # only GPU out-of-memory is handled here
                if isinstance(src, str):
                    raise
                tile, new_dev = pipeline.oom_fallback(exc, tile, dev, messages)
                if new_dev != dev:
                    dev = new_dev
                    pipe = pipeline.pipeline_for(pipeline.load_model(src, dev), path=src)
        sink.check(lin, None if isinstance(src, str) else str(src))
    except BaseException:
        sink.close()
        raise
    progress(1.0, "done")
    return StreamedRun(sink, out_meta, out_kind, out_std_meta, raw_meta, raw_kind, name, dev,
                       time.monotonic() - t0, messages)


def reconstruct_mapped(rgb: RGBImage, model: str, *, steps: int = 8, samples: int = 1, seed: int = 0,
                       device: str = "auto", progress=no_progress, cancel: CancelToken = NEVER_CANCEL,
                       folder: str | os.PathLike[str] | None = None, tile: int | None = None):
    """``services.reconstruction.reconstruct`` for a large photo: the cube (and std) streamed into temporary
    float32 files that the result maps (``np.memmap``, copy-on-write) instead of holding them in memory. The
    files are unlinked once mapped (POSIX: the mapping keeps them until the cube is dropped). Returns
    ``(cube, std, model, device, seconds, messages)``; the caller makes its ``Reconstruction`` of them (this
    module does not import that one: no import circle)."""
    folder = Path(folder or tempfile.gettempdir())
    paths = {}
    for key in ("cube", "std"):
        fd, name = tempfile.mkstemp(prefix=f"hsi-studio-{key}-", suffix=".raw", dir=folder)
        os.close(fd)
        paths[key] = Path(name)
    run = None
    try:
        run = stream_reconstruct(rgb, model, paths, steps=steps, samples=samples, seed=seed, device=device,
                                 tile=tile, progress=progress, cancel=cancel)
        run.finish()
        cube = HSCube(run.sink.writers["cube"].open(), run.sink.wavelengths, run.meta, run.kind)
        std = None
        if run.has_std:
            std = HSCube(run.sink.writers["std"].open(), run.sink.wavelengths, run.std_meta or {}, run.kind)
        return cube, std, run.model, str(run.device), run.seconds, list(run.messages)
    finally:
        if run is not None:
            run.close()
        for p in paths.values():
            try:
                p.unlink()
            except OSError:  # Windows: a mapped file cannot be removed; the temp folder's clean-up takes it
                pass


__all__ = ["RowSink", "StreamedRun", "chart_box", "reconstruct_mapped", "stream_reconstruct"]
