"""The Analyse tab's exports (the similarity map and its mask, the k-means classes and their means): built
by :class:`ExportsMixin`, which :class:`~.analysis_panel.AnalysisPanel` inherits. Each writes ``<base>.png`` (what
is shown) beside ``<base>.npy`` (the values), atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from hsi_studio.core.errors import InputError
from hsi_studio.services import analysis


class ExportsMixin:
    """Writes the panel's results (``score``, ``classes``, ``cube``); failures go to its ``failed`` signal."""

    def export_similarity(self, path: str | Path | None = None) -> list[Path]:
        """Write ``<base>.png`` (the map as shown), ``<base>.npy`` (the map) and ``<base>_mask.png/.npy``."""
        if self.score is None:
            return []
        path = path or self._ask_base("Export the similarity map", f"{self.score_kind}_map.png")
        if not path:
            return []
        mask = self.current_mask()
        hi = max(self.threshold_value() * 3, 1e-3)
        rgb = analysis.colourise(self.score, 0.0, hi, reverse=True)
        return self._write_outputs(path, {"": (rgb, self.score), "_mask": (_grey(mask), mask)})

    def export_classes(self, path: str | Path | None = None) -> list[Path]:
        """``<base>.png`` (class colours), ``<base>.npy`` (int32 labels) and ``<base>_classes.sli`` (means)."""
        if self.classes is None or self.cube is None:
            return []
        path = path or self._ask_base("Export the classes", "classes.png")
        if not path:
            return []
        k = len(self.classes.counts)
        written = self._write_outputs(path, {"": (analysis.label_image(self.classes.labels, k), self.classes.labels)})
        if written:
            lib = analysis.SpectralLibrary([f"class {i}" for i in range(k)], self.cube.wavelengths,
                                          self.classes.centers, "k-means class means (HSI Studio)")
            base = Path(path).with_suffix("")
            written.append(analysis.write_library(lib, base.with_name(base.name + "_classes.sli")))
        return written

    def _ask_base(self, title: str, default: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, default, "PNG image (*.png)")
        return path

    def _write_outputs(self, path: str | Path, items: dict) -> list[Path]:
        from hsi_studio.services.cubes import write_rgb
        from hsi_studio.services.outputs import atomic_write

        base = Path(path).with_suffix("")
        written = []
        try:
            for suffix, (rgb, array) in items.items():
                stem = base.with_name(base.name + suffix)
                written.append(write_rgb(rgb, stem.with_suffix(".png")))
                with atomic_write(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as fh:
                    np.save(fh, np.asarray(array), allow_pickle=False)
                written.append(stem.with_suffix(".npy"))
        except (InputError, OSError) as exc:
            self.failed.emit("Export failed", str(exc))
            return []
        self.status.emit("Wrote " + ", ".join(p.name for p in written))
        return written


def _grey(mask: np.ndarray) -> np.ndarray:
    return np.repeat(mask[..., None].astype(np.float32), 3, axis=2)


__all__ = ["ExportsMixin"]
