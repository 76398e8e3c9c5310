"""Qt-free core of HSI Studio. Nothing below this package imports PySide6 or pyqtgraph.

The viewing/relighting modules (cube, io, spectral, metrics, relight, recovery) do not import torch either.
"""
