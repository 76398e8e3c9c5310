"""``python -m hsi_studio`` — the same entry point as the ``hsi-studio`` console script."""

import sys

from hsi_studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
