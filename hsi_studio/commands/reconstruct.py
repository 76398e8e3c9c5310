"""``hsi-studio reconstruct INPUT... -o OUTDIR`` — RGB photos → 31-band cubes with the default ULDM, a model
bundle, or a training-free baseline. Under ``accelerate launch`` the inputs are split across processes."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from hsi_studio.services.reconstruct_files import (  # no torch: fast --help
        CUBE_FORMATS,
        SCHEDULERS,
        model_help,
    )

    p = sub.add_parser("reconstruct", help="RGB photos → 31-band cubes (400–700 nm)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="RGB images, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for cubes and previews")
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
    """See :func:`hsi_studio.services.reconstruct_files.expand_inputs`."""
    from hsi_studio.services.reconstruct_files import expand_inputs as expand

    return expand(items)


def check_memory_budget(path, samples: int, tile: int | None = None) -> None:
    """See :func:`hsi_studio.services.reconstruct_files.check_memory_budget`."""
    from hsi_studio.services.reconstruct_files import check_memory_budget as check

    check(path, samples, tile)


def cmd_reconstruct(args) -> int:
    from hsi_studio.commands.common import output_folder, writable_folder
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.jobs import cancel_on_signals
    from hsi_studio.services import reconstruct_files as rf

    rf.check_sampling(args.steps, args.samples, args.scheduler, tile=args.tile)  # fail fast, before any work
    _check_photo_flags(args)
    all_inputs = expand_inputs(args.inputs)
    inputs = rf.my_share(all_inputs)
    src = rf.resolve_model(args.model)  # fail fast on a bad --model, before any work
    # the model's recommended samples when --samples is not given (a std cube is written when > 1)
    args.samples_effective = rf.recommended_samples(src, args.samples)
    rf.check_output_names(all_inputs, args.format, not args.no_preview, args.samples_effective > 1,
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
    from hsi_studio.services.calibration import parse_photo_options

    args.white_balance, args.chart, args.chart_reference = parse_photo_options(
        getattr(args, "white_balance", None), getattr(args, "chart", None), getattr(args, "chart_reference", None))


def _prepare(args, rgb, path, reporter, token):
    """The photo as the model will see it (white balance, chart calibration) and the messages to show."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.services.photo import prepare_photo

    try:
        return prepare_photo(rgb, white_balance=args.white_balance, chart=args.chart,
                             reference=args.chart_reference, cancel=token)
    except InputError as exc:
        from hsi_studio.services.calibration import ChartNotFoundError

        if isinstance(exc, ChartNotFoundError) or exc.path:
            raise
        raise type(exc)(str(exc), path=str(path)) from None


def _reconstruct_all(args, inputs: list, outdir, token) -> int:
    from hsi_studio.commands.common import Reporter, printable
    from hsi_studio.core.errors import InputError
    from hsi_studio.services import reconstruct_files as rf

    failures = 0
    for n, path in enumerate(inputs, 1):
        token.check()
        reporter = Reporter(jsonl=args.jsonl, label=f"[{n}/{len(inputs)}] {path.name}")
        try:
            paths = rf.output_paths(outdir, path.stem, args.format, not args.no_preview, args.samples_effective > 1,
                                    args.force, chart=args.chart is not None)
            check_memory_budget(path, args.samples_effective, args.tile)
            rgb = rf.read_photo(path, args.linear)
            prepared = _prepare(args, rgb, path, reporter, token)
            for msg in prepared.messages:
                reporter.event(event="message", message=msg)
                if not args.jsonl:
                    print(f"{printable(path.name)}: {msg}", file=reporter.stream)
            rgb = prepared.rgb
            if rf.streams(rgb.height, rgb.width, args.tile):
                res = _reconstruct_streamed(args, prepared, path, paths, outdir, token, reporter)
                _report_written(args, res, path, res.written, reporter)
                continue
            res = rf.reconstruct(rgb, args.model, steps=args.steps, samples=args.samples, seed=args.seed,
                                       scheduler=args.scheduler, device=args.device, tile=args.tile,
                                       response=args.response, progress=reporter, cancel=token)
            res.cube.metadata.update(prepared.record())
            report = None
            if prepared.calibration is not None:
                from hsi_studio.services.photo import chart_report

                report = chart_report(prepared, rf.to_reflectance(res.cube)[0], source=str(path),
                                      model=str(res.model))
                _tell_chart(reporter, args, path, report)
            if args.reflectance:
                res.cube, res.std = rf.to_reflectance(res.cube, res.std)
        except rf.WriteFailed as exc:
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
        written = rf.write_outputs(res, paths, outdir, token, report)
        _report_written(args, res, path, written, reporter)
    return failures


def _report_written(args, res, path, written: list, reporter) -> None:
    from hsi_studio.commands.common import printable
    from hsi_studio.services.reconstruct_files import written_size

    for w in written:
        reporter.event(event="wrote", path=str(w), input=str(path), seconds=round(res.seconds, 2),
                       device=res.device, model=res.model)
        if not args.jsonl:
            print(f"wrote {printable(w)} ({written_size(w)})")
    if not args.jsonl:
        print(f"{printable(path.name)}: {res.model} on {res.device} in {res.seconds:.1f} s")


def _reconstruct_streamed(args, prepared, path, paths: dict, outdir, token, reporter):
    """One photo larger than a tile, streamed into its outputs
    (:func:`hsi_studio.services.reconstruct_files.reconstruct_streamed`); what it finds is told as the in-memory
    path tells it."""
    from hsi_studio.services.reconstruct_files import reconstruct_streamed

    def messages(lines) -> None:
        for msg in lines:
            reporter.event(event="message", message=msg)
            if not args.jsonl:
                print(msg, file=reporter.stream)

    return reconstruct_streamed(prepared, path, paths, outdir, model=args.model, reflectance=args.reflectance,
                                on_chart=lambda report: _tell_chart(reporter, args, path, report),
                                on_messages=messages, progress=reporter, cancel=token, steps=args.steps,
                                samples=args.samples, seed=args.seed, scheduler=args.scheduler, device=args.device,
                                tile=args.tile, response=args.response)


def _tell_chart(reporter, args, path, report: dict) -> None:
    """The chart report's headline: a ``chart`` event, and one line on the stream unless ``--jsonl``."""
    from hsi_studio.commands.common import printable

    sam = report["spectra"]["sam_mean_deg"]
    reporter.event(event="chart", input=str(path), sam_mean_deg=sam,
                   delta_e_after_loo_mean=report["delta_e_after_loo_mean"])
    if not args.jsonl:
        print(f"{printable(path.name)}: chart patches' mean spectral angle {sam:.2f}° "
              f"(report: {path.stem}_chart.png)", file=reporter.stream)
