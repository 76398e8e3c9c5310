"""The relighting subcommands: ``relight`` (a cube rendered to sRGB under any illuminant) and ``illuminants``
(the catalogue). ``reconstruct`` lives in :mod:`.reconstruct`.

Handlers call :mod:`hsi_studio.services.relighting` lazily (never torch): ``hsi-studio --help`` stays fast.
"""

from __future__ import annotations

import argparse

from hsi_studio.commands.common import int_tuple


def register(sub: argparse._SubParsersAction) -> None:
    _register_relight(sub)
    p = sub.add_parser("illuminants", help="list the illuminant catalogue (59 CIE/ISO illuminants + cct:/daylight:)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_illuminants)


def _register_relight(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relight", help="render a cube to sRGB under any illuminant")
    p.add_argument("cube", help="cube file (.h5, .hdr, .mat, .npy/.npz, .tif, CAVE folder)")
    p.add_argument("-o", "--output", required=True, help="image to write (.png, .tif, .jpg)")
    p.add_argument("--illuminant", default="D65",
                   help="catalogue name (see `hsi-studio illuminants`), cct:K, daylight:K or csv:PATH (default D65)")
    p.add_argument("--capture-illuminant", metavar="SPEC",
                   help="the radiance cube was captured under this illuminant: divide by it first")
    p.add_argument("--white", metavar="ROW,COL", help="a white pixel: divide the cube by its spectrum first")
    p.add_argument("--white-roi", metavar="TOP,LEFT,H,W", help="a white region (mean spectrum) instead of a pixel")
    p.add_argument("--white-reflectance", type=float, default=1.0,
                   help="reflectance of the white reference (e.g. 0.18 for a grey card; default 1)")
    p.add_argument("--adapt", default="none", choices=("none", "bradford", "cat16"),
                   help="chromatic adaptation from the illuminant's white to sRGB's D65 white (default none)")
    p.add_argument("--observer", choices=("cie1931", "cie1964"),
                   help="CIE standard observer (default: the one of the camera response a reconstruction "
                        "records, so that it renders back to its photo; else cie1931, the one sRGB is defined with)")
    p.add_argument("--exposure", default="1", help="scale factor, or 'auto' (99th-percentile luminance → 1)")
    p.add_argument("--key", help="dataset / variable name inside .h5/.mat/.npz")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_relight)


# ---------------------------------------------------------------------------------------------------------
# relight
# ---------------------------------------------------------------------------------------------------------


def cmd_relight(args) -> int:
    from hsi_studio.commands.common import check_output, output_file
    from hsi_studio.core.errors import InputError
    from hsi_studio.services.cubes import write_rgb
    from hsi_studio.services.relighting import relight_file

    out = check_output(args.output, args.force)
    white = int_tuple(args.white, 2, "--white")
    roi = int_tuple(args.white_roi, 4, "--white-roi")
    if white is not None and roi is not None:
        raise InputError("give --white or --white-roi, not both")
    relit = relight_file(args.cube, args.illuminant, key=args.key, capture_illuminant=args.capture_illuminant,
                         white=white or roi, white_reflectance=args.white_reflectance, adapt=args.adapt,
                         observer=args.observer, exposure=args.exposure, bits=args.bits)
    if relit.capture_recorded:
        print(f"capture illuminant {relit.capture} (recorded in the cube: a reconstruction from an sRGB photo; "
              "--capture-illuminant overrides it)")
    with output_file(args.output, args.force):
        written = write_rgb(relit.image, out, bit_depth=args.bits)
    print(f"wrote {written} ({relit.spec}, adaptation {args.adapt}, {relit.shape[0]}×{relit.shape[1]})")
    return 0


# ---------------------------------------------------------------------------------------------------------
# illuminants
# ---------------------------------------------------------------------------------------------------------
def cmd_illuminants(args) -> int:
    from hsi_studio.commands.common import print_json
    from hsi_studio.services.relighting import illuminant_catalogue

    records = illuminant_catalogue()
    if args.json:
        print_json(records)
        return 0
    print(f"{'name':<40} {'range nm':>13} {'step':>5}  {'x':>7} {'y':>7}")
    for r in records:
        if r["kind"] == "catalogue":
            lo, hi = r["range_nm"]
            print(f"{r['name']:<40} {lo:>6g}–{hi:<6g} {r['step_nm']:>5g}  {r['xy'][0]:>7.4f} {r['xy'][1]:>7.4f}")
    print()
    for r in records:
        if r["kind"] != "catalogue":
            rng = f" ({r['range_K'][0]:g}–{r['range_K'][1]:g} K)" if "range_K" in r else ""
            print(f"{r['name']:<12} {r['description']}{rng}")
    return 0
