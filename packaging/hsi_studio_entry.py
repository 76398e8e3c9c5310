"""Entry point of the frozen HSI Studio (PyInstaller). Same behaviour as the ``hsi-studio`` console script.

Order matters:
1. ``multiprocessing.freeze_support()`` first, so a child process spawned by torch / accelerate / a
   DataLoader in the frozen executable runs its task instead of starting a second app;
2. torch is imported before anything imports Qt: on Windows, loading Qt's DLLs first makes torch's
   ``c10.dll`` / ``torch_cpu.dll`` fail to initialise (WinError 1114). Doing it on every platform keeps the
   frozen app's behaviour the same everywhere (it costs about a second at start-up).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    import torch  # noqa: F401 — imported before Qt on purpose (see above)

    from hsi_studio.cli import main

    sys.exit(main())
