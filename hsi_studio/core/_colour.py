"""Import colour-science once, cleanly.

colour 0.4.x, when matplotlib is absent (it is not a dependency of HSI Studio), warns and installs
``unittest.mock.MagicMock`` stand-ins for ``matplotlib*`` in ``sys.modules``. Those stand-ins break any later
``importlib.util.find_spec("matplotlib")`` — diffusers and pyqtgraph both probe for it — with
``ValueError: matplotlib.__spec__ is not set``. We import colour quietly and remove the stand-ins. Every
HSI Studio module imports colour through here: ``from hsi_studio.core._colour import colour``.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

# colour imports OpenImageIO at start-up when it is installed (colour-checker-detection depends on it). HSI
# Studio never reads images through colour, and OpenImageIO's bindings print "nanobind: leaked …" at exit:
# hide it from colour (``import OpenImageIO`` then raises ImportError, as when it is absent).
sys.modules.setdefault("OpenImageIO", None)  # type: ignore[arg-type]

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour  # noqa: F401


def _drop_matplotlib_stand_ins() -> None:
    from unittest.mock import MagicMock

    for name in [k for k in sys.modules if k == "matplotlib" or k.startswith("matplotlib.")]:
        if isinstance(sys.modules[name], MagicMock):
            del sys.modules[name]


_drop_matplotlib_stand_ins()

@contextmanager
def quiet():
    """Silence colour-science's informational warnings (shape alignment, interpolation) inside our calls."""
    with warnings.catch_warnings():
        u = colour.utilities
        for category in (u.ColourWarning, u.ColourRuntimeWarning, u.ColourUsageWarning):
            warnings.simplefilter("ignore", category)
        yield


__all__ = ["colour", "quiet"]
