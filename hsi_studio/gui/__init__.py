"""The desktop app (PySide6 + pyqtgraph). Imports core, never the reverse; holds no numerics (docs/architecture.md).

Entry point: :func:`hsi_studio.gui.app.main`. Nothing heavy is imported here.
"""

#: the names Qt files settings and data under (QSettings, QStandardPaths)
ORGANIZATION = "HSI Studio"
APPLICATION = "HSI Studio"
