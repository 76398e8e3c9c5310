"""View ▸ Show as reflectance without a second cube (issue 24, item 5): the reflectance estimate of a
reconstruction is its radiance divided per band by the light it records (core's ``to_reflectance``), so the
views read it through :class:`QuotientArray` — ``cube.data / divisor`` computed for what is indexed (a pixel's
spectrum, an ROI's pixels, a band) — instead of holding an H×W×B float32 copy beside the radiance (1.5 GB for a
12 MP photo). Anything that needs every value (a similarity map, the Compare scores) gets them computed on
demand, chunk by chunk, and drops them afterwards. Values are bit-identical to ``to_reflectance``'s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hsi_studio.core.cube import HSCube

_CHUNK_PIXELS = 1 << 15  # pixels per chunk when every value is computed (4 MB of 31-band float32)


class QuotientArray(np.lib.mixins.NDArrayOperatorsMixin):
    """``base / divisor`` (``divisor`` along the last axis) as a read-only array: indexing divides only the
    selected values; ``np.asarray`` (or any other numpy use) computes the whole quotient, row chunk by chunk."""

    def __init__(self, base: np.ndarray, divisor: np.ndarray) -> None:
        self.base = base
        self.divisor = np.asarray(divisor, dtype=np.float32)
        self.shape = tuple(base.shape)
        self.ndim = base.ndim
        self.dtype = np.dtype(np.float32)
        self.size = int(base.size)
        self.nbytes = self.size * 4

    @property
    def _rows(self) -> int:
        return max(1, _CHUNK_PIXELS // max(1, int(np.prod(self.shape[1:-1], dtype=np.int64))))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        return self.base[key] / np.broadcast_to(self.divisor, self.shape)[key]

    def materialise(self) -> np.ndarray:
        out = np.empty(self.shape, np.float32)
        for top in range(0, self.shape[0], self._rows):
            np.divide(self.base[top : top + self._rows], self.divisor, out=out[top : top + self._rows])
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.materialise()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [np.asarray(x) if isinstance(x, QuotientArray) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    def _reduce_rows(self, fn, axis):
        """A reduction over the bands (``axis`` 2 / -1) row chunk by row chunk; None for any other axis."""
        if self.ndim == 3 and axis in (2, -1):
            return np.concatenate([fn(self[top : top + self._rows], axis=2)
                                   for top in range(0, self.shape[0], self._rows)])
        return None

    def mean(self, axis=None, **kwargs):
        out = self._reduce_rows(lambda a, axis: a.mean(axis=axis, **kwargs), axis)
        return out if out is not None else np.asarray(self).mean(axis=axis, **kwargs)

    def max(self, axis=None, **kwargs):
        if axis is None and not kwargs:
            return np.float32(max(float(self[top : top + self._rows].max())
                                  for top in range(0, self.shape[0], self._rows)))
        return np.asarray(self).max(axis=axis, **kwargs)

    def min(self, axis=None, **kwargs):
        if axis is None and not kwargs:
            return np.float32(min(float(self[top : top + self._rows].min())
                                  for top in range(0, self.shape[0], self._rows)))
        return np.asarray(self).min(axis=axis, **kwargs)

    def __getattr__(self, name):  # reshape, astype, copy, …: on the computed quotient
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)


@dataclass(eq=False)
class ReflectanceView(HSCube):
    """An :class:`HSCube` whose ``data`` is a :class:`QuotientArray` over a validated radiance cube (so it is not
    validated again: that would read every value)."""

    def __post_init__(self) -> None:
        self.metadata = dict(self.metadata)


def divisor_for(meta: dict, kind: str, wavelengths) -> tuple[np.ndarray | None, dict, str | None]:
    """(float32 per-band divisor or None for a reflectance cube, the reflectance cube's metadata, the light) of
    core's ``to_reflectance`` for a cube of ``meta``/``kind`` (raises its InputError when it records no light)."""
    from hsi_studio.core.spectral import relight

    stub = HSCube(np.zeros((1, 1, len(wavelengths)), np.float32), wavelengths, meta, kind)
    if kind == "reflectance":
        return None, dict(meta), None
    refl, _ = relight.to_reflectance(stub)
    light = relight.recorded_capture_illuminant(stub)
    return relight.reflectance_divisor(stub, light).astype(np.float32), dict(refl.metadata), light


def reflectance_view(cube: HSCube, std: HSCube | None = None) -> tuple[HSCube, HSCube | None]:
    """``to_reflectance(cube, std)`` as views (a reflectance cube as is; the same InputError when the cube
    records no light)."""
    divisor, meta, light = divisor_for(cube.metadata, cube.kind, cube.wavelengths)
    if divisor is None:
        return cube, std
    view = ReflectanceView(QuotientArray(cube.data, divisor), cube.wavelengths, meta, "reflectance")
    if std is not None:
        std = ReflectanceView(QuotientArray(std.data, divisor), std.wavelengths,
                              {**std.metadata, "reflectance_from": light}, "reflectance")
    return view, std


__all__ = ["QuotientArray", "ReflectanceView", "divisor_for", "reflectance_view"]
