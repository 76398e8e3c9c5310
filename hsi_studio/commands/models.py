"""``hsi-studio models``: the models ``reconstruct --model`` accepts — the list the Reconstruct dock shows
(services.models, from the methods registry), with each one's kind, what each bundle is and its recommended
sampling."""

from __future__ import annotations

import argparse

from hsi_studio.commands.common import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the models reconstruct --model accepts (the GUI's model list)")
    p.add_argument("--dir", action="append", default=[], metavar="FOLDER",
                   help="also list the bundles in FOLDER (a bundle or a folder of bundles); repeatable. The "
                        "folders the desktop app remembers (the settings file's model_dirs) are always listed")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_models)


def cmd_models(args) -> int:
    from hsi_studio.commands.common import print_json
    from hsi_studio.services.models import model_rows

    rows = model_rows(args.dir)
    for row in rows:
        row["model"] = printable(row["model"])
    if args.json:
        print_json(rows)
        return 0
    width = max(len(r["model"]) for r in rows)
    for r in rows:
        what = r.get("class") or ""
        if r.get("corrective"):
            what += ": diffusion corrects a spatial mean"
        if r.get("sampling"):
            what += f", recommends {r['sampling']['steps']} steps × {r['sampling']['samples']} sample(s)"
        state = "" if r["available"] else " — not installed"
        print(f"{r['model']:<{width}}  {r['label']}{state}" + (f"  ({what})" if what else ""))
    return 0
