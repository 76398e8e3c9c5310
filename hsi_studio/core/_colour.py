"""Import colour-science once, without its optional-plotting warning (matplotlib is not a dependency)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour  # noqa: F401

__all__ = ["colour"]
