"""Qt-free core of HSI Studio, grouped by domain (docs/design.md §3.2). Nothing below this package imports
PySide6, pyqtgraph, the services, the GUI or the CLI.

- plain types on top: :mod:`.cube` (HSCube, RGBImage), :mod:`.errors`, :mod:`.jobs` (progress, cancel), and
  :mod:`.settings` (the one reader of environment variables and the user's settings file);
- :mod:`.io` — file formats, each registered once; :mod:`.photo` — white balance and the ColorChecker;
  :mod:`.spectral` — grids, camera responses, illuminants, relighting, the methods registry, training-free
  recovery; :mod:`.analysis` — metrics, maps, libraries, σ scores; :mod:`.storage` — atomic writes, manifests,
  provenance;
- :mod:`.ml` — everything learned, and the only package that imports torch (``torch-only-in-core-ml``).

The import rules are contracts in ``.importlinter`` (``lint-imports``; tests/contracts/test_architecture.py checks
them at run time too).
"""
