"""Real camera photos before reconstruction (no Qt, no torch): RAW files (:mod:`.raw`), colour profiles
(:mod:`.profiles`), white balance and ColorChecker calibration (:mod:`.correction`), finding the chart
(:mod:`.chart_detect`) and its report (:mod:`.chart_report`)."""
