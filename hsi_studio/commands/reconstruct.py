"""``hsi-studio reconstruct INPUT... -o OUTDIR`` — RGB photos → 31-band cubes with the default ULDM, a model
bundle, or a training-free baseline. Under ``accelerate launch`` the inputs are split across processes."""

from __future__ import annotations

import argparse
import os

CUBE_FORMATS = {"h5": ".h5", "envi": ".hdr", "mat": ".mat", "npy": ".npy"}


def register(sub: argparse._SubParsersAction) -> None:
    from hsi_studio.core.ml.pipelines.checks import SCHEDULERS  # no torch: --help stays fast

    p = sub.add_parser("reconstruct", help="RGB photos → 31-band cubes (400–700 nm)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="RGB images, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for cubes and previews")
    from hsi_studio.core.ml.reconstruct import model_help  # no torch: the methods registry

    p.add_argument("--model", default="default", help=model_help())
    p.add_argument("--steps", type=int, help="solver steps (default: what the model recommends; 8 if it says nothing)")
    p.add_argument("--samples", type=int,
                   help="samples per image (default: what the model recommends); >1 also writes a std cube")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default="dpmsolver++", choices=SCHEDULERS)
    p.add_argument("--device", default="auto", help="auto (CUDA → MPS → CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--tile", type=int, help="tile size in pixels for large images (default 512)")
    p.add_argument("--format", default="h5", choices=tuple(CUBE_FORMATS), help="cube format (default h5)")
    p.add_argument("--response", help="camera response for physics:minnorm (default cie1964-srgb)")
    p.add_argument("--linear", action="store_true", help="inputs hold linear RGB (not sRGB-encoded photos)")
    p.add_argument("--reflectance", action="store_true",
                   help="write reflectance instead of radiance: a reconstruction of a photo divided by the capture "
                        "illuminant it records (D65 for an sRGB photo), so a white surface reads 1")
    p.add_argument("--white-balance", metavar="auto|chart|X,Y|X,Y,W,H",
                   help="white-balance the photo first: auto (shades of grey), chart (the chart's grey patches), "
                        "a neutral pixel X,Y or a neutral region X,Y,W,H (pixels, from the top-left corner)")
    p.add_argument("--chart", metavar="auto|X1,Y1,X2,Y2,X3,Y3,X4,Y4",
                   help="calibrate the photo's colours on a ColorChecker Classic 24 in it: auto (detect it) or the "
                        "four outer corners of its patch grid at dark skin, bluish green, black and white; writes "
                        "the chart report <stem>_chart.json/.csv/.png")
    p.add_argument("--chart-reference", default="BabelColor Average", metavar="NAME",
                   help="the chart's reference spectra (colour-science's SDS_COLOURCHECKERS; default BabelColor "
                        "Average; newer charts: 'ColorChecker24 - After November 2014')")
    p.add_argument("--no-preview", action="store_true", help="do not write <stem>_preview.png")
    p.add_argument("--jsonl", action="store_true", help="progress and results as JSON lines on stdout")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_reconstruct)


def expand_inputs(items: list[str]) -> list:
    """Files, folders (their photos) and glob patterns → a sorted, de-duplicated list of paths."""
    import glob
    from pathlib import Path

    from hsi_studio.core.errors import InputError
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


def _outputs(outdir, stem: str, fmt: str, preview: bool, std: bool, force: bool, chart: bool = False):
    from hsi_studio.core.errors import OutputError

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
    from hsi_studio.commands.common import output_files

    for p in paths.values():
        size = len(os.fsencode(p.name))
        if size > 255:
            raise OutputError(f"output name {p.name[:40]}… would be {size} bytes; expected names of at most 255 bytes "
                              f"(an input name {len(os.fsencode(stem)) - (size - 255)} bytes or shorter)")
        for target in output_files(p):  # both files of an ENVI pair
            if os.path.lexists(target) and not force:
                raise OutputError(f"{target} already exists; expected a new path (or pass --force to replace it)")
    return paths


def check_memory_budget(path, samples: int, tile: int | None = None) -> None:
    """Refuse, from the photo's header and before any work, a reconstruction that would exceed the memory budget
    (``HSI_STUDIO_MAX_MEMORY``, else 80 % of the available memory): exit 2 with the largest photo that fits,
    instead of running into the limit (or the out-of-memory killer) minutes later. A photo larger than one tile
    is streamed (its cubes go to the files row band by row band: :mod:`hsi_studio.services.reconstruct_stream`),
    so what it needs grows with its pixels only through the photo itself and the preview."""
    from hsi_studio.core.cube import MEMORY_ENV, memory_budget
    from hsi_studio.core.errors import SizeLimitError
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


def _make_outdir(outdir) -> None:
    from hsi_studio.core.errors import OutputError

    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror}); expected a writable location",
                          path=str(outdir)) from None


def _temp_for(staged, final):
    envi = final.suffix.lower() in (".hdr", ".img")
    return staged.temp(final.with_suffix(".hdr") if envi else final, (".img",) if envi else ())


def _write_outputs(res, paths: dict, outdir, token, report: dict | None = None) -> list:
    """All outputs of one input, or none: each is written to a temporary beside its destination; then, unless
    SIGINT/SIGTERM/SIGHUP arrived meanwhile, the temporaries are renamed into place with those signals held back
    (:func:`hsi_studio.core.storage.atomic.staged_files`; without --force a name taken meanwhile is never overwritten)."""
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.io import api as io
    from hsi_studio.core.spectral import relight
    from hsi_studio.core.storage.atomic import staged_files

    _make_outdir(outdir)
    with staged_files() as staged:
        for key, final in paths.items():
            tmp = _temp_for(staged, final)
            if key == "preview":
                srgb = relight.render_view(res.cube, "srgb")  # radiance as captured: looks like the photo
                io.write_rgb(RGBImage(srgb, "srgb", {"illuminant": relight.view_illuminant(res.cube)}), tmp)
            elif key.startswith("chart_"):
                from hsi_studio.core.photo import chart_report

                chart_report.write_report(report, {key[len("chart_"):]: tmp})
            else:
                io.write_cube(res.cube if key == "cube" else res.std, tmp)
            token.check()
    return list(paths.values())


def check_output_names(inputs: list, fmt: str, preview: bool, std: bool, chart: bool) -> None:
    """Two inputs whose outputs would share a name (``x/p.png`` and ``y/p.png``, or ``p.png`` and ``p.jpg``) are
    refused before any work: otherwise the second would silently replace the first."""
    from pathlib import Path

    from hsi_studio.commands.common import printable
    from hsi_studio.core.errors import InputError

    owner: dict[str, object] = {}
    for path in inputs:
        names = _outputs(Path("."), path.stem, fmt, preview, std, True, chart=chart)
        for out in names.values():
            key = out.name
            other = owner.setdefault(key, path)
            if other is not path:
                raise InputError(f"inputs {printable(other)} and {printable(path)} would both write {printable(key)}; "
                                 "expected inputs with different names (rename one, or reconstruct them into "
                                 "different output folders)")


def to_reflectance(cube, std=None):
    """See :func:`hsi_studio.core.spectral.relight.to_reflectance`."""
    from hsi_studio.core.spectral.relight import to_reflectance as convert

    return convert(cube, std)


def _split_for_processes(inputs: list) -> list:
    """Under ``accelerate launch`` each process takes its share (Accelerate's split_between_processes)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return inputs
    from accelerate import PartialState

    state = PartialState()
    with state.split_between_processes(inputs) as mine:
        return list(mine)


def cmd_reconstruct(args) -> int:
    from hsi_studio.commands.common import output_folder, writable_folder
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.jobs import cancel_on_signals
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.core.ml.pipelines.checks import check_sampling

    check_sampling(args.steps, args.samples, args.scheduler, tile=args.tile)  # fail fast, before any work
    _check_photo_flags(args)
    all_inputs = expand_inputs(args.inputs)
    inputs = _split_for_processes(all_inputs)
    src = pipeline.resolve_model(args.model)  # fail fast on a bad --model, before any work
    # the model's recommended samples when --samples is not given (a std cube is written when > 1)
    args.samples_effective = args.samples or (1 if isinstance(src, str) else pipeline.model_defaults(src)["samples"])
    check_output_names(all_inputs, args.format, not args.no_preview, args.samples_effective > 1,
                       args.chart is not None)
    writable_folder(args.output)  # fail fast on an output folder that cannot be made
    # SIGINT/SIGTERM/SIGHUP: stop at the next check, exit 130, no half outputs; one writer per output folder
    with cancel_on_signals() as token, output_folder(args.output, args.force) as outdir:
        failures = _reconstruct_all(args, inputs, outdir, token)
    if failures:
        raise InputError(f"{failures} of {len(inputs)} inputs failed (see above); the others were written")
    return 0


def _check_photo_flags(args) -> None:
    """--white-balance / --chart / --chart-reference parsed before any work (exit 2 with one line)."""
    from hsi_studio.core.photo import chart_detect
    from hsi_studio.core.photo import correction as photo_correction

    args.white_balance = getattr(args, "white_balance", None)
    args.chart = getattr(args, "chart", None)
    if args.white_balance is not None:
        args.white_balance = photo_correction.parse_white_balance(args.white_balance)
    if args.chart is not None and args.chart.strip().lower() != "auto":
        args.chart = chart_detect.parse_corners(args.chart)
    elif args.chart is not None:
        args.chart = "auto"
    args.chart_reference = photo_correction._check_reference(getattr(args, "chart_reference", None)
                                                             or photo_correction.REFERENCE_DEFAULT)


def _prepare(args, rgb, path, reporter, token):
    """The photo as the model will see it (white balance, chart calibration) and the messages to show."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.services.photo import prepare_photo

    try:
        return prepare_photo(rgb, white_balance=args.white_balance, chart=args.chart,
                             reference=args.chart_reference, cancel=token)
    except InputError as exc:
        from hsi_studio.core.photo.chart_detect import ChartNotFoundError

        if isinstance(exc, ChartNotFoundError) or exc.path:
            raise
        raise type(exc)(str(exc), path=str(path)) from None


def _reconstruct_all(args, inputs: list, outdir, token) -> int:
    from hsi_studio.commands.common import Reporter, printable
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.io import api as io
    from hsi_studio.core.ml import reconstruct as pipeline
    from hsi_studio.services.estimate import streams

    failures = 0
    for n, path in enumerate(inputs, 1):
        token.check()
        reporter = Reporter(jsonl=args.jsonl, label=f"[{n}/{len(inputs)}] {path.name}")
        try:
            paths = _outputs(outdir, path.stem, args.format, not args.no_preview, args.samples_effective > 1,
                             args.force, chart=args.chart is not None)
            check_memory_budget(path, args.samples_effective, args.tile)
            rgb = io.read_rgb(path)
            if args.linear:
                rgb = RGBImage(rgb.data, "linear", rgb.metadata, rgb.bit_depth)
            prepared = _prepare(args, rgb, path, reporter, token)
            for msg in prepared.messages:
                reporter.event(event="message", message=msg)
                if not args.jsonl:
                    print(f"{printable(path.name)}: {msg}", file=reporter.stream)
            rgb = prepared.rgb
            if streams(rgb.height, rgb.width, args.tile):
                res = _reconstruct_streamed(args, prepared, path, paths, outdir, token, reporter)
                _report_written(args, res, path, res.written, reporter)
                continue
            res = pipeline.reconstruct(rgb, args.model, steps=args.steps, samples=args.samples, seed=args.seed,
                                       scheduler=args.scheduler, device=args.device, tile=args.tile,
                                       response=args.response, progress=reporter, cancel=token)
            res.cube.metadata.update(prepared.record())
            report = None
            if prepared.calibration is not None:
                from hsi_studio.services.photo import chart_report

                report = chart_report(prepared, to_reflectance(res.cube)[0], source=str(path), model=str(res.model))
                _tell_chart(reporter, args, path, report)
            if args.reflectance:
                res.cube, res.std = to_reflectance(res.cube, res.std)
        except _WriteFailed as exc:
            raise exc.error from exc.error.__cause__
        except InputError as exc:
            if len(inputs) == 1:
                raise
            failures += 1
            reporter.event(event="error", input=str(path), message=str(exc))
            if not args.jsonl:
                print(f"hsi-studio reconstruct: error: {' '.join(str(exc).split())}", file=reporter.stream)
            continue
        for msg in res.messages:
            reporter.event(event="message", message=msg)
            if not args.jsonl:
                print(msg, file=reporter.stream)
        res.cube.metadata["source"] = str(path)
        token.check()
        if res.std is None:
            paths.pop("std", None)
        written = _write_outputs(res, paths, outdir, token, report)
        _report_written(args, res, path, written, reporter)
    return failures


def _report_written(args, res, path, written: list, reporter) -> None:
    from hsi_studio.commands.common import printable
    from hsi_studio.core.io.base import written_bytes
    from hsi_studio.core.storage.files import format_bytes

    for w in written:
        reporter.event(event="wrote", path=str(w), input=str(path), seconds=round(res.seconds, 2),
                       device=res.device, model=res.model)
        if not args.jsonl:
            print(f"wrote {printable(w)} ({format_bytes(written_bytes(w))})")
    if not args.jsonl:
        print(f"{printable(path.name)}: {res.model} on {res.device} in {res.seconds:.1f} s")


class _WriteFailed(Exception):
    """An output error of a streamed run: it ends the command (exit 2) as a failed write of the in-memory path
    does, instead of counting as one failed input."""

    def __init__(self, error) -> None:
        super().__init__(str(error))
        self.error = error


def _reconstruct_streamed(args, prepared, path, paths: dict, outdir, token, reporter):
    """One photo larger than a tile: reconstructed in tiles whose finished rows go straight to the staged
    temporaries of its outputs (:func:`hsi_studio.services.reconstruct_stream.stream_reconstruct`), committed
    together at the end — or none of them (an error, a signal). The files equal the in-memory path's."""
    from types import SimpleNamespace

    from hsi_studio.core.errors import OutputError
    from hsi_studio.core.io import api as io
    from hsi_studio.core.storage.atomic import staged_files
    from hsi_studio.services.reconstruct_stream import stream_reconstruct


    _make_outdir(outdir)
    try:
        with staged_files() as staged:
            temps = {key: _temp_for(staged, final) for key, final in paths.items()}
            cal = prepared.calibration
            run = stream_reconstruct(prepared.rgb, args.model, {k: temps[k] for k in ("cube", "std") if k in temps},
                                     reflectance=args.reflectance, preview="preview" in paths,
                                     chart=None if cal is None else cal.detection, steps=args.steps,
                                     samples=args.samples, seed=args.seed, scheduler=args.scheduler,
                                     device=args.device, tile=args.tile, response=args.response, progress=reporter,
                                     cancel=token)
            try:
                report = None
                if cal is not None:
                    from hsi_studio.core.photo import chart_report
                    from hsi_studio.core.photo import correction as photo_correction

                    crop, moved = run.chart_reflectance(cal.detection)
                    spectra = photo_correction.patch_spectra(crop, moved, cal.reference)
                    report = chart_report.report_dict(cal, spectra, source=str(path), model=str(run.model))
                    _tell_chart(reporter, args, path, report)
                for msg in run.messages:
                    reporter.event(event="message", message=msg)
                    if not args.jsonl:
                        print(msg, file=reporter.stream)
                token.check()
                try:
                    run.finish({**prepared.record(), "source": str(path)})
                    if not run.has_std:
                        paths.pop("std", None)
                    if "preview" in paths:
                        io.write_rgb(run.preview_image(), temps["preview"])
                    if report is not None:
                        from hsi_studio.core.photo import chart_report

                        chart_report.write_report(report, {k[len("chart_"):]: temps[k] for k in temps
                                                           if k.startswith("chart_")})
                except OutputError as exc:
                    raise _WriteFailed(exc) from exc
                token.check()
            finally:
                run.close()
    except OutputError as exc:  # a write while streaming, or the commit
        raise _WriteFailed(exc) from exc
    return SimpleNamespace(model=run.model, device=run.device, seconds=run.seconds, written=list(paths.values()))


def _tell_chart(reporter, args, path, report: dict) -> None:
    """The chart report's headline: a ``chart`` event, and one line on the stream unless ``--jsonl``."""
    from hsi_studio.commands.common import printable

    sam = report["spectra"]["sam_mean_deg"]
    reporter.event(event="chart", input=str(path), sam_mean_deg=sam,
                   delta_e_after_loo_mean=report["delta_e_after_loo_mean"])
    if not args.jsonl:
        print(f"{printable(path.name)}: chart patches' mean spectral angle {sam:.2f}° "
              f"(report: {path.stem}_chart.png)", file=reporter.stream)
