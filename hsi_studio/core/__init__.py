"""Qt-free core of HSI Studio. Nothing below this package imports PySide6 or pyqtgraph.

The modules of the viewing path (reading, showing, relighting, analysing, analytic recovery) do not import torch
either; their list is the ``viewing-path-no-torch`` contract in ``.importlinter`` (tests/contracts/test_architecture.py
reads it from there).
"""
