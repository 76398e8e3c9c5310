"""The Relight tab: the panel (:mod:`.relight_panel`) and its reference / relit / ΔE views (:mod:`.relight_views`)."""
