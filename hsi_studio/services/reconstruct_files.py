"""Reconstructing photo files into cube files — the use case of ``hsi-studio reconstruct INPUT… -o OUTDIR``:
the inputs expanded (files, folders, globs) and shared out between the processes of an ``accelerate launch``,
the sampling options, the model and the outputs' names checked before any work, the memory a photo needs
checked from its header, and every output of one input (cube, std, preview, chart report) written as one
all-or-nothing set — in memory, or streamed tile by tile for a photo larger than a tile. The GUI's
reconstruction is :mod:`.reconstruction`. Imports torch only when a learned model runs."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from types import SimpleNamespace

from hsi_studio.core.cube import MEMORY_ENV, RGBImage, memory_budget
from hsi_studio.core.errors import InputError, OutputError, SizeLimitError
from hsi_studio.core.ml.pipelines.checks import SCHEDULERS, check_sampling
from hsi_studio.services.outputs import make_folder, output_files, printable, staged_temp


def _streamed_formats() -> dict[str, str]:
    """``--format`` name → extension: the io registry's writable cube formats that reconstruct streams row band
    by row band (core.io.stream), in the registry's order."""
    from hsi_studio.core.io import registry
    from hsi_studio.core.io.stream import STREAM_EXTENSIONS

    return {f.name: f.extensions[0] for f in registry.formats("cube", readable=False, writable=True)
            if f.extensions and f.extensions[0] in STREAM_EXTENSIONS}


CUBE_FORMATS = _streamed_formats()


def expand_inputs(items: list[str]) -> list[Path]:
    """Files, folders (their photos) and glob patterns → a sorted, de-duplicated list of paths."""
    from hsi_studio.core.io.api import PHOTO_EXTENSIONS

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in PHOTO_EXTENSIONS))
        elif any(ch in item for ch in "*?["):
            out.extend(sorted(Path(g) for g in glob.glob(item, recursive=True)))
        else:
            out.append(p)
    seen, unique = set(), []
    for p in out:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    if not unique:
        raise InputError(f"no input images found in {' '.join(items)}; expected RGB files, folders or globs")
    return unique


def my_share(inputs: list) -> list:
    """This process's share of the inputs under ``accelerate launch`` (all of them when run alone)."""
    from hsi_studio.core import settings

    if settings.world_size() <= 1:
        return inputs
    from hsi_studio.core.ml import devices

    return devices.process_share(inputs)


def model_help() -> str:
    """``reconstruct --model``'s help, from the methods registry (no torch)."""
    from hsi_studio.core.ml.reconstruct import model_help as help_text

    return help_text()


def resolve_model(model: str):
    """A ``--model`` value → a bundle folder or a ``physics:`` method name (refused with one line)."""
    from hsi_studio.core.ml import reconstruct as pipeline

    return pipeline.resolve_model(model)


def recommended_samples(source, samples: int | None) -> int:
    """The samples a run takes: ``samples``, else what the model recommends (1 for a ``physics:`` method)."""
    from hsi_studio.core.ml import reconstruct as pipeline

    return samples or (1 if isinstance(source, str) else pipeline.model_defaults(source)["samples"])


def output_paths(outdir: Path, stem: str, fmt: str, preview: bool, std: bool, force: bool,
                 chart: bool = False) -> dict[str, Path]:
    """The outputs of one input (``cube``, ``std``, ``preview``, ``chart_json/csv/png``), each checked: a name of at
    most 255 bytes, free unless ``force``."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir} is a file; expected a folder for the reconstruction")
    paths = {"cube": outdir / f"{stem}{CUBE_FORMATS[fmt]}"}
    if std:
        paths["std"] = outdir / f"{stem}_std{CUBE_FORMATS[fmt]}"
    if preview:
        paths["preview"] = outdir / f"{stem}_preview.png"
    if chart:
        for part in ("json", "csv", "png"):
            paths[f"chart_{part}"] = outdir / f"{stem}_chart.{part}"
    for p in paths.values():
        size = len(os.fsencode(p.name))
        if size > 255:
            raise OutputError(f"output name {p.name[:40]}… would be {size} bytes; expected names of at most 255 bytes "
                              f"(an input name {len(os.fsencode(stem)) - (size - 255)} bytes or shorter)")
        for target in output_files(p):  # both files of an ENVI pair
            if os.path.lexists(target) and not force:
                raise OutputError(f"{target} already exists; expected a new path (or pass --force to replace it)")
    return paths


def check_output_names(inputs: list, fmt: str, preview: bool, std: bool, chart: bool) -> None:
    """Two inputs whose outputs would share a name (``x/p.png`` and ``y/p.png``, or ``p.png`` and ``p.jpg``) are
    refused before any work: otherwise the second would silently replace the first."""
    owner: dict[str, object] = {}
    for path in inputs:
        names = output_paths(Path("."), path.stem, fmt, preview, std, True, chart=chart)
        for out in names.values():
            key = out.name
            other = owner.setdefault(key, path)
            if other is not path:
                raise InputError(f"inputs {printable(other)} and {printable(path)} would both write {printable(key)}; "
                                 "expected inputs with different names (rename one, or reconstruct them into "
                                 "different output folders)")


def check_memory_budget(path, samples: int, tile: int | None = None) -> None:
    """Refuse, from the photo's header and before any work, a reconstruction that would exceed the memory budget
    (``HSI_STUDIO_MAX_MEMORY``, else 80 % of the available memory): exit 2 with the largest photo that fits,
    instead of running into the limit (or the out-of-memory killer) minutes later. A photo larger than one tile
    is streamed (its cubes go to the files row band by row band: :mod:`hsi_studio.services.reconstruct_stream`),
    so what it needs grows with its pixels only through the photo itself and the preview."""
    from hsi_studio.core.io import api as io
    from hsi_studio.services.estimate import largest_fitting, memory_needed, streams

    if path.suffix.lower() in io.RAW_EXTENSIONS:
        return  # read_raw checks its own decode; its size is known only once LibRaw has opened it
    info = io.describe_rgb(path)
    h, w = int(info["height"]), int(info["width"])
    need, budget = memory_needed(h, w, samples, tile=tile), memory_budget()  # the estimate the GUI shows beforehand
    if need > budget:
        fits = largest_fitting(h, w, samples, budget, tile)
        what = ("streamed to the files: the photo, the preview, one row of tiles and the model"
                if streams(h, w, tile) else f"31-band cubes{' and std' if samples > 1 else ''}")
        raise SizeLimitError(f"a {w}×{h} photo ({h * w / 1e6:.1f} MP) needs about {need / 1024**3:.1f} GiB to "
                             f"reconstruct ({what}); the memory budget is "
                             f"{budget / 1024**3:.2f} GiB ({MEMORY_ENV}, else 80% of the available memory); expected "
                             f"a photo of at most {fits:,} pixels ({fits / 1e6:.1f} MP; downscale it), or a larger budget",
                             path=str(path))


def read_photo(path: Path, linear: bool = False) -> RGBImage:
    """A photo (any RGB format or camera RAW); ``linear``: its values are linear RGB, not sRGB-encoded."""
    from hsi_studio.core.io import api as io

    rgb = io.read_rgb(path)
    return RGBImage(rgb.data, "linear", rgb.metadata, rgb.bit_depth) if linear else rgb


def streams(height: int, width: int, tile: int | None) -> bool:
    """Whether a photo of this size is reconstructed tile by tile straight into its files."""
    from hsi_studio.services.estimate import streams as estimate_streams

    return estimate_streams(height, width, tile)


def reconstruct(rgb: RGBImage, model: str, **kw):
    """RGB → cube (see :func:`hsi_studio.core.ml.reconstruct.reconstruct`)."""
    from hsi_studio.core.ml import reconstruct as pipeline

    return pipeline.reconstruct(rgb, model, **kw)


def to_reflectance(cube, std=None):
    """See :func:`hsi_studio.core.spectral.relight.to_reflectance`."""
    from hsi_studio.core.spectral.relight import to_reflectance as convert

    return convert(cube, std)


def write_outputs(res, paths: dict, outdir: Path, cancel, report: dict | None = None) -> list[Path]:
    """All outputs of one input, or none: each is written to a temporary beside its destination; then, unless
    SIGINT/SIGTERM/SIGHUP arrived meanwhile, the temporaries are renamed into place with those signals held back
    (:func:`hsi_studio.core.storage.atomic.staged_files`; a name taken meanwhile is never overwritten unless
    the outputs are forced)."""
    from hsi_studio.core.io import api as io
    from hsi_studio.core.spectral import relight
    from hsi_studio.core.storage.atomic import staged_files

    make_folder(outdir)
    with staged_files() as staged:
        for key, final in paths.items():
            tmp = staged_temp(staged, final)
            if key == "preview":
                srgb = relight.render_view(res.cube, "srgb")  # radiance as captured: looks like the photo
                io.write_rgb(RGBImage(srgb, "srgb", {"illuminant": relight.view_illuminant(res.cube)}), tmp)
            elif key.startswith("chart_"):
                from hsi_studio.core.photo import chart_report

                chart_report.write_report(report, {key[len("chart_"):]: tmp})
            else:
                io.write_cube(res.cube if key == "cube" else res.std, tmp)
            cancel.check()
    return list(paths.values())


class WriteFailed(Exception):
    """An output error of a streamed run: it ends the command (exit 2) as a failed write of the in-memory path
    does, instead of counting as one failed input."""

    def __init__(self, error) -> None:
        super().__init__(str(error))
        self.error = error


def reconstruct_streamed(prepared, path: Path, paths: dict, outdir: Path, *, model: str, reflectance: bool,
                         on_chart, on_messages, progress, cancel, **sampling):
    """One photo larger than a tile: reconstructed in tiles whose finished rows go straight to the staged
    temporaries of its outputs (:func:`hsi_studio.services.reconstruct_stream.stream_reconstruct`), committed
    together at the end — or none of them (an error, a signal). The files equal the in-memory path's.
    ``on_chart(report)`` and ``on_messages(messages)`` are told what the run found; ``sampling``: steps, samples,
    seed, scheduler, device, tile, response."""
    from hsi_studio.core.io import api as io
    from hsi_studio.core.storage.atomic import staged_files
    from hsi_studio.services.calibration import streamed_chart_report, write_report
    from hsi_studio.services.reconstruct_stream import stream_reconstruct

    make_folder(outdir)
    try:
        with staged_files() as staged:
            temps = {key: staged_temp(staged, final) for key, final in paths.items()}
            cal = prepared.calibration
            run = stream_reconstruct(prepared.rgb, model, {k: temps[k] for k in ("cube", "std") if k in temps},
                                     reflectance=reflectance, preview="preview" in paths,
                                     chart=None if cal is None else cal.detection, progress=progress,
                                     cancel=cancel, **sampling)
            try:
                report = None
                if cal is not None:
                    report = streamed_chart_report(cal, run.chart_reflectance(cal.detection), source=str(path),
                                                   model=str(run.model))
                    on_chart(report)
                on_messages(run.messages)
                cancel.check()
                try:
                    run.finish({**prepared.record(), "source": str(path)})
                    if not run.has_std:
                        paths.pop("std", None)
                    if "preview" in paths:
                        io.write_rgb(run.preview_image(), temps["preview"])
                    if report is not None:
                        write_report(report, {k[len("chart_"):]: temps[k] for k in temps if k.startswith("chart_")})
                except OutputError as exc:
                    raise WriteFailed(exc) from exc
                cancel.check()
            finally:
                run.close()
    except OutputError as exc:  # a write while streaming, or the commit
        raise WriteFailed(exc) from exc
    return SimpleNamespace(model=run.model, device=run.device, seconds=run.seconds, written=list(paths.values()))


def written_size(path) -> str:
    """The size of a written output (both files of an ENVI pair, a band folder's files), e.g. ``3.1 MB``."""
    from hsi_studio.core.storage.files import format_bytes, written_bytes

    return format_bytes(written_bytes(path))


__all__ = ["CUBE_FORMATS", "SCHEDULERS", "WriteFailed", "check_memory_budget", "check_output_names",
           "check_sampling", "expand_inputs", "model_help", "my_share", "output_paths", "read_photo", "reconstruct",
           "reconstruct_streamed", "recommended_samples", "resolve_model", "streams", "to_reflectance",
           "write_outputs", "written_size"]
