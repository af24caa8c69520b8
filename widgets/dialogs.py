"""One way to show a dialog at the station: non-modal, never `exec()`.

Why: `QDialog.open()` (and `QMessageBox.open()`, `QFileDialog.open()`) makes the dialog
window-modal on its parent window. While a shelve, comment, confirmation, help or file dialog
was up, the whole station window was blocked: the header's "Silence horn" button and F9 did
nothing, so the horn kept sounding until the operator finished typing a reason. ISA-18.2 wants
silence available at all times. `exec()` is no answer either (a nested loop inside qasync
re-enters coroutines). So every dialog is shown non-modal; each caller keeps at most one of its
dialogs open (the re-entry guard: it raises or replaces the open one) and reads its answer
through `finished`, as before. The faceplate and the login dialogs were already non-modal.

GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog


def open_nonmodal(dialog: QDialog) -> None:
    """Show `dialog` like `open()` (answer through `finished`) without blocking any window."""
    dialog.setModal(False)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setResult(0)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()


def raise_open(dialog: QDialog | None) -> bool:
    """The re-entry guard: True (and the dialog brought to the front) when `dialog` is still
    open, so the caller does not open a second one."""
    if dialog is None or not dialog.isVisible():
        return False
    dialog.raise_()
    dialog.activateWindow()
    return True


class NonModalDialog(QDialog):
    """A station dialog: `open()` shows it non-modal (see the module docstring)."""

    def open(self) -> None:
        open_nonmodal(self)
