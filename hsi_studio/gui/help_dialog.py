"""Help ▸ Documentation and Help ▸ Model card: a Markdown file shown read-only in a (non-modal) window, offline;
where the files are is :mod:`hsi_studio.services.help`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from hsi_studio.services import help as help_files


class MarkdownDialog(QDialog):
    """A read-only Markdown viewer (images and relative links resolved against the file's folder)."""

    def __init__(self, title: str, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("markdown_dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.path = Path(path)
        self.browser = QTextBrowser()
        self.browser.setReadOnly(True)
        self.browser.setOpenLinks(False)  # offline: a link does not navigate away (the path is in the title)
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(self.path.parent) + "/"))
        self.browser.setMarkdown(help_files.read_text(self.path))
        self.browser.setToolTip(str(self.path))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)
        self.resize(760, 560)


def show_markdown(parent: QWidget | None, title: str, path: Path | None) -> MarkdownDialog | None:
    """Show ``path`` read-only in its own window; None when there is no file to show."""
    if path is None:
        return None
    dialog = MarkdownDialog(title, path, parent)
    dialog.setWindowFlag(Qt.WindowType.Window, True)
    dialog.show()
    return dialog


class HelpActions:
    """Help ▸ Documentation and Help ▸ Model card, for :class:`~.main_window.MainWindow` (its dock, status bar)."""

    def show_documentation(self) -> MarkdownDialog | None:
        dialog = show_markdown(self, "HSI Studio — documentation", help_files.documentation_path())
        if dialog is None:
            self.statusBar().showMessage("This installation has no docs folder (docs/gui.md)", 8000)
        return dialog

    def show_model_card(self) -> MarkdownDialog | None:
        """The MODEL_CARD.md of the model chosen in the Reconstruct dock; a baseline has none (said in the
        status bar)."""
        name = self.dock.model.currentText()
        dialog = show_markdown(self, f"Model card — {name}", help_files.model_card_path(self.dock.model.currentData()))
        if dialog is None:
            self.statusBar().showMessage(f"{name}: no model card (a training-free baseline, or a bundle without "
                                         "MODEL_CARD.md)", 8000)
        return dialog


__all__ = ["HelpActions", "MarkdownDialog", "show_markdown"]
