"""The training data report: what a folder of cubes holds (counts, shapes, bands, ranges), which files are
refused and why, and each file's format — what the training wizard's data page shows."""

from __future__ import annotations

from pathlib import Path

from hsi_studio.core.io.registry import label_for

FOLDER_FORMAT = "PNG band folder"


def format_of(path: str | Path) -> str:
    """The format name of a cube file (a folder is a PNG band folder)."""
    path = Path(path)
    return FOLDER_FORMAT if path.is_dir() else label_for(path, "cube", path.suffix.lstrip(".") or "?")


def scan_folder(folder: str | Path, progress=None, cancel=None) -> dict:
    """The data report of a folder of cubes (``CubeFolder.report``) plus ``paths`` and ``formats`` by file name."""
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.ml.data import CubeFolder

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of HSI cubes")
    cf = CubeFolder(root, cache=False)
    report = cf.report(progress, cancel)
    report["paths"] = {cf.name(i): str(cf.files[i]) for i in range(len(cf))}
    report["formats"] = {cf.name(i): format_of(cf.files[i]) for i in range(len(cf))}
    return report


__all__ = ["format_of", "scan_folder"]
