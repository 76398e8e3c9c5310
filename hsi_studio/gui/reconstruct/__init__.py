"""Reconstructing: the Reconstruct dock (:mod:`.reconstruct_dock`, the large-photo offer in :mod:`.large_photo`),
preparing the photo (white balance, chart; :mod:`.photo_tools`, drawn by :mod:`.photo_overlay`) and the chart
report (:mod:`.chart_report_view`)."""
