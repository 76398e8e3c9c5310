"""The spectral libraries of the generated scenes (numpy only — no torch here).

- :func:`shared_data_dir` / :func:`shared_data_origin`: the shared data folder the measured libraries come from
  (``$HSI_STUDIO_SHARED_DATA``, the settings file's ``shared_data``, else ``../shared/data`` beside the checkout).
- :class:`ReflectanceLibrary`: measured reflectance spectra on the 31-band grid (``shared/data/reflectances``
  when present — ISET: Simon Fraser 1995, Vrhel, DuPont, Macbeth… — else colour-science's built-in sets), each
  with its linear-sRGB / CIELAB colour under D65 and a k-d tree for nearest-colour look-up; the ColorChecker's
  spectra are kept out of it (:func:`colorchecker_mask`).
- :class:`IlluminantLibrary`: measured illuminants (``shared/data/illuminants``), colour-science's catalogue
  and light sources, CIE daylight over a CCT grid and black bodies; every SPD max-normalised.

The scene generator that draws from them is :mod:`.scenes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.errors import InputError
from hsi_studio.core.settings import shared_data_setting
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, camera_response, resample_spectra

WL = STANDARD_WAVELENGTHS


def shared_data_dir() -> Path | None:
    """``$HSI_STUDIO_SHARED_DATA``, else ``../shared/data`` beside the checkout, when it exists (which one was
    chosen: :func:`shared_data_origin`, recorded in :meth:`SceneGenerator.provenance`)."""
    return shared_data_origin()[0]


def shared_data_origin() -> tuple[Path | None, str]:
    """(folder, how it was chosen) — the libraries of generated scenes depend on it."""
    chosen = shared_data_setting()  # $HSI_STUDIO_SHARED_DATA, else the settings file's shared_data
    if chosen and Path(chosen[0]).is_dir():
        return Path(chosen[0]), chosen[1]
    beside = Path(__file__).resolve().parents[5] / "shared" / "data"
    if beside.is_dir():
        return beside, "../shared/data beside the checkout"
    return None, "none found: colour-science's built-in libraries only"


def _file_source(p: Path, spectra: int) -> dict[str, Any]:
    """A measured library file as provenance: its name, path (:func:`~.provenance.file_name`) and sha256."""
    from hsi_studio.core.storage.provenance import file_name, file_sha256

    return {"name": f"ISET {p.name}", "spectra": spectra, "file": file_name(p), "sha256": file_sha256(p)}


# ---------------------------------------------------------------------------------------------------------
# Colour helpers
# ---------------------------------------------------------------------------------------------------------
_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_D65_WHITE = _SRGB_TO_XYZ.sum(axis=1)


def linear_srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65 white) of linear sRGB rows (…, 3); RGB (1, 1, 1) is L* = 100."""
    xyz = np.asarray(rgb, dtype=np.float64) @ _SRGB_TO_XYZ.T / _D65_WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(np.clip(xyz, 0, None)), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _d65() -> np.ndarray:
    from hsi_studio.core.spectral._colour import colour

    sd = colour.SDS_ILLUMINANTS["D65"]
    return resample_spectra(np.asarray(sd.values), np.asarray(sd.wavelengths), WL)


def _on_grid(values, wavelengths) -> np.ndarray:
    """Spectra (N, B) on the standard grid (triangle-averaged from finer data); raises if 400–700 isn't covered."""
    return resample_spectra(np.atleast_2d(np.asarray(values, dtype=np.float64)), wavelengths, WL)


def _mat_spectra(path: Path) -> np.ndarray:
    """ISET ``.mat`` (keys ``wavelength`` (1, B), ``data`` (B, N)) → (N, 31)."""
    import scipy.io as sio

    try:
        m = sio.loadmat(str(path))
        wl = np.asarray(m["wavelength"], dtype=np.float64).ravel()
        data = np.asarray(m["data"], dtype=np.float64)
    except (KeyError, ValueError, OSError, NotImplementedError) as exc:
        raise InputError(f"not an ISET spectra file ({exc}); expected keys 'wavelength' and 'data'",
                         path=str(path)) from None
    spectra = data.T if data.shape[0] == wl.size else data
    if spectra.ndim != 2 or spectra.shape[1] != wl.size:
        raise InputError(f"data has shape {data.shape} for {wl.size} wavelengths; expected (B, N)", path=str(path))
    return _on_grid(spectra, wl)


# ---------------------------------------------------------------------------------------------------------
# Reflectances
# ---------------------------------------------------------------------------------------------------------
def _colour_reflectances() -> tuple[list[np.ndarray], list[str]]:
    """colour-science's offline reflectance sets (≈ 400 spectra before de-duplication)."""
    import warnings

    from hsi_studio.core.spectral._colour import colour

    # No ColourChecker set: the chart is a test for every model, never training data.
    sets: dict[str, Any] = {f"colour TCS {k}": v for k, v in colour.quality.datasets.SDS_TCS.items()}
    sets.update({f"colour VS {k}": v for k, v in colour.quality.datasets.SDS_VS.items()})
    blocks, names = [], []
    for name, sds in sets.items():
        blocks.append(np.concatenate([_on_grid(sd.values, sd.wavelengths) for sd in sds.values()]))
        names.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from colour.characterisation import read_training_data_rawtoaces_v1

        msds = read_training_data_rawtoaces_v1()  # 190 patches, RAW to ACES v1 training data
    blocks.append(_on_grid(np.asarray(msds.values).T, msds.wavelengths))
    names.append("colour RAW to ACES v1 training data")
    return blocks, names


#: ISET files that hold ColorChecker spectra: never training data
COLORCHECKER_FILES = ("macbethChart.mat",)
#: a library spectrum this close (RMS reflectance) to any ColorChecker reference patch is dropped
COLORCHECKER_RMS = 0.015
#: a run of 24 consecutive library spectra this close on average to a chart's 24 patches, in X-Rite order, is a
#: measured chart (Simon Fraser 1995 holds one, rows 38–61) and is dropped whole
COLORCHECKER_BLOCK_RMS = 0.04


def colorchecker_references(shared: Path | str | None = None) -> np.ndarray:
    """Every ColorChecker spectrum we know of, (M, 31): colour-science's four chart sets and, when the shared
    data is present, ISET's ``macbethChart.mat`` — what :func:`exclude_colorchecker` keeps out of training."""
    from hsi_studio.core.spectral._colour import colour

    blocks = [np.concatenate([_on_grid(sd.values, sd.wavelengths) for sd in colour.SDS_COLOURCHECKERS[k].values()])
              for k in ("ColorChecker N Ohta", "BabelColor Average", "ISO 17321-1", "PMC")]
    shared = Path(shared) if shared is not None else shared_data_dir()
    for name in COLORCHECKER_FILES:
        f = shared / "reflectances" / name if shared else None
        if f is not None and f.is_file():
            blocks.append(_mat_spectra(f))
    return np.concatenate(blocks)


def colorchecker_mask(spectra: np.ndarray, references: np.ndarray | None = None) -> np.ndarray:
    """True for the rows of ``spectra`` (N, 31) that are ColorChecker spectra: within :data:`COLORCHECKER_RMS`
    of any reference patch, or part of a 24-row run that matches a whole chart in order."""
    refs = colorchecker_references() if references is None else np.asarray(references, dtype=np.float64)
    s = np.asarray(spectra, dtype=np.float64)
    out = np.zeros(len(s), bool)
    for i in range(0, len(s), 2048):
        d = np.sqrt(((s[i:i + 2048, None, :] - refs[None]) ** 2).mean(-1))
        out[i:i + 2048] = d.min(1) < COLORCHECKER_RMS
    charts = [refs[j:j + 24] for j in range(0, len(refs) - 23, 24)]
    for chart in charts:
        for off in range(0, len(s) - 23):
            if np.sqrt(((s[off:off + 24] - chart) ** 2).mean(-1)).mean() < COLORCHECKER_BLOCK_RMS:
                out[off:off + 24] = True
    return out


@dataclass(eq=False)
class ReflectanceLibrary:
    """Reflectance spectra (N, 31) on the standard grid, their linear-sRGB colour under D65 (a perfect white is
    (1, 1, 1)) and CIELAB, for nearest-colour look-up. ``sources``: one record per file / set (name, count)."""

    spectra: np.ndarray
    sources: list[dict] = field(default_factory=list)
    lightness_weight: float = 0.5  #: L* counts this much against a*, b* in the colour match

    def __post_init__(self) -> None:
        from scipy.spatial import cKDTree

        s = np.asarray(self.spectra, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != WL.size or len(s) == 0:
            raise InputError(f"reflectance spectra have shape {s.shape}; expected (N ≥ 1, {WL.size})")
        if not np.isfinite(s).all():
            raise InputError("reflectance spectra hold NaN/Inf; expected finite values")
        self.spectra = np.clip(s, 0.0, 1.5)
        d65 = _d65()
        m = camera_response("cie1964-srgb").matrix
        self.rgb = (self.spectra * d65) @ m / (d65 @ m)
        self.lab = linear_srgb_to_lab(np.clip(self.rgb, 0, None))
        self._tree = cKDTree(self._key(self.lab))

    def _key(self, lab: np.ndarray) -> np.ndarray:
        return lab * np.array([self.lightness_weight, 1.0, 1.0])

    def __len__(self) -> int:
        return len(self.spectra)

    @classmethod
    def load(cls, shared: Path | str | None = None, *, dedupe: bool = True) -> ReflectanceLibrary:
        """``shared/reflectances/*.mat`` when that folder exists (``shared`` defaults to
        :func:`shared_data_dir`), else colour-science's built-in sets. Exact duplicates (to 1e-3) are dropped."""
        shared = Path(shared) if shared is not None else shared_data_dir()
        folder = shared / "reflectances" if shared else None
        if folder is not None and folder.is_dir() and any(folder.glob("*.mat")):
            files = sorted(f for f in folder.glob("*.mat") if f.name not in COLORCHECKER_FILES)
            blocks = [_mat_spectra(p) for p in files]
            names = [f"ISET {p.name}" for p in files]
        else:
            return cls.builtin(dedupe=dedupe)
        lib = cls._from_blocks(blocks, names, dedupe)
        files_by_name = {f"ISET {p.name}": (p, len(b)) for p, b in zip(files, blocks, strict=True)}
        lib.sources = [{**_file_source(*files_by_name[src["name"]]), **src} if src["name"] in files_by_name else src
                       for src in lib.sources]
        return lib

    @classmethod
    def builtin(cls, *, dedupe: bool = True) -> ReflectanceLibrary:
        """colour-science's offline reflectance sets only."""
        blocks, names = _colour_reflectances()
        return cls._from_blocks(blocks, names, dedupe)

    @classmethod
    def _from_blocks(cls, blocks: list[np.ndarray], names: list[str], dedupe: bool) -> ReflectanceLibrary:
        """The blocks less every ColorChecker spectrum (:func:`colorchecker_mask`, per block so a chart's run of
        24 is found in its file's order), de-duplicated when ``dedupe``."""
        refs = colorchecker_references()
        masks = [colorchecker_mask(b, refs) for b in blocks]
        spectra = np.concatenate([b[~m] for b, m in zip(blocks, masks, strict=True)])
        owner = np.repeat(np.arange(len(blocks)), [int((~m).sum()) for m in masks])
        if dedupe:
            _, first = np.unique(np.round(spectra, 3), axis=0, return_index=True)
            keep = np.sort(first)
            spectra, owner = spectra[keep], owner[keep]
        sources = [{"name": n, "spectra": int(len(b)), "colorchecker_excluded": int(m.sum()),
                    "kept": int((owner == i).sum())}
                   for i, (n, b, m) in enumerate(zip(names, blocks, masks, strict=True))]
        return cls(spectra, sources)

    def nearest(self, rgb: np.ndarray, k: int = 5) -> np.ndarray:
        """Indices (M, k) of the spectra whose colour (CIELAB, L* down-weighted) is closest to each linear-sRGB
        row (a white-balanced photo's colour), nearest first."""
        lab = linear_srgb_to_lab(np.clip(np.atleast_2d(rgb), 0, None))
        k = max(1, min(int(k), len(self)))
        _, idx = self._tree.query(self._key(lab), k=k)
        return np.asarray(idx).reshape(len(lab), k)


# ---------------------------------------------------------------------------------------------------------
# Illuminants
# ---------------------------------------------------------------------------------------------------------
DAYLIGHT_CCTS = tuple(float(k) for k in np.round(1e6 / np.linspace(1e6 / 4000, 1e6 / 20000, 24)))
BLACKBODY_CCTS = tuple(float(k) for k in np.round(1e6 / np.linspace(1e6 / 2000, 1e6 / 6500, 12)))
#: how often each group is drawn (groups that are absent are dropped and the rest renormalised)
ILLUMINANT_GROUP_WEIGHTS = {"measured": 0.35, "daylight": 0.3, "blackbody": 0.1, "catalogue": 0.25}
#: How generated scenes are lit: ``varied`` draws measured, daylight, black-body and catalogue SPDs (radiance
#: as a camera sees it before white balance); ``flat`` uses the equal-energy illuminant E, one light per scene,
#: so the radiance is the reflectance itself — the convention of CAVE-style reflectance cubes and of a
#: white-balanced photo.
LIGHTINGS = ("varied", "flat")


@dataclass(eq=False)
class IlluminantLibrary:
    """Illuminant SPDs (N, 31), each scaled to max 1, with a name and a group per SPD (``measured``,
    ``daylight``, ``blackbody``, ``catalogue``). ``sources`` records files / sets and what was skipped."""

    spectra: np.ndarray
    names: list[str]
    groups: list[str]
    sources: list[dict] = field(default_factory=list)
    group_weights: dict[str, float] = field(default_factory=lambda: dict(ILLUMINANT_GROUP_WEIGHTS))

    def __post_init__(self) -> None:
        s = np.clip(np.asarray(self.spectra, dtype=np.float64), 0, None)
        if s.ndim != 2 or s.shape[1] != WL.size or len(s) == 0 or not len(self.names) == len(s) == len(self.groups):
            raise InputError(f"illuminant spectra have shape {s.shape}; expected (N ≥ 1, {WL.size}) with N names")
        peak = s.max(axis=1, keepdims=True)
        if not np.isfinite(s).all() or (peak <= 0).any():
            raise InputError("an illuminant SPD is zero or non-finite over 400–700 nm; expected positive SPDs")
        self.spectra = s / peak
        groups = np.asarray(self.groups)
        present = {g: w for g, w in self.group_weights.items() if w > 0 and (groups == g).any()}
        if not present:
            present = {g: 1.0 for g in set(self.groups)}
        total = sum(present.values())
        self._p = np.zeros(len(s))
        for g, w in present.items():
            members = groups == g
            self._p[members] = w / total / members.sum()
        self._p /= self._p.sum()

    def __len__(self) -> int:
        return len(self.spectra)

    def sample(self, rng: np.random.Generator) -> int:
        """A random index, drawn by group weight then uniformly within the group."""
        return int(rng.choice(len(self), p=self._p))

    @classmethod
    def flat(cls) -> IlluminantLibrary:
        """The equal-energy illuminant E alone: generated radiance equals the reflectance."""
        return cls(np.ones((1, WL.size)), ["E (equal energy)"], ["flat"],
                   [{"name": "equal-energy illuminant E", "spectra": 1}], {"flat": 1.0})

    @classmethod
    def load(cls, shared: Path | str | None = None, *, catalogue: bool = True) -> IlluminantLibrary:
        """Measured SPDs from ``shared/illuminants/*.mat`` (when present) + CIE daylight at 24 CCTs (4000–20000 K)
        + black bodies at 12 CCTs (2000–6500 K) + (``catalogue``) colour-science's illuminants and light sources
        that cover 400–700 nm."""
        spectra, names, groups, sources = [], [], [], []
        shared = Path(shared) if shared is not None else shared_data_dir()
        folder = shared / "illuminants" if shared else None
        if folder is not None and folder.is_dir():
            for p in sorted(folder.glob("*.mat")):
                block = _mat_spectra(p)
                spectra.extend(block)
                names.extend(f"{p.stem}[{i}]" if len(block) > 1 else p.stem for i in range(len(block)))
                groups.extend(["measured"] * len(block))
                sources.append(_file_source(p, len(block)))
        for group, block, bnames, what in (_daylight(), _blackbodies()) + ((_catalogue(),) if catalogue else ()):
            spectra.extend(block)
            names.extend(bnames)
            groups.extend([group] * len(block))
            sources.append({"name": what, "spectra": len(block)})
        return cls(np.asarray(spectra), names, groups, sources)


def _daylight():
    from hsi_studio.core.spectral._colour import colour

    block = []
    for cct in DAYLIGHT_CCTS:
        sd = colour.sd_CIE_illuminant_D_series(colour.temperature.CCT_to_xy_CIE_D(cct))
        block.append(_on_grid(sd.values, sd.wavelengths)[0])
    return "daylight", block, [f"daylight:{int(c)}" for c in DAYLIGHT_CCTS], "CIE daylight 4000–20000 K"


def _blackbodies():
    from hsi_studio.core.spectral._colour import colour

    shape = colour.SpectralShape(400, 700, 10)
    block = [np.asarray(colour.sd_blackbody(c, shape).values) for c in BLACKBODY_CCTS]
    return "blackbody", block, [f"cct:{int(c)}" for c in BLACKBODY_CCTS], "Planckian 2000–6500 K"


def _catalogue():
    from hsi_studio.core.spectral._colour import colour

    block, names = [], []
    for mapping in (colour.SDS_ILLUMINANTS, colour.SDS_LIGHT_SOURCES):
        for name, sd in mapping.items():
            if sd.wavelengths[0] > WL[0] or sd.wavelengths[-1] < WL[-1] or name in names:
                continue  # e.g. ISO 7589 stops at 690 nm
            block.append(_on_grid(sd.values, sd.wavelengths)[0])
            names.append(name)
    return "catalogue", block, names, "colour-science SDS_ILLUMINANTS + SDS_LIGHT_SOURCES (400–700 nm)"


__all__ = ["BLACKBODY_CCTS", "COLORCHECKER_BLOCK_RMS", "COLORCHECKER_FILES", "COLORCHECKER_RMS", "DAYLIGHT_CCTS",
           "ILLUMINANT_GROUP_WEIGHTS", "LIGHTINGS", "IlluminantLibrary", "ReflectanceLibrary", "colorchecker_mask",
           "colorchecker_references", "linear_srgb_to_lab", "shared_data_dir", "shared_data_origin"]
