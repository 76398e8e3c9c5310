"""What the wizard's pages share: their page ids, the page base class (the wizard's job set and settings) and
two layout helpers."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QWizardPage,
)

from hsi_studio.gui.workers import JobSet

PAGE_DATA, PAGE_CAMERA, PAGE_BASE, PAGE_SETTINGS, PAGE_RUN, PAGE_FINISH = range(6)


class Page(QWizardPage):
    @property
    def jobs(self) -> JobSet:
        return self.wizard().jobs

    @property
    def settings(self) -> QSettings | None:
        return self.wizard().settings


def table(headers: list[str], stretch: tuple[int, ...]) -> QTableWidget:
    """A read-only table with these column headers; the ``stretch`` columns take the spare width."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    for column in stretch:
        table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table


def folder_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


__all__ = ["PAGE_BASE", "PAGE_CAMERA", "PAGE_DATA", "PAGE_FINISH", "PAGE_RUN", "PAGE_SETTINGS", "Page", "folder_row",
           "table"]
