"""Compatibility only: the old extension → label table, now derived from :mod:`.registry` (use
:func:`hsi_studio.core.io.registry.label_for`, or :func:`hsi_studio.services.files.format_label`). The readers
and writers are one module per format (:mod:`.h5`, :mod:`.envi`, :mod:`.mat`, :mod:`.npz`, :mod:`.npy`,
:mod:`.tiff`, :mod:`.png_stack`). Delete this module once nothing imports it."""

from __future__ import annotations

from hsi_studio.core.io import registry

FORMAT_NAMES = {e: f.label for f in registry.formats("cube") for e in f.extensions}

__all__ = ["FORMAT_NAMES"]
