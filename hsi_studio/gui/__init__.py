"""The desktop app (PySide6 + pyqtgraph). Imports core, never the reverse; holds no numerics (DESIGN §3).

Entry point: :func:`hsi_studio.gui.app.main`. Nothing heavy is imported here.
"""
