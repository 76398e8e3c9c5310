"""Cubes written row band by row band, top to bottom, as they are reconstructed (issue 24, item 5): a 12 MP
reconstruction never holds its H×W×31 float32 cube in memory. Each writer produces the same file the in-memory
writer of its format (:func:`hsi_studio.core.io.api.write_cube`) produces for the same cube: HDF5 (the same chunked,
shuffled, gzip-1 dataset and attributes), ENVI (the same BIP float32 data with the pair token, the same header),
``.npy`` (the same header) and MATLAB ``.mat`` (v5 below 2 GiB — its cube element written here, the small
variables by scipy — else v7.3 through h5py, as :func:`~hsi_studio.core.io.mat.write_mat` chooses); and a
raw float32 file opened as an ``np.memmap`` (the GUI's result of a large photo).

A writer writes to the path it is given — a temporary name the caller commits
(:func:`hsi_studio.core.storage.atomic.staged_files`) or discards — and holds at most one HDF5 chunk row
(128 × W × B float32) besides what the caller hands it. ``write_rows(top, rows)`` rows come in order; a run that
starts again (a GPU out-of-memory retry with smaller tiles) starts again at ``top=0`` and overwrites.
"""

from __future__ import annotations

import os
import secrets
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.errors import UnsupportedFormatError
from hsi_studio.core.io import mat as io_mat
from hsi_studio.core.io.base import meta_json
from hsi_studio.core.io.envi import ENVI_PAIR_OFFSET, ENVI_PAIR_PREFIX
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.core.storage.atomic import temp_name

H5_CHUNK = 128  # rows (and columns) of an HDF5 chunk, as write_hdf5 stores them
STREAM_EXTENSIONS = (".h5", ".hdf5", ".hdr", ".img", ".npy", ".mat")


class StreamedCube:
    """Base: ``height`` × ``width`` × ``len(wavelengths)`` float32 rows written to ``path``."""

    def __init__(self, path: str | os.PathLike[str], height: int, width: int, wavelengths) -> None:
        self.path = Path(path)
        self.height, self.width = int(height), int(width)
        self.wavelengths = np.asarray(wavelengths, dtype=np.float64)
        self.bands = int(self.wavelengths.size)
        self.rows_written = 0

    def _check(self, top: int, rows: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(rows, dtype="<f4")
        if rows.ndim != 3 or rows.shape[1:] != (self.width, self.bands) or top < 0 \
                or top + rows.shape[0] > self.height:
            raise ValueError(f"rows {top}+{rows.shape} do not fit a {self.height}×{self.width}×{self.bands} cube")
        if top > self.rows_written:
            raise ValueError(f"rows from {top} given before rows {self.rows_written}–{top}")
        self.rows_written = top + rows.shape[0]
        return rows

    def write_rows(self, top: int, rows: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        """Complete the file (headers, attributes) once every row is written; returns the path."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file without completing it (the caller removes the temporary)."""


class _RawRows(StreamedCube):
    """Rows written at ``offset + top × W × B × 4`` of a plain file (row-major H×W×B little-endian float32)."""

    offset = 0

    def __init__(self, path, height, width, wavelengths) -> None:
        super().__init__(path, height, width, wavelengths)
        self._f = open(self.path, "wb")  # closed by finish/close
        self._head = self._prefix()
        self._f.write(self._head)

    def _prefix(self) -> bytes:
        return b""

    def write_rows(self, top: int, rows: np.ndarray) -> None:
        rows = self._check(top, rows)
        self._f.seek(len(self._head) + top * self.width * self.bands * 4)
        self._f.write(memoryview(rows).cast("B"))

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


class EnviRows(_RawRows):
    """ENVI: ``path`` is the ``.hdr`` (its ``.img`` beside it) — the layout :func:`~.io_envi.write_envi` writes."""

    def __init__(self, path, height, width, wavelengths) -> None:
        path = Path(path)
        self.hdr = path.with_suffix(".hdr")
        self.token = secrets.token_hex(16)
        self._pfx = (ENVI_PAIR_PREFIX + self.token.encode("ascii")).ljust(ENVI_PAIR_OFFSET - 1, b" ") + b"\n"
        super().__init__(path.with_suffix(".img"), height, width, wavelengths)

    def _prefix(self) -> bytes:
        return self._pfx

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        from spectral.io import envi

        self._f.close()
        md = {"description": "HSI Studio cube", "samples": self.width, "lines": self.height, "bands": self.bands,
              "header offset": ENVI_PAIR_OFFSET, "file type": "ENVI Standard", "data type": 4, "interleave": "bip",
              "byte order": 0, "wavelength": [float(x) for x in self.wavelengths], "wavelength units": "nm",
              "hsi studio kind": kind, "hsi studio pair": self.token}
        envi.write_envi_header(str(self.hdr), md)
        return self.hdr


class NpyRows(_RawRows):
    """``.npy`` with the header ``np.save`` writes for a C-ordered float32 array."""

    def _prefix(self) -> bytes:
        import io

        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                                                  "fortran_order": False,
                                                  "shape": (self.height, self.width, self.bands)})
        return buf.getvalue()

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        if not (self.bands == STANDARD_WAVELENGTHS.size and np.allclose(self.wavelengths, STANDARD_WAVELENGTHS)):
            warnings.warn(f"{self.path.name}: .npy stores no wavelengths; this {self.bands}-band cube needs them "
                          "passed as wavelengths=… when read back (use .npz, .h5 or .hdr to keep them)",
                          UserWarning, stacklevel=2)
        self._f.close()
        return self.path


class RawRows(_RawRows):
    """A plain float32 file; :meth:`open` maps it (``np.memmap``, copy-on-write: the file is never changed)."""

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        self._f.close()
        return self.path

    def open(self) -> np.ndarray:
        return np.memmap(self.path, dtype="<f4", mode="c", shape=(self.height, self.width, self.bands))


class H5Rows(StreamedCube):
    """HDF5: the dataset :func:`~hsi_studio.core.io.h5.write_hdf5` makes, filled one 128-row chunk row at a time."""

    def __init__(self, path, height, width, wavelengths) -> None:
        import h5py

        super().__init__(path, height, width, wavelengths)
        h, w, b = self.height, self.width, self.bands
        self._file = h5py.File(self.path, "w")
        self._ds = self._file.create_dataset("cube", shape=(h, w, b), dtype="<f4",
                                             chunks=(min(h, H5_CHUNK), min(w, H5_CHUNK), b), shuffle=True,
                                             compression="gzip", compression_opts=1)
        self._rows = min(h, H5_CHUNK)
        self._buf = np.empty((self._rows, w, b), np.float32)
        self._top, self._fill = 0, 0  # the buffer holds rows _top … _top + _fill

    def write_rows(self, top: int, rows: np.ndarray) -> None:
        rows = self._check(top, rows)
        if top < self._top + self._fill:  # a run that starts again
            self._top, self._fill = top - top % self._rows, 0
        i = 0
        while i < rows.shape[0]:
            n = min(self._rows - self._fill, rows.shape[0] - i)
            self._buf[self._fill : self._fill + n] = rows[i : i + n]
            self._fill += n
            i += n
            if self._fill == self._rows or self._top + self._fill == self.height:
                self._flush()

    def _flush(self) -> None:
        if self._fill:
            self._ds[self._top : self._top + self._fill] = self._buf[: self._fill]
        self._top += self._fill
        self._fill = 0

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        self._flush()
        ds = self._ds
        ds.attrs["wavelengths"] = self.wavelengths
        ds.attrs["wavelength_units"] = "nm"
        ds.attrs["kind"] = kind
        ds.attrs["layout"] = "HWB"
        ds.attrs["metadata_json"] = meta_json(metadata)
        self._file.attrs["creator"] = "HSI Studio"
        self._file.close()
        return self.path

    def close(self) -> None:
        try:
            self._file.close()
        except Exception:  # already closed
            pass


class MatRows(StreamedCube):
    """MATLAB ``.mat``: MATLAB stores an array column-major (each band's H×W image transposed), so the rows go to
    a band-sequential temporary beside ``path`` first; :meth:`finish` writes the file band by band from it."""

    def __init__(self, path, height, width, wavelengths) -> None:
        super().__init__(path, height, width, wavelengths)
        self._bsq_path = temp_name(self.path, ".bsq")
        self._bsq = open(self._bsq_path, "w+b")  # closed by finish/close
        self._band_bytes = self.height * self.width * 4

    def write_rows(self, top: int, rows: np.ndarray) -> None:
        rows = self._check(top, rows)
        for b in range(self.bands):
            self._bsq.seek(b * self._band_bytes + top * self.width * 4)
            self._bsq.write(memoryview(np.ascontiguousarray(rows[:, :, b])).cast("B"))

    def _band(self, b: int) -> np.ndarray:
        self._bsq.seek(b * self._band_bytes)
        data = np.frombuffer(self._bsq.read(self._band_bytes), dtype="<f4")
        return data.reshape(self.height, self.width)

    def finish(self, kind: str, metadata: dict[str, Any]) -> Path:
        self._bsq.flush()
        if self._band_bytes * self.bands > io_mat.MAT_V5_MAX_BYTES:
            self._finish_v73(kind, metadata)
        else:
            self._finish_v5(kind, metadata)
        self.close()
        return self.path

    def _finish_v5(self, kind: str, metadata: dict[str, Any]) -> None:
        import io

        import scipy.io

        small = io.BytesIO()  # the header and the small variables exactly as write_mat's scipy call writes them
        scipy.io.savemat(small, {"wavelengths": self.wavelengths[None, :], "kind": kind,
                                 "metadata_json": meta_json(metadata)},
                         format="5", do_compression=False, oned_as="row")
        head = small.getvalue()
        nbytes = self._band_bytes * self.bands
        pad = -nbytes % 8
        dims = struct.pack("<3i", self.height, self.width, self.bands) + b"\0" * 4
        body = (struct.pack("<2I", 6, 8) + struct.pack("<2I", 7, 0)  # array flags: mxSINGLE_CLASS
                + struct.pack("<2I", 5, 12) + dims  # dimensions
                + struct.pack("<HH", 1, 4) + b"cube"  # name, a small data element
                + struct.pack("<2I", 7, nbytes))  # miSINGLE, the data follows
        with open(self.path, "wb") as f:
            f.write(head[:128])
            f.write(struct.pack("<2I", 14, len(body) + nbytes + pad))
            f.write(body)
            for b in range(self.bands):  # column-major: band by band, each H×W image transposed
                f.write(memoryview(np.ascontiguousarray(self._band(b).T)).cast("B"))
            f.write(b"\0" * pad)
            f.write(head[128:])

    def _finish_v73(self, kind: str, metadata: dict[str, Any]) -> None:
        import h5py

        with h5py.File(self.path, "w", userblock_size=512, libver="earliest") as f:
            ds = f.create_dataset("cube", shape=(self.bands, self.width, self.height), dtype="<f4")
            for b in range(self.bands):
                ds[b] = self._band(b).T
            ds.attrs["MATLAB_class"] = np.bytes_("single")
            wl = f.create_dataset("wavelengths", data=self.wavelengths[None, :].T)
            wl.attrs["MATLAB_class"] = np.bytes_("double")
            for name, text in (("kind", kind), ("metadata_json", meta_json(metadata))):
                codes = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")[:, None] if text else np.zeros((0, 1))
                cd = f.create_dataset(name, data=codes.astype(np.uint16))
                cd.attrs["MATLAB_class"] = np.bytes_("char")
                cd.attrs["MATLAB_int_decode"] = np.int32(2)
        with open(self.path, "r+b") as raw:
            raw.write(io_mat._mat73_header())

    def close(self) -> None:
        if not self._bsq.closed:
            self._bsq.close()
        try:
            os.unlink(self._bsq_path)
        except FileNotFoundError:
            pass


def open_rows(path: str | os.PathLike[str], height: int, width: int, wavelengths) -> StreamedCube:
    """The streamed writer of ``path``'s format (by extension: ``.h5``/``.hdf5``, ``.hdr``/``.img``, ``.npy``,
    ``.mat``; ``.raw``: a plain float32 file for :meth:`RawRows.open`)."""
    ext = Path(path).suffix.lower()
    cls = {".h5": H5Rows, ".hdf5": H5Rows, ".hdr": EnviRows, ".img": EnviRows, ".npy": NpyRows, ".mat": MatRows,
           ".raw": RawRows}.get(ext)
    if cls is None:
        raise UnsupportedFormatError(f"cannot stream a cube as '{ext}'; expected one of "
                                     f"{' '.join(STREAM_EXTENSIONS)}", path=str(path))
    return cls(path, height, width, wavelengths)


__all__ = ["H5_CHUNK", "STREAM_EXTENSIONS", "EnviRows", "H5Rows", "MatRows", "NpyRows", "RawRows", "StreamedCube",
           "open_rows"]
