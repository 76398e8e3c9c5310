"""``hsi-studio models``: the models ``reconstruct --model`` accepts — the list the Reconstruct dock shows
(services.models), with what each bundle is and its recommended sampling."""

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
    from pathlib import Path

    from hsi_studio.commands.common import print_json
    from hsi_studio.core.ml.reconstruct import bundle_class, default_model_path, model_defaults, named_bundle
    from hsi_studio.services.models import model_choices

    rows = []
    for label, spec, available in model_choices(args.dir):
        row = {"model": spec, "label": label, "available": available}
        if available and not spec.startswith("physics:"):
            path = default_model_path() if spec == "default" else Path(spec)
            if spec != "default":  # what --model takes: a name (shipped or in a user's model folder), else the path
                named = named_bundle(path.name)
                row["model"] = path.name if named and named.resolve() == path.resolve() else printable(spec)
            row["class"] = bundle_class(path)
            if row["class"] == "ULDM":
                row["sampling"] = model_defaults(path)
                row["corrective"] = (path / "spatial" / "config.json").is_file()  # corrective diffusion (#21)
        rows.append(row)
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
