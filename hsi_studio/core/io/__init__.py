"""Reading and writing cubes and images (no Qt, no torch).

:mod:`.api` is the entry point (``read_any``, ``read_cube``, ``read_rgb``, ``write_cube``, ``write_rgb``), and
dispatches through :mod:`.registry`, where every format below is registered once, in this order (the first
writable cube format is what a Save dialog offers first). One module per format: :mod:`.h5`, :mod:`.envi`,
:mod:`.mat`, :mod:`.npz`, :mod:`.npy`, :mod:`.tiff`, :mod:`.png_stack` (CAVE-style folders of PNG bands) for
cubes, :mod:`.rgb` (Pillow's PNG, JPEG, TIFF, BMP, WebP) and :mod:`.raw` (camera RAW) for photos.
:mod:`.stream` writes streamed reconstructions row band by row band, :mod:`.profiles` converts colour
profiles, :mod:`.base` holds what the readers and writers share.
"""

from hsi_studio.core.io import envi, h5, mat, npy, npz, png_stack, raw, registry, rgb, tiff

for _fmt in (h5.FORMAT, envi.FORMAT, mat.FORMAT, npz.FORMAT, npy.FORMAT, tiff.FORMAT, png_stack.FORMAT,
             *rgb.FORMATS, raw.FORMAT):
    registry.register(_fmt)
del _fmt
