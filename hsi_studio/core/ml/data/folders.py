"""Folders of real hyperspectral cubes: listing, lazy reading onto the standard grid with a report of what was
refused and why, and the one rule that splits cubes into training and validation (numpy only)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hsi_studio.core.cube import HSCube
from hsi_studio.core.errors import InputError, WavelengthError
from hsi_studio.core.jobs import ProgressTracker
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS as WL
from hsi_studio.core.spectral.responses import resample_cube

T = TypeVar("T")


_BAND_PNG = re.compile(r".*_\d+\.png", re.IGNORECASE)


def _band_folder(p: Path) -> Path | None:
    """A PNG band folder (``x_01.png`` …) at ``p`` or one level down (CAVE ships ``x_ms/x_ms/``)."""
    for q in (p, *sorted(c for c in p.iterdir() if c.is_dir())):
        if any(_BAND_PNG.fullmatch(f.name) for f in q.iterdir()):
            return q
    return None


def list_cube_files(folder: str | Path) -> list[Path]:
    """The cube files of a folder, sorted: every extension :func:`io.read_cube` reads (ENVI by its ``.hdr``;
    an ``.img`` only without one) and PNG band folders."""
    from hsi_studio.core.io.api import CUBE_READ_EXTENSIONS

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; expected a folder of hyperspectral cubes")
    exts = {e.lower() for e in CUBE_READ_EXTENSIONS}
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            band = _band_folder(p)
            if band is not None:
                out.append(band)
        elif p.suffix.lower() in exts and not p.name.startswith("."):
            if p.suffix.lower() == ".img" and any(p.with_suffix(s).is_file() for s in (".hdr", ".HDR")):
                continue
            out.append(p)
    return out


def cube_paths(items: Sequence[str | Path]) -> list[Path]:
    """Cube files, PNG band folders (one cube each) and folders of cubes → the cubes' paths, in order."""
    out: list[Path] = []
    for item in map(Path, items):
        if item.is_dir() and not any(_BAND_PNG.fullmatch(f.name) for f in item.iterdir()):
            out += list_cube_files(item)
        else:
            out.append(item)
    return out


class CubeFolder:
    """The cubes of a folder (or an explicit list of files), on the standard 31-band grid.

    Construction only lists the files. ``get(i)`` reads one (kept in memory when ``cache``); ``load_all`` /
    ``validate`` read them all with progress and cancel; a file that cannot be read or put on 400–700 nm is
    refused with its reason — one bad file never stops the folder. ``outside``: what to do with a cube that
    does not cover 400–700 nm (``"error"`` refuses it; ``"nearest"`` repeats its edge bands).
    ``max_step_nm``: a cube whose bands are further apart is refused (resampling would invent detail).
    """

    def __init__(self, path: str | Path | Sequence[str | Path], *, key: str | None = None, wavelengths=None,
                 outside: str = "error", max_step_nm: float = 20.0, cache: bool = True):
        if isinstance(path, (str, Path)):
            self.root: Path | None = Path(path)
            self.files = list_cube_files(self.root)
        else:
            self.root, self.files = None, [Path(p) for p in path]
        self.key, self.wavelengths, self.outside = key, wavelengths, outside
        self.max_step_nm, self.cache = float(max_step_nm), bool(cache)
        self._cubes: dict[int, HSCube] = {}
        self._info: dict[int, dict[str, Any]] = {}
        self._refused: dict[int, str] = {}

    @classmethod
    def load(cls, path, *, progress=None, cancel=None, **kwargs: Any) -> CubeFolder:
        """List and read everything now (the eager form)."""
        folder = cls(path, **kwargs)
        folder.load_all(progress, cancel)
        return folder

    def __len__(self) -> int:
        return len(self.files)

    def name(self, i: int) -> str:
        p = self.files[i]
        return p.name if self.root is None or p.parent == self.root else str(p.relative_to(self.root))

    def get(self, i: int) -> HSCube:
        """Cube ``i`` on the standard grid; raises the :class:`InputError` it was refused with."""
        if i in self._cubes:
            return self._cubes[i]
        if i in self._refused:
            raise InputError(self._refused[i], path=str(self.files[i]))
        try:
            cube = self._read(i)
        except (InputError, OSError, ValueError) as exc:  # one bad file never stops the folder
            msg = " ".join(str(exc).split())
            prefix = f"{getattr(exc, 'path', None)}: "
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            self._refused[i] = msg if isinstance(exc, InputError) else f"{type(exc).__name__}: {msg}"
            raise InputError(self._refused[i], path=str(self.files[i])) from None
        if self.cache:
            self._cubes[i] = cube
        return cube

    def _read(self, i: int) -> HSCube:
        from hsi_studio.core.io import api as io

        raw = io.read_cube(self.files[i], key=self.key, wavelengths=self.wavelengths)
        wl = raw.wavelengths
        step = float(np.median(np.diff(wl))) if wl.size > 1 else float("inf")
        grid = f"{raw.bands} bands {wl[0]:g}–{wl[-1]:g} nm"
        if step > self.max_step_nm:
            raise WavelengthError(f"its bands are {step:g} nm apart ({grid}); expected at most {self.max_step_nm:g} "
                                  "nm spacing to resample to 400–700 nm / 10 nm without inventing detail",
                                  path=str(self.files[i]))
        try:
            cube = resample_cube(raw, WL, outside=self.outside)
        except WavelengthError as exc:
            raise WavelengthError(f"{grid} cannot be put on 400–700 nm / 10 nm: {exc}", path=str(self.files[i])
                                  ) from None
        d = cube.data
        self._info[i] = {"file": self.name(i), "shape": list(raw.shape), "bands": raw.bands,
                         "range_nm": [float(wl[0]), float(wl[-1])], "step_nm": round(step, 3),
                         "resampled": cube is not raw, "kind": cube.kind, "min": float(d.min()),
                         "max": float(d.max()), "negative_fraction": float((d < 0).mean())}
        return cube

    def validate(self, progress=None, cancel=None) -> list[int]:
        """Read every file not yet read (progress, cancel); the indices of the good ones."""
        tracker = ProgressTracker(len(self), progress, cancel)
        for i in range(len(self)):
            if i not in self._info and i not in self._refused:
                try:
                    self.get(i)
                except InputError:
                    pass
            tracker.step(self.name(i))
        return self.good

    def load_all(self, progress=None, cancel=None) -> list[HSCube]:
        """Every good cube (read now, with progress and cancel)."""
        return [self.get(i) for i in self.validate(progress, cancel)]

    @property
    def good(self) -> list[int]:
        return [i for i in range(len(self)) if i in self._info and i not in self._refused]

    @property
    def cubes(self) -> list[HSCube]:
        return self.load_all()

    @property
    def names(self) -> list[str]:
        return [self.name(i) for i in self.validate()]

    @property
    def refused(self) -> list[dict[str, str]]:
        return [{"file": self.name(i), "reason": r} for i, r in sorted(self._refused.items())]

    def report(self, progress=None, cancel=None) -> dict[str, Any]:
        """Counts, shapes, bands, wavelength ranges of the good files; refused files and why."""
        good = self.validate(progress, cancel)
        infos = [self._info[i] for i in good]
        return {
            "folder": str(self.root) if self.root else None,
            "listed": len(self), "cubes": len(good), "refused": self.refused, "files": infos,
            "shapes": _count(["×".join(map(str, f["shape"][:2])) for f in infos]),
            "bands": _count([f["bands"] for f in infos]),
            "range_nm": ([min(f["range_nm"][0] for f in infos), max(f["range_nm"][1] for f in infos)]
                         if infos else None),
            "resampled": sum(f["resampled"] for f in infos),
            "pixels": int(sum(f["shape"][0] * f["shape"][1] for f in infos)),
            "grid": f"{WL.size} bands {WL[0]:g}–{WL[-1]:g} nm",
        }


def _count(values: list) -> dict[str, int]:
    return {str(v): values.count(v) for v in sorted(set(values))}


def split_validation(items: Sequence[T], fraction: float) -> tuple[list[T], list[T]]:
    """(train, val): the last ``fraction`` of ``items`` (in the order given — folders list their cubes sorted by
    name) go to validation; at least one when there are two or more and ``fraction`` > 0, and never all of them.
    The one rule the training stages and the wizard's default ticks share."""
    items = list(items)
    fraction = float(fraction)
    if not 0 <= fraction < 1:
        raise InputError(f"validation fraction {fraction:g}; expected a number in [0, 1)")
    n_val = int(round(len(items) * fraction))
    if fraction > 0 and len(items) >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, max(len(items) - 1, 0))
    return items[: len(items) - n_val], items[len(items) - n_val :]


__all__ = ["CubeFolder", "cube_paths", "list_cube_files", "split_validation"]
