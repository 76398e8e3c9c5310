"""Real photos for the scene generator's spatial structure (issue 21): Debian packages that ship photographs.

    python scripts/fetch_photos.py [--out runs/photos] [--cache ~/.cache/hsi-studio/debs]

Downloads the packages with ``apt-get download`` (Debian's mirror: a package registry, no other network),
unpacks them with ``dpkg-deb -x``, keeps the files that look like photographs — at least 256 px a side, many
distinct colours (diagrams and screenshots have few), colourful enough (Hasler & Süsstrunk 2003 ≥ 12) and not
named like a colour chart (the ColorChecker is a test, never training data) — and writes each, downscaled to at
most 512 px a side in sRGB, as a PNG in ``--out`` with ``photos.json`` (package, version, path, sha256 of the
original). Nothing is copied into the repository: ``runs/`` is not in git.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

PACKAGES = ("mate-backgrounds", "opencv-doc", "gcompris-qt-data")
CHART_NAMES = re.compile(r"checker|macbeth|mcc|colou?r.?chart|calib", re.I)
MAX_SIDE = 512


def colourfulness(rgb: np.ndarray) -> float:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def looks_like_photo(img: Image.Image) -> tuple[bool, str]:
    if min(img.size) < 256:
        return False, f"small {img.size}"
    small = np.asarray(img.convert("RGB").resize((256, 256), Image.BILINEAR))
    colours = len(np.unique((small // 4).reshape(-1, 3), axis=0))
    if colours < 6000:
        return False, f"{colours} colours (a diagram?)"
    c = colourfulness(small)
    if c < 12:
        return False, f"colourfulness {c:.1f}"
    return True, f"{colours} colours, colourfulness {c:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/photos")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "hsi-studio" / "debs"))
    args = ap.parse_args(argv)
    cache, out = Path(args.cache), Path(args.out)
    cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(cache.glob(f"{p}_*.deb"))]
    if missing:
        r = subprocess.run(["apt-get", "download", *missing], cwd=cache, capture_output=True, text=True)
        if r.returncode:
            print(f"apt-get download failed: {r.stderr.strip()}", file=sys.stderr)
    records, refused = [], 0
    for deb in sorted(cache.glob("*.deb")):
        package, version = deb.name.split("_")[:2]
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            for f in sorted(Path(tmp).rglob("*")):
                if f.suffix.lower() not in (".jpg", ".jpeg", ".png") or CHART_NAMES.search(str(f.relative_to(tmp))):
                    continue
                try:
                    with Image.open(f) as im:
                        im.load()
                        ok, why = looks_like_photo(im)
                        if not ok:
                            refused += 1
                            continue
                        rgb = im.convert("RGB")
                except (OSError, ValueError, Image.DecompressionBombError):
                    refused += 1
                    continue
                rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
                rel = str(f.relative_to(tmp))
                name = f"{package}--{re.sub(r'[^A-Za-z0-9._-]+', '_', rel)[-120:]}"
                name = str(Path(name).with_suffix(".png"))
                rgb.save(out / name)
                records.append({"file": name, "package": package, "version": version, "path": "/" + rel,
                                "sha256": hashlib.sha256(f.read_bytes()).hexdigest(), "why": why})
    (out / "photos.json").write_text(json.dumps({"packages": list(PACKAGES), "photos": records}, indent=1))
    print(f"{len(records)} photos kept in {out}, {refused} files refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
