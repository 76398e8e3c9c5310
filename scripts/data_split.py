"""Check a recorded data split and make its link folders: python scripts/data_split.py SPLIT.json [--out DIR]

SPLIT.json (e.g. recipes/default/split.json) names each set's cube files relative to the repository root —
``../shared/data/…``, the shared data beside the checkout — with their sha256. Every file is checked (a missing
or changed file stops with its name); then ``DIR/<set>/`` (default ``runs/data``) holds one symbolic link per
file, so ``--data runs/data/cave_train/`` trains on exactly the recorded files. Nothing is copied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("split", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "data")
    args = ap.parse_args(argv)
    try:
        sets = json.loads(args.split.read_text())["sets"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"data_split: error: {args.split} is not a split file ({exc}); expected JSON with 'sets'", file=sys.stderr)
        return 2
    problems = []
    for entries in sets.values():
        for e in entries:
            p = ROOT / e["file"]
            if not p.is_file():
                problems.append(f"{e['file']}: missing (expected ../shared beside the checkout)")
            elif sha256(p) != e["sha256"]:
                problems.append(f"{e['file']}: sha256 differs from the recorded one (another version of the data)")
    if problems:
        print("data_split: error: the recorded data is not what is here:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    for name, entries in sets.items():
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.is_symlink():
                old.unlink()
        for e in entries:
            target = (ROOT / e["file"]).resolve()
            (folder / target.name).symlink_to(os.path.relpath(target, folder.resolve()))
        print(f"{folder}: {len(entries)} files checked and linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
