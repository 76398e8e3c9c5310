"""Import colour-science once, cleanly.

colour 0.4.x imports matplotlib at start-up when it is installed (HSI Studio installs it only to draw the chart
report's figure), and otherwise warns and installs ``unittest.mock.MagicMock`` stand-ins for ``matplotlib*``,
``cycler`` and ``mpl_toolkits*`` in ``sys.modules``. Those stand-ins break any later
``importlib.util.find_spec("matplotlib")`` — diffusers and pyqtgraph both probe for it — with
``ValueError: matplotlib.__spec__ is not set``. We hide matplotlib (and OpenImageIO) while colour imports, so no
process pays for them at start-up, then remove the stand-ins: the real packages import normally afterwards.
Every HSI Studio module imports colour through here: ``from hsi_studio.core.spectral._colour import colour``.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

# colour imports OpenImageIO at start-up when it is installed (colour-checker-detection depends on it). HSI
# Studio never reads images through colour, and OpenImageIO's bindings print "nanobind: leaked …" at exit:
# hide it from colour (``import OpenImageIO`` then raises ImportError, as when it is absent).
sys.modules.setdefault("OpenImageIO", None)  # type: ignore[arg-type]
# Likewise matplotlib (installed for the chart report's figure): colour would import it at start-up (≈ 0.2–0.5 s,
# in every process, the Qt app included). Hidden while colour imports, then importable again by those who need it.
_HIDE_MPL = "matplotlib" not in sys.modules
if _HIDE_MPL:
    sys.modules["matplotlib"] = None  # type: ignore[assignment]

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import colour
    finally:
        if _HIDE_MPL and sys.modules.get("matplotlib", 0) is None:
            del sys.modules["matplotlib"]


def _drop_matplotlib_stand_ins() -> None:
    from unittest.mock import MagicMock

    stubbed = ("matplotlib", "cycler", "mpl_toolkits")  # what colour.plotting stubs when matplotlib is "absent"
    for name in [k for k in sys.modules if k in stubbed or k.startswith(tuple(f"{s}." for s in stubbed))]:
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
