"""``physics:otsu2018`` — reflectance from tristimulus values through clustered PCA bases.

CIE xy picks one of 8 clusters through colour-science's selector tree, then a 3-basis + mean reconstruction
with colour's published dataset, clipped to [0, 1]. The per-cluster affine maps are computed once with colour's
own ``sd_to_XYZ``, exactly as ``colour.recovery.XYZ_to_sd_Otsu2018`` does per pixel, and sampled on the standard
grid (the dataset is on 380–730 nm / 10 nm: a selection, no smoothing). Returns reflectance under D65.

Reference: H. Otsu, M. Yamamoto and T. Hachisuka, "Reproducing Spectral Reflectances From Tristimulus Colours",
Computer Graphics Forum 37(6), 370–381 (2018). DOI: 10.1111/cgf.13332.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from hsi_studio.core.spectral.methods import TRAINING_FREE, Method
from hsi_studio.core.spectral.recovery._common import colour, quiet, rgb_to_xyz, sample
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS

#: this method, registered by the package (in the order of its ``MODULES``)
METHOD = Method("physics:otsu2018", "Otsu 2018", TRAINING_FREE,
                "hsi_studio.core.spectral.recovery.otsu2018:spectra", baseline=True,
                quantity="reflectance", colour_name="Otsu 2018")


class OtsuTables:
    """Per-cluster affine maps ``spectrum = clip(xyz @ A[k] + b[k], 0, 1)`` on the standard grid and the
    selector tree, computed once from colour's dataset with colour's ``sd_to_XYZ``."""

    def __init__(self) -> None:
        col = colour()
        from colour.colorimetry import handle_spectral_arguments
        from colour.recovery import (
            BASIS_FUNCTIONS_OTSU2018,
            CLUSTER_MEANS_OTSU2018,
            SELECTOR_ARRAY_OTSU2018,
            SPECTRAL_SHAPE_OTSU2018,
        )

        shape = SPECTRAL_SHAPE_OTSU2018
        wl = shape.wavelengths
        cmfs, illuminant = handle_spectral_arguments(None, None, shape_default=shape)
        basis = np.asarray(BASIS_FUNCTIONS_OTSU2018, dtype=np.float64)  # (K, 3, L)
        means = np.asarray(CLUSTER_MEANS_OTSU2018, dtype=np.float64)  # (K, L)

        def to_xyz(values: np.ndarray) -> np.ndarray:
            with col.utilities.domain_range_scale("ignore"):
                return col.sd_to_XYZ(col.SpectralDistribution(values, wl), cmfs, illuminant) / 100

        a_list, b_list = [], []
        for k in range(basis.shape[0]):
            m = np.stack([to_xyz(basis[k, i]) for i in range(3)], axis=1)  # columns: XYZ of each basis
            m_inv = np.linalg.inv(m)
            xyz_mu = to_xyz(means[k])
            a = m_inv.T @ basis[k]  # (3, L)
            b = means[k] - xyz_mu @ m_inv.T @ basis[k]
            a_list.append(sample(a.T, wl).T)
            b_list.append(sample(b, wl))
        self.A = np.stack(a_list)  # (K, 3, 31)
        self.b = np.stack(b_list)  # (K, 31)
        self.selector = np.asarray(SELECTOR_ARRAY_OTSU2018, dtype=np.float64)

    def select(self, xy: np.ndarray) -> np.ndarray:
        """Cluster index per row of ``xy`` (N, 2): colour's ``Dataset_Otsu2018.select`` tree walk, vectorised."""
        n = xy.shape[0]
        cluster = np.empty(n, dtype=np.intp)
        node = np.zeros(n, dtype=np.intp)
        active = np.arange(n)
        for _ in range(self.selector.shape[0] + 1):
            if active.size == 0:
                return cluster
            origin, direction, lesser, greater = self.selector[node[active]].T
            go_lesser = xy[active, direction.astype(np.intp)] <= origin
            nxt = np.where(go_lesser, lesser, greater).astype(np.intp)
            leaf = nxt >= 0
            cluster[active[leaf]] = nxt[leaf]
            node[active[~leaf]] = -nxt[~leaf]
            active = active[~leaf]
        raise RuntimeError("Otsu 2018 selector tree did not terminate")  # a malformed dataset

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 for black: colour returns xy = (0, 0)
            xy = np.asarray(colour().XYZ_to_xy(xyz), dtype=np.float64)
        cluster = self.select(xy)
        out = np.empty((xyz.shape[0], STANDARD_WAVELENGTHS.size), dtype=np.float64)
        for k in np.unique(cluster):
            rows = np.flatnonzero(cluster == k)
            out[rows] = xyz[rows] @ self.A[k] + self.b[k]
        return np.clip(out, 0.0, 1.0, out=out)


@lru_cache(maxsize=1)
def otsu_tables() -> OtsuTables:
    with quiet():
        return OtsuTables()


def spectra(rgb: np.ndarray, split=None) -> np.ndarray:
    """(N, 3) linear sRGB (float32) → (N, 31) float32 reflectance (``split`` is not used)."""
    return otsu_tables()(rgb.astype(np.float64) @ rgb_to_xyz()).astype(np.float32)


def xyz_spectra(xyz: np.ndarray) -> np.ndarray:
    """(N, 3) CIE XYZ (scale 1, D65), float64 → (N, 31), as ``colour.XYZ_to_sd(xyz, method="Otsu 2018")``."""
    return otsu_tables()(xyz)


__all__ = ["METHOD", "OtsuTables", "otsu_tables", "spectra", "xyz_spectra"]
