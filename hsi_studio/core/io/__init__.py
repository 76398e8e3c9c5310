"""Reading and writing cubes and images (no Qt, no torch): :mod:`.api` is the entry point (``read_any``,
``read_cube``, ``write_cube``…), :mod:`.formats` and :mod:`.envi` the per-format readers and writers,
:mod:`.stream` the row-band writers of streamed reconstructions, :mod:`.base` what they share."""
