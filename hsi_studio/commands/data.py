"""Data subcommands: ``info``, ``scan``, ``convert``, ``simulate-rgb``, ``evaluate``."""

from __future__ import annotations

import argparse
import os
import sys

from hsi_studio.commands.common import printable as safe_name


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a cube or RGB image (size, bands, wavelengths, value range)")
    p.add_argument("file", help="cube (ENVI .hdr, .h5, .mat, .npy/.npz, .tif, CAVE PNG folder) or RGB image")
    p.add_argument("--key", help="dataset / variable name inside .h5/.mat/.npz (auto-detected by default)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("scan", help="report a folder of training cubes (what the training wizard's data page "
                       "shows): counts, shapes, bands, refused files and why, the default validation split")
    p.add_argument("folder", help="folder of HSI cubes (any supported format, PNG band folders)")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share held out for validation by the training stages' rule (default 0.2)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("convert", help="convert between cube formats (writer chosen by the output extension)")
    p.add_argument("input")
    p.add_argument("output", help=".hdr (ENVI), .h5, .mat, .npy, .npz, .tif, or a folder/ for CAVE PNGs; "
                   "RGB images convert between .png/.jpg/.tif")
    p.add_argument("--key", help="dataset / variable name inside the input")
    p.add_argument("--resample", metavar="GRID", help="'standard' = 400–700 nm / 10 nm before writing")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("simulate-rgb", help="render the camera RGB a cube would give (NTIRE 2022 recipe)")
    p.add_argument("cube")
    p.add_argument("-o", "--output", required=True, help="RGB image to write (.png, .tif, .jpg)")
    p.add_argument("--response", default="cie1964-srgb",
                   help="cie1964-srgb (default), cie1931-srgb, nikon-d5100, sigma-sdmerill or csv:PATH")
    p.add_argument("--exposure", default="percentile",
                   help="'percentile' (99.9th percentile → 1, default), 'max', or a scale factor")
    p.add_argument("--noise", type=float, metavar="PHOTONS", help="Poisson shot noise, photons at full scale")
    p.add_argument("--jpeg", type=int, metavar="Q", help="JPEG-compress at quality Q (1–100)")
    p.add_argument("--linear", action="store_true", help="write linear RGB instead of sRGB-encoded")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_simulate_rgb)

    p = sub.add_parser("evaluate", help="metrics of a reconstruction against ground truth")
    p.add_argument("pred")
    p.add_argument("gt")
    p.add_argument("--crop", type=int, help="centre crop of N×N pixels before scoring")
    p.add_argument("--ntire", action="store_true", help="NTIRE protocol: data range 1 for PSNR/SSIM")
    p.add_argument("--min-nm", type=float, help="ignore bands below this wavelength (e.g. 410)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def cmd_info(args) -> int:
    from hsi_studio.commands.common import print_json
    from hsi_studio.services.cubes import describe

    info = {"file": safe_name(args.file), **describe(args.file, args.key)}
    if args.json:
        print_json(info)
        return 0
    for k, v in info.items():
        if k == "wavelengths_nm":
            v = f"{v[0]:g} … {v[-1]:g} nm ({len(v)} values)"
        print(f"{k:>14}: {v}")
    return 0


def cmd_scan(args) -> int:
    from hsi_studio.commands.common import print_json
    from hsi_studio.services.training import split_validation
    from hsi_studio.services.training_data import scan_folder

    report = scan_folder(args.folder)
    good = [f["file"] for f in report["files"]]
    train, val = split_validation(good, args.val_fraction)
    out = {"folder": safe_name(args.folder), "cubes": report["cubes"], "listed": report["listed"],
           "shapes": report["shapes"], "bands": report["bands"], "range_nm": report["range_nm"],
           "resampled": report["resampled"], "formats": report["formats"], "refused": report["refused"],
           "train": train, "val": val}
    if args.json:
        print_json(out)
        return 0 if good else 2
    print(f"{out['folder']}: {report['cubes']} of {report['listed']} cubes usable, onto {report['grid']}")
    for key in ("shapes", "bands"):
        if out[key]:
            print(f"{key:>10}: " + ", ".join(f"{k} ×{v}" for k, v in out[key].items()))
    if report["range_nm"]:
        print(f"{'range':>10}: {report['range_nm'][0]:g}–{report['range_nm'][1]:g} nm ({report['resampled']} resampled)")
    print(f"{'train':>10}: {len(train)}   val: {', '.join(val) or 'none (generated validation scenes)'}")
    for r in report["refused"]:
        print(f"   refused: {safe_name(r['file'])}: {r['reason']}")
    if not good:
        print(f"hsi-studio scan: error: {out['folder']} holds no usable cube; expected HSI cubes on or around "
              "400–700 nm", file=sys.stderr)
        return 2
    return 0


def cmd_convert(args) -> int:
    from hsi_studio.commands.common import check_output, output_file
    from hsi_studio.services.cubes import convert

    out = check_output(args.output, args.force)
    if str(args.output).endswith(("/", os.sep)):
        out = args.output  # keeps the slash: a PNG band folder
    with output_file(args.output, args.force):  # signals: exit 130, nothing committed; one writer per output
        written = convert(args.input, out, key=args.key, grid=args.resample)
    print(f"wrote {safe_name(written)}")
    return 0


def cmd_simulate_rgb(args) -> int:
    from hsi_studio.commands.common import check_output, output_file
    from hsi_studio.services.cubes import open_cube, write_rgb
    from hsi_studio.services.spectra import check_simulation, simulate_photo

    out = check_output(args.output, args.force)
    check_simulation(args.noise, args.jpeg)
    cube = open_cube(args.cube)
    img, response, scale = simulate_photo(cube, args.response, exposure=args.exposure, noise=args.noise,
                                          jpeg=args.jpeg, linear=args.linear, bits=args.bits, seed=args.seed)
    with output_file(args.output, args.force):
        written = write_rgb(img, out, bit_depth=args.bits)
    print(f"wrote {safe_name(written)} ({response.name}, exposure ×{scale:.4g})")
    return 0


def cmd_evaluate(args) -> int:
    from hsi_studio.commands.common import print_json
    from hsi_studio.services.cubes import evaluate_files

    res = evaluate_files(args.pred, args.gt, crop=args.crop, ntire=args.ntire, min_nm=args.min_nm)
    if args.json:
        print_json(res)
        return 0
    for k in ("mrae", "rmse", "psnr", "sam", "ssim"):
        unit = {"psnr": " dB", "sam": "°"}.get(k, "")
        print(f"{k.upper():>5}: {res[k]:.5g}{unit}")
    return 0
