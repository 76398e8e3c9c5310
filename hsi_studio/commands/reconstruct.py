"""``hsi-studio reconstruct INPUT... -o OUTDIR`` — RGB photos → 31-band cubes with the default ULDM, a model
bundle, or a training-free baseline. Under ``accelerate launch`` the inputs are split across processes."""

from __future__ import annotations

import argparse

CUBE_FORMATS = {"h5": ".h5", "envi": ".hdr", "mat": ".mat", "npy": ".npy"}
PHOTO_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="RGB photos → 31-band cubes (400–700 nm)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="RGB images, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for cubes and previews")
    p.add_argument("--model", default="default",
                   help="default (the shipped ULDM), rootpoly or mlp (the shipped per-pixel regressions), a bundle "
                        "folder, or physics:mallett2019|otsu2018|minnorm")
    p.add_argument("--steps", type=int, default=8, help="solver steps (default 8)")
    p.add_argument("--samples", type=int, default=1, help="samples per image; >1 also writes a std cube")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default="dpmsolver++", choices=("dpmsolver++", "ddim"))
    p.add_argument("--device", default="auto", help="auto (CUDA → MPS → CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--tile", type=int, help="tile size in pixels for large images (default 512)")
    p.add_argument("--format", default="h5", choices=tuple(CUBE_FORMATS), help="cube format (default h5)")
    p.add_argument("--response", help="camera response for physics:minnorm (default cie1964-srgb)")
    p.add_argument("--linear", action="store_true", help="inputs hold linear RGB (not sRGB-encoded photos)")
    p.add_argument("--reflectance", action="store_true",
                   help="write reflectance instead of radiance: a reconstruction of a photo divided by the capture "
                        "illuminant it records (D65 for an sRGB photo), so a white surface reads 1")
    p.add_argument("--no-preview", action="store_true", help="do not write <stem>_preview.png")
    p.add_argument("--jsonl", action="store_true", help="progress and results as JSON lines on stdout")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_reconstruct)


def expand_inputs(items: list[str]) -> list:
    """Files, folders (their photos) and glob patterns → a sorted, de-duplicated list of paths."""
    import glob
    from pathlib import Path

    from hsi_studio.core.errors import InputError

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in PHOTO_EXTS))
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


def _outputs(outdir, stem: str, fmt: str, preview: bool, std: bool, force: bool):
    from hsi_studio.core.errors import OutputError

    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir} is a file; expected a folder for the reconstruction")
    paths = {"cube": outdir / f"{stem}{CUBE_FORMATS[fmt]}"}
    if std:
        paths["std"] = outdir / f"{stem}_std{CUBE_FORMATS[fmt]}"
    if preview:
        paths["preview"] = outdir / f"{stem}_preview.png"
    for p in paths.values():
        if p.exists() and not force:
            raise OutputError(f"{p} already exists; expected a new path (or pass --force to replace it)")
    return paths


def to_reflectance(cube, std=None):
    """(reflectance cube, std cube or None): a reflectance cube as is; a reconstruction divided by the capture
    illuminant it records (its std by the same divisor); refused when it records none."""
    from hsi_studio.core import relight
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.errors import InputError

    if cube.kind == "reflectance":
        return cube, std
    light = relight.recorded_capture_illuminant(cube)
    if light is None:
        raise InputError("this reconstruction records no capture illuminant (its model was not trained for sRGB "
                         "photos), so its reflectance is unknown; expected a model with an sRGB response, or drop "
                         "--reflectance")
    divisor = relight.reflectance_divisor(cube, light).astype("float32")
    refl = relight.estimate_reflectance(cube, light)
    if std is not None:
        std = HSCube(std.data / divisor, std.wavelengths, {**std.metadata, "reflectance_from": light},
                     kind="reflectance")
    return refl, std


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
    from pathlib import Path

    from hsi_studio.core import io, pipeline, relight
    from hsi_studio.core.cube import RGBImage
    from hsi_studio.core.errors import InputError

    from .common import Reporter

    inputs = _split_for_processes(expand_inputs(args.inputs))
    pipeline.resolve_model(args.model)  # fail fast on a bad --model, before any work
    outdir = Path(args.output)
    failures = 0
    for n, path in enumerate(inputs, 1):
        reporter = Reporter(jsonl=args.jsonl, label=f"[{n}/{len(inputs)}] {path.name}")
        try:
            paths = _outputs(outdir, path.stem, args.format, not args.no_preview, args.samples > 1, args.force)
            rgb = io.read_rgb(path)
            if args.linear:
                rgb = RGBImage(rgb.data, "linear", rgb.metadata, rgb.bit_depth)
            res = pipeline.reconstruct(rgb, args.model, steps=args.steps, samples=args.samples, seed=args.seed,
                                       scheduler=args.scheduler, device=args.device, tile=args.tile,
                                       response=args.response, progress=reporter)
            if args.reflectance:
                res.cube, res.std = to_reflectance(res.cube, res.std)
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
        outdir.mkdir(parents=True, exist_ok=True)
        written = [io.write_cube(res.cube, paths["cube"])]
        if res.std is not None:
            written.append(io.write_cube(res.std, paths["std"]))
        if "preview" in paths:
            srgb = relight.render_view(res.cube, "srgb")  # radiance as captured: looks like the photo
            written.append(io.write_rgb(RGBImage(srgb, "srgb", {"illuminant": relight.view_illuminant(res.cube)}),
                                        paths["preview"]))
        for w in written:
            reporter.event(event="wrote", path=str(w), input=str(path), seconds=round(res.seconds, 2),
                           device=res.device, model=res.model)
            if not args.jsonl:
                print(f"wrote {w}")
        if not args.jsonl:
            print(f"{path.name}: {res.model} on {res.device} in {res.seconds:.1f} s")
    if failures:
        raise InputError(f"{failures} of {len(inputs)} inputs failed (see above); the others were written")
    return 0
