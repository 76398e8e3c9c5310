"""Spectral analysis — the use case of finding structure in a cube: similarity to a reference (SAM / SID maps
and masks), matching against a spectral library, k-means classes, principal components and index maps, as
``hsi-studio analyze`` and the GUI's Analyse and Library panels run them, and the writing of their results
(PNG images, arrays as .npy or one .h5, an ENVI spectral library) as one all-or-nothing set. The maths is
:mod:`hsi_studio.core.analysis`'s. No torch, no Qt."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hsi_studio.core.analysis.library import (
    BUILTIN,
    SpectralLibrary,
    builtin_library,
    display_colours,
    envi_names,
    read_library,
    write_library,
)
from hsi_studio.core.analysis.maps import (
    INDEX_KINDS,
    MAX_ITERATIONS,
    MAX_K,
    KMeansResult,
    Match,
    PCAResult,
    band_image,
    best_match_map,
    check_k,
    check_reference,
    class_colours,
    colourise,
    index_map,
    kmeans,
    label_image,
    match_spectrum,
    parse_band,
    pca,
    precision_recall,
    sam_map,
    sam_maps,
    sid_map,
    similarity_mask,
    stretch_limits,
    summary,
    uncertainty_map,
)
from hsi_studio.core.analysis.uncertainty import SIGMA_MEANING
from hsi_studio.core.jobs import NEVER_CANCEL, CancelToken

ARRAY_FORMATS = ("npy", "h5")
LIBRARY_SUFFIXES = (".sli", ".hdr", ".csv")


def library_files(path: str | Path) -> list[Path]:
    """The files a spectral library written to ``path`` occupies (an ENVI library: its .sli and .hdr)."""
    p = Path(path)
    return [p.with_suffix(".sli"), p.with_suffix(".hdr")] if p.suffix.lower() in (".sli", ".hdr") else [p]


def output_paths(outdir: Path, names: list[str], arrays: str = "npy", library_out: str | None = None) -> list[Path]:
    """Every file :func:`write_results` writes for the analyses ``names``."""
    paths = [outdir / f"{n}.png" for n in names]
    paths += [outdir / "analysis.h5"] if arrays == "h5" else [outdir / f"{n}.npy" for n in names]
    if library_out:
        paths += library_files(library_out)
    return paths


def write_results(outdir: Path, images: Mapping, arrays: Mapping, *, array_format: str = "npy",
                  library: SpectralLibrary | None = None, library_out: str | Path | None = None,
                  cancel: CancelToken = NEVER_CANCEL) -> list[str]:
    """Every result as one staged set (:func:`hsi_studio.core.storage.atomic.staged_files`): each is written to a
    temporary beside its name, and only when all are written (and no signal cancelled the job) are they renamed
    into place; a full disk, an error or a signal leaves the folder as it was. Returns the paths written."""
    import numpy as np

    from hsi_studio.core.io.api import write_rgb
    from hsi_studio.core.storage.atomic import staged_files

    written: list[str] = []
    with staged_files() as staged:
        for name, rgb in images.items():
            final = outdir / f"{name}.png"
            write_rgb(rgb, staged.temp(final))
            written.append(str(final))
            cancel.check()
        if array_format == "h5":
            import h5py

            final = outdir / "analysis.h5"
            with h5py.File(staged.temp(final), "w") as f:
                for name, arr in arrays.items():
                    f.create_dataset(name, data=np.asarray(arr), compression="gzip")
            written.append(str(final))
        else:
            for name, arr in arrays.items():
                final = outdir / f"{name}.npy"
                with open(staged.temp(final), "wb") as fh:
                    np.save(fh, np.asarray(arr), allow_pickle=False)
                written.append(str(final))
                cancel.check()
        if library is not None and library_out is not None:
            lp = Path(library_out)
            if lp.suffix.lower() in (".sli", ".hdr"):
                tmp = staged.temp(lp.with_suffix(".hdr"), (".sli",))
                write_library(library, tmp.with_suffix(".sli"))
                written.append(str(lp.with_suffix(".sli")))
            else:
                write_library(library, staged.temp(lp))
                written.append(str(lp))
        cancel.check()
    return written


__all__ = ["ARRAY_FORMATS", "BUILTIN", "INDEX_KINDS", "LIBRARY_SUFFIXES", "MAX_ITERATIONS", "MAX_K", "SIGMA_MEANING",
           "KMeansResult", "Match", "PCAResult", "SpectralLibrary", "band_image", "best_match_map", "builtin_library",
           "check_k", "check_reference", "class_colours", "colourise", "display_colours", "envi_names", "index_map",
           "kmeans", "label_image", "library_files", "match_spectrum", "output_paths", "parse_band", "pca",
           "precision_recall", "read_library", "sam_map", "sam_maps", "sid_map", "similarity_mask",
           "stretch_limits", "summary", "uncertainty_map", "write_library", "write_results"]
