"""View ▸ Show as reflectance: one switch for what the Explore plot, the Compare tab's scores and the Analyse
tab (library matching, similarity maps, classes, indices) read — the cube as reconstructed (relative radiance)
or its reflectance estimate (core's ``to_reflectance``: a reconstruction divided by the light its photo was
taken under) — a view that divides what it reads (:mod:`hsi_studio.services.reflectance_view`), never a second
cube. The choice and the views are the window's :class:`~hsi_studio.services.workspace.Workspace`'s; the plot's y
axis and the Analyse tab say which. :class:`QuantityActions` is mixed into
:class:`~hsi_studio.gui.main_window.MainWindow`."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolButton

from hsi_studio.core.cube import HSCube
from hsi_studio.gui.explore.spectrum_plot import value_label

REFLECTANCE_TIP = ("Plot and analyse the reflectance estimate (the reconstruction divided by the light its photo "
                   "was taken under, D65 for an sRGB photo) instead of the relative radiance: library matching, "
                   "similarity maps and the plotted spectra all use it")


class QuantityActions:
    """The switch (``act_reflectance``, also a button under the spectrum plot) and the cubes the views read."""

    def _build_quantity(self) -> None:
        act = QAction("Show as r&eflectance", self)
        act.setCheckable(True)
        act.setIconText("As reflectance")  # the button's text under the plot
        act.setShortcut(QKeySequence("Ctrl+Shift+R"))
        act.setToolTip(REFLECTANCE_TIP)
        act.setStatusTip(REFLECTANCE_TIP)
        act.setChecked(self.settings.value("view/reflectance", False, bool))
        act.toggled.connect(self._quantity_toggled)
        self.addAction(act)
        self.act_reflectance = act
        self.workspace.as_reflectance = act.isChecked()  # nothing shown yet: no event
        button = QToolButton()
        button.setDefaultAction(act)
        self.spectrum.add_control(button)
        self.reflectance_btn = button

    def quantity(self) -> str:
        """``reflectance`` when the views show the reflectance estimate, else ``radiance`` (the cube as is)."""
        return self.workspace.quantity()

    def view_cubes(self) -> tuple[HSCube | None, HSCube | None]:
        """(cube, std) as the Explore plot and the Analyse tab show them."""
        return self.workspace.view_cubes()

    def view_reference(self, gt: HSCube | None) -> HSCube | None:
        """The ground truth / other cube in the shown quantity (as is when it has no reflectance estimate)."""
        return self.workspace.view_reference(gt)

    def _sync_quantity(self) -> None:
        can = self.workspace.can_show_reflectance()
        self.act_reflectance.setEnabled(can)
        self.reflectance_btn.setToolTip(REFLECTANCE_TIP if can or self.cube is None else
                                        f"The cube holds {value_label(self.cube).lower()}: nothing to switch")

    def _quantity_toggled(self, _on: bool) -> None:
        self.settings.setValue("view/reflectance", self.act_reflectance.isChecked())
        self.workspace.set_reflectance(self.act_reflectance.isChecked())  # the plot and Analyse observe it

    def _quantity_changed(self) -> None:
        """After the plot, Compare and the Analyse tab: the band marker and the status bar."""
        if self.cube is None:
            return
        cube = self.view_cubes()[0]
        self.spectrum.set_band(self.band_view.band)
        self.statusBar().showMessage(f"Showing {value_label(cube).lower()} in the plot and the Analyse tab", 6000)


__all__ = ["QuantityActions", "REFLECTANCE_TIP"]
