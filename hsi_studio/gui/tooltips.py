"""Long tooltips wrap. Qt shows a plain-text tooltip on one line, so a 250-character explanation ran across
most of a 1280 px screen; an application-wide event filter shows such a tooltip as rich text, which Qt wraps."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

#: plain tooltips longer than this (on any line) are shown wrapped
WRAP_CHARS = 90


def wrapped(text: str) -> str:
    """``text`` as rich text Qt word-wraps (its line breaks kept); rich text and short text unchanged."""
    if not text or text.lstrip().startswith("<") or max(map(len, text.split("\n"))) <= WRAP_CHARS:
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


class _Wrapper(QObject):
    def eventFilter(self, obj, event) -> bool:  # (Qt's name)
        if event.type() == QEvent.Type.ToolTip and isinstance(obj, QWidget):
            text = obj.toolTip()
            rich = wrapped(text)
            if rich != text:
                QToolTip.showText(event.globalPos(), rich, obj)
                return True
        return False


def install(app: QApplication | None = None) -> None:
    """Wrap every long plain tooltip in the application (once)."""
    app = app or QApplication.instance()
    if app is not None and not getattr(app, "_hsi_tooltip_wrapper", None):
        wrapper = _Wrapper(app)
        app.installEventFilter(wrapper)
        app._hsi_tooltip_wrapper = wrapper


__all__ = ["WRAP_CHARS", "install", "wrapped"]
