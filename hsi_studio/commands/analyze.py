"""``hsi-studio analyze``: similarity (SAM / SID) maps and masks, library matching, k-means classes, PCA and
index maps of a cube, written as PNG images plus arrays (.npy or one .h5), with an optional JSON summary and
an ENVI spectral library of the spectra used or found. Never imports torch or Qt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hsi_studio.commands.common import int_tuple, print_json

ARRAY_FORMATS = ("npy", "h5")  # hsi_studio.services.analysis.ARRAY_FORMATS (kept here: --help imports no numpy)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="spectral analysis of a cube: SAM/SID maps, library matching, k-means, "
                                       "PCA, index maps",
                       description="Analyse a cube. Outputs go into the folder -o (PNG images + arrays); "
                                   "--json prints a summary. Several analyses may be asked for at once.")
    p.add_argument("cube", help="cube file (.h5, .hdr, .mat, .npy/.npz, .tif, CAVE folder)")
    p.add_argument("-o", "--output", required=True, help="folder for the outputs (created if missing)")
    p.add_argument("--key", help="dataset / variable name inside .h5/.mat/.npz")
    ref = p.add_argument_group("similarity (SAM in degrees; SID with --sid)")
    src = ref.add_mutually_exclusive_group()
    src.add_argument("--sam-ref", metavar="SPECTRUM.csv",
                     help="reference spectrum: a CSV (wavelength_nm, value[s]); the first column, or --ref-name")
    src.add_argument("--pixel", metavar="ROW,COL", help="reference: this pixel's spectrum")
    src.add_argument("--roi", metavar="TOP,LEFT,H,W", help="reference: the mean spectrum of this region")
    ref.add_argument("--library", metavar="LIB.sli",
                     help="spectral library (.sli/.hdr/.csv, or builtin:colorchecker): each pixel's closest entry "
                          "(best-match map); with --ref-name, that entry is the SAM reference")
    ref.add_argument("--ref-name", metavar="NAME", help="the spectrum of --sam-ref / --library to use by name")
    ref.add_argument("--threshold", type=float, default=10.0,
                     help="mask: angle ≤ DEG (default 10); with --sid the SID mask uses --sid-threshold")
    ref.add_argument("--sid", action="store_true", help="also write the spectral information divergence map")
    ref.add_argument("--sid-threshold", type=float, default=0.05, help="SID mask threshold (default 0.05)")
    ref.add_argument("--std", metavar="STD_CUBE", help="std cube of a reconstruction (default: CUBE's *_std file)")
    ref.add_argument("--max-std", type=float, metavar="S",
                     help="leave pixels whose mean σ exceeds S out of the masks (needs a std cube)")
    other = p.add_argument_group("other analyses")
    other.add_argument("--kmeans", type=int, metavar="K", help="k-means classes (SPy), K = 2 … 64")
    other.add_argument("--iterations", type=int, default=10, help="k-means iterations (default 10)")
    other.add_argument("--pca", type=int, metavar="N", help="first N principal components (false colour: first 3)")
    other.add_argument("--index", metavar="A,B",
                       help="index map of two wavelengths or ranges in nm, e.g. 650,550 or 600-700,500-560")
    other.add_argument("--index-kind", choices=("nd", "ratio"), default="nd",
                       help="nd: (A−B)/(A+B) (default); ratio: A/B")
    out = p.add_argument_group("output")
    out.add_argument("--arrays", choices=ARRAY_FORMATS, default="npy", help="array format (default npy; h5: "
                                                                             "one analysis.h5)")
    out.add_argument("--library-out", metavar="LIB.sli",
                     help="write the reference and class-mean spectra as a spectral library (.sli or .csv)")
    out.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    out.add_argument("--force", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_analyze)


def _reference(args, cube, library):
    """(name, spectrum on the cube's grid, note) of the SAM reference, or None."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.services.analysis import read_library

    if args.pixel:
        r, c = int_tuple(args.pixel, 2, "--pixel")
        if r >= cube.height or c >= cube.width:
            raise InputError(f"--pixel {r},{c} lies outside the {cube.height}×{cube.width} cube; expected row < "
                             f"{cube.height}, col < {cube.width}")
        return f"pixel {r}/{c}", cube.data[r, c].astype("float64"), ""
    if args.roi:
        t, left, h, w = int_tuple(args.roi, 4, "--roi")
        if h == 0 or w == 0 or t + h > cube.height or left + w > cube.width:
            raise InputError(f"--roi {args.roi} does not fit the {cube.height}×{cube.width} cube; expected a "
                             "non-empty region inside it")
        return f"roi {t}/{left} {h}x{w}", cube.data[t:t + h, left:left + w].reshape(-1, cube.bands).mean(0), ""
    source = None
    if args.sam_ref:
        source = read_library(args.sam_ref).on_grid(cube.wavelengths)
    elif args.library and args.ref_name:
        source = library
    if source is None:
        if args.ref_name:
            raise InputError("--ref-name picks a spectrum of --sam-ref or --library; expected one of them")
        return None
    lib, note = source
    name = args.ref_name or lib.names[0]
    return name, lib.spectrum(name), note


def _plan(args, outdir: Path, has_ref: bool) -> list[str]:
    names = []
    if has_ref:
        names += ["sam", "sam_mask"] + (["sid", "sid_mask"] if args.sid else [])
    if args.library:
        names += ["library_match", "library_angle"]
    if args.kmeans is not None:
        names.append("kmeans")
    if args.pca is not None:
        names.append("pca")
    if args.index:
        names.append("index")
    return names


def _check_outputs(args, outdir: Path, names: list[str]) -> None:
    from hsi_studio.services.analysis import output_paths
    from hsi_studio.services.outputs import check_new_outputs

    check_new_outputs(output_paths(outdir, names, args.arrays, args.library_out), args.force)


def cmd_analyze(args) -> int:
    from hsi_studio.commands.common import output_folder, writable_folder
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.jobs import cancel_on_signals

    if args.kmeans is None and args.pca is None and not args.index and not (
            args.sam_ref or args.pixel or args.roi or args.library):
        raise InputError("nothing to do; expected at least one of --sam-ref/--pixel/--roi/--library, --kmeans, "
                         "--pca, --index")
    if args.ref_name is not None and not (args.sam_ref or args.library):
        raise InputError(f"--ref-name {args.ref_name!r} names a spectrum of --sam-ref or --library; expected one of "
                         "them (a --pixel or --roi reference has no names)")
    writable_folder(args.output)
    if args.library_out:
        _check_library_out(args.library_out)
    # SIGINT/SIGTERM/SIGHUP: exit 130 with nothing written; one writer per folder; all outputs or none
    with cancel_on_signals() as token, output_folder(args.output, args.force) as outdir:
        summary = _analyze(args, outdir, token)
    if args.json:
        print_json(summary)
    else:
        _print_text(summary)
    return 0


def _check_library_out(path: str) -> None:
    import os

    from hsi_studio.core.errors import InputError, OutputError

    p = Path(path)
    if p.suffix.lower() not in (".sli", ".hdr", ".csv"):
        raise InputError(f"--library-out {path!r}; expected a .sli or .csv path")
    if not os.fspath(p.parent) or not p.parent.is_dir():
        raise OutputError(f"--library-out: folder {p.parent} does not exist; expected an existing folder for the "
                          "library")


def _analyze(args, outdir: Path, token) -> dict:
    from hsi_studio.commands.common import Reporter
    from hsi_studio.core.errors import InputError
    from hsi_studio.services import analysis as an
    from hsi_studio.services.cubes import open_cube

    index_pair = _index_pair(args.index)
    library = None
    if args.library:
        library = an.read_library(args.library)
    cube = open_cube(args.cube, args.key)
    if library is not None:
        library = library.on_grid(cube.wavelengths)
    ref = _reference(args, cube, library)
    names = _plan(args, outdir, ref is not None)
    _check_outputs(args, outdir, names)
    if args.library_out and not (ref is not None or args.kmeans is not None):
        raise InputError("--library-out has nothing to write; expected a reference (--sam-ref/--pixel/--roi) "
                         "or --kmeans")
    std = _std_cube(args, cube) if args.max_std is not None else None
    summary: dict = {"cube": str(args.cube), "shape": list(cube.shape), "outputs": []}
    images, arrays, spectra = {}, {}, []
    if ref is not None:
        _similarity(args, cube, ref, std, summary, images, arrays)
        spectra.append((ref[0], ref[1]))
        if library is not None:
            ranked = an.match_spectrum(ref[1], library[0])
            summary["similarity"]["library_ranking"] = [
                {"name": m.name, "sam_deg": round(m.sam_deg, 4), "sid": round(m.sid, 6)} for m in ranked[:10]]
    token.check()
    if library is not None:
        _library_match(args, cube, library, std, summary, images, arrays)
    if args.kmeans is not None:
        _kmeans(args, cube, summary, images, arrays, spectra, Reporter(label="k-means"), token)
    token.check()
    if args.pca is not None:
        _pca(args, cube, summary, images, arrays)
    if index_pair is not None:
        _index(args, cube, index_pair, summary, images, arrays)
    token.check()
    out_lib = None
    if args.library_out:
        out_lib = an.SpectralLibrary([n for n, _ in spectra], cube.wavelengths, [s for _, s in spectra],
                                          f"HSI Studio analyze of {Path(args.cube).name}")
    _write(args, outdir, images, arrays, summary, out_lib, token)
    return summary


def _index_pair(text: str | None):
    from hsi_studio.core.errors import InputError
    from hsi_studio.services import analysis

    if not text:
        return None
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 2:
        raise InputError(f"--index {text!r}; expected two wavelengths or ranges, e.g. 650,550 or 600-700,500-560")
    for part in parts:
        analysis.parse_band(part)
    return parts


def _std_cube(args, cube):
    from hsi_studio.core.errors import InputError
    from hsi_studio.services.cubes import read_cube

    path = args.std
    if path is None:
        p = Path(args.cube)
        candidates = [p.with_name(f"{p.stem}_std{p.suffix}")]
        path = next((str(c) for c in candidates if c.exists()), None)
        if path is None:
            raise InputError(f"--max-std needs a std cube; expected --std PATH or {candidates[0].name} next to the cube")
    std = read_cube(path)
    if std.shape != cube.shape:
        raise InputError(f"std cube {path} is {std.shape}; expected the cube's shape {cube.shape}")
    return std


def _similarity(args, cube, ref, std, summary, images, arrays) -> None:
    from hsi_studio.services import analysis as an

    name, spectrum, note = ref
    angle = an.sam_map(cube, spectrum)
    mask = an.similarity_mask(angle, args.threshold, std=std, max_std=args.max_std)
    lo, hi = 0.0, max(float(args.threshold) * 3, 1.0)
    images["sam"], arrays["sam"] = an.colourise(angle, lo, hi, reverse=True), angle
    images["sam_mask"], arrays["sam_mask"] = _mask_rgb(mask), mask
    rec = {"reference": name, "threshold_deg": args.threshold, "angle_deg": an.summary(angle),
           "mask_pixels": int(mask.sum()), "mask_fraction": float(mask.mean())}
    if note:
        rec["note"] = note
    if args.sid:
        sid = an.sid_map(cube, spectrum)
        smask = an.similarity_mask(sid, args.sid_threshold, std=std, max_std=args.max_std)
        images["sid"], arrays["sid"] = an.colourise(sid, *an.stretch_limits(sid), reverse=True), sid
        images["sid_mask"], arrays["sid_mask"] = _mask_rgb(smask), smask
        rec.update(sid=an.summary(sid), sid_threshold=args.sid_threshold, sid_mask_pixels=int(smask.sum()))
    summary["similarity"] = rec


def _mask_rgb(mask):
    import numpy as np

    return np.repeat(mask[..., None].astype(np.float32), 3, axis=2)


def _library_match(args, cube, library, std, summary, images, arrays) -> None:
    import numpy as np

    from hsi_studio.services import analysis as an

    lib, note = library
    labels, closest = an.best_match_map(cube, lib, args.threshold)
    if std is not None and args.max_std is not None:
        labels[an.uncertainty_map(std) > args.max_std] = 0
    images["library_match"] = an.label_image(labels - 1, len(lib)) * (labels > 0)[..., None]
    arrays["library_match"], arrays["library_angle"] = labels, closest
    images["library_angle"] = an.colourise(closest, 0.0, max(args.threshold * 3, 1.0), reverse=True)
    counts = np.bincount(labels.ravel(), minlength=len(lib) + 1)
    summary["library"] = {"path": str(args.library), "spectra": len(lib), "threshold_deg": args.threshold,
                          "unmatched_pixels": int(counts[0]), "labels": "0 = none, i = the i-th spectrum",
                          "matches": {n: int(c) for n, c in zip(lib.names, counts[1:], strict=True) if c},
                          **({"note": note} if note else {})}


def _kmeans(args, cube, summary, images, arrays, spectra, reporter, token) -> None:
    from hsi_studio.services import analysis as an

    res = an.kmeans(cube, args.kmeans, args.iterations, progress=reporter, cancel=token)
    token.check()  # a second Ctrl-C that SPy swallowed (it returns the classes of the previous iteration)
    images["kmeans"], arrays["kmeans"] = an.label_image(res.labels, args.kmeans), res.labels
    summary["kmeans"] = {"k": args.kmeans, "iterations": res.iterations, "counts": res.counts.tolist()}
    spectra += [(f"class {i}", c) for i, c in enumerate(res.centers)]


def _pca(args, cube, summary, images, arrays) -> None:
    from hsi_studio.services import analysis as an

    res = an.pca(cube, args.pca)
    images["pca"], arrays["pca"] = res.false_colour(), res.scores
    summary["pca"] = {"components": args.pca, "explained_variance": [round(float(v), 6) for v in res.explained]}


def _index(args, cube, pair, summary, images, arrays) -> None:
    import numpy as np

    from hsi_studio.services import analysis as an

    values, label = an.index_map(cube, pair[0], pair[1], args.index_kind)
    if not np.isfinite(values).any():
        from hsi_studio.core.errors import InputError

        den = "A + B" if args.index_kind == "nd" else "B"
        raise InputError(f"--index {args.index}: {den} is 0 at every pixel (the cube holds no signal in those bands), "
                         "so the index is undefined everywhere; expected bands with non-zero values")
    images["index"], arrays["index"] = an.colourise(values, *an.stretch_limits(values)), values
    summary["index"] = {"formula": label, "kind": args.index_kind, "values": an.summary(values),
                        "png_stretch": "2nd–98th percentile, viridis"}


def _write(args, outdir: Path, images, arrays, summary, out_lib, token) -> None:
    """Every output as one staged set, all or none (:func:`hsi_studio.services.analysis.write_results`)."""
    from hsi_studio.services.analysis import write_results

    summary["outputs"] += write_results(outdir, images, arrays, array_format=args.arrays, library=out_lib,
                                        library_out=args.library_out, cancel=token)


def _print_text(summary: dict) -> None:
    if "similarity" in summary:
        s = summary["similarity"]
        print(f"SAM to {s['reference']}: {s['mask_pixels']} pixels ({s['mask_fraction']:.1%}) within "
              f"{s['threshold_deg']:g}°" + (f"; {s['note']}" if "note" in s else ""))
        if "library_ranking" in s:
            print("closest library spectra: " + ", ".join(f"{m['name']} {m['sam_deg']:.2f}°"
                                                          for m in s["library_ranking"][:5]))
    if "library" in summary:
        lib = summary["library"]
        top = sorted(lib["matches"].items(), key=lambda kv: -kv[1])[:5]
        print(f"library ({lib['spectra']} spectra): {lib['unmatched_pixels']} pixels unmatched; most matched: "
              + ", ".join(f"{n} {c}" for n, c in top))
    if "kmeans" in summary:
        km = summary["kmeans"]
        print(f"k-means k={km['k']} ({km['iterations']} iterations): class sizes {km['counts']}")
    if "pca" in summary:
        ev = summary["pca"]["explained_variance"]
        print("PCA explained variance: " + ", ".join(f"PC{i + 1} {v:.1%}" for i, v in enumerate(ev)))
    if "index" in summary:
        v = summary["index"]["values"]
        print(f"index {summary['index']['formula']}: median {v.get('median', float('nan')):.4g}")
    for path in summary["outputs"]:
        print(f"wrote {path}")
