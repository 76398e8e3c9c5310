"""Real camera photos before reconstruction (no Qt, no torch): white balance and ColorChecker calibration
(:mod:`.correction`), finding the chart (:mod:`.chart_detect`, with its candidate search in
:mod:`.chart_candidates` and the patch-grid geometry in :mod:`.chart_grid`) and its report (:mod:`.chart_report`).
RAW files and colour profiles are read by :mod:`hsi_studio.core.io.raw` and :mod:`hsi_studio.core.io.profiles`."""
