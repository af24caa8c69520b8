"""`hmi screenshot` for the security side: who is logged in while rendering (`--user`), and the
pictures of the login dialog, the locked station and the signature dialog.

`--user NAME` logs NAME in the way the CLI acts without a password: only for the OS account that
owns the data directory and only if the project allows it (`[security] cli_trust_os_account`),
audited with `via: os:<account>` (`hmi.cli.auth`). No password ever goes on a command line.

Dialogs are separate windows, so a grab of the main window would not show them: the picture is
the window with each dialog drawn over it where it sits (centred on the window). GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from hmi.gui import theme
from hmi.security.api import os_account, owns_data_dir
from hmi.security.users import AuthError

SHOTS = ("login", "locked", "signature")  # screens `hmi screenshot` renders from here
NEEDS_USER = ("locked", "signature")


class ShotError(ValueError):
    """Bad input for a security screenshot (the CLI exits 2)."""


def log_in_trusted(station: Any, user: str) -> Any:
    """A session for `user` vouched for by the OS account owning the data dir (as the CLI)."""
    security = station.context.commands.security
    data_dir = station.runtime.data_dir
    if not security.settings.cli_trust_os_account:
        raise ShotError("--user: this project needs a password on the command line "
                        "(cli_trust_os_account = false); screenshots cannot log in")
    if not owns_data_dir(data_dir):
        raise ShotError(f"--user: only the OS account that owns {data_dir} may act "
                        "without a password")
    try:
        session = security.sessions.open_trusted(user, "gui", f"os:{os_account()} (screenshot)")
    except AuthError as exc:
        raise ShotError(f"--user: {exc}") from None
    station.context.set_actor(session.actor)
    return session.actor


def prepare(station: Any, shot: str, tag: str | None, options: dict[str, Any]) -> None:
    """Bring the station into the state of `shot` (dialogs open on the next loop turns)."""
    session = station.session
    if shot == "login":
        session.log_in()
        dialog = session.dialog
        if dialog is not None and options.get("user") and hasattr(dialog, "user"):
            dialog.user.setText(str(options["user"]))
        return
    if shot == "locked":
        session.lock()
        return
    # signature: the faceplate of a signed tag, its write asking for the signature
    name = signed_tag(station, tag)
    faceplate = station.window.open_faceplate(name)
    if faceplate is None or faceplate.write is None:
        raise ShotError(f"no faceplate with a write section for {name!r}")
    section = faceplate.write
    value = options.get("value")
    if section.entry is None:
        section.request_write(str(value).lower() not in ("0", "false", "off") if value
                              is not None else True)
        return
    current = station.bridge.current.get(name)
    if value is None and current is not None and isinstance(current.value, int | float):
        value = f"{current.value:g}"
    section.entry.setText(str(value or ""))
    section.reason.setText(str(options.get("reason", "")))
    section.request_write()


def signed_tag(station: Any, tag: str | None) -> str:
    signed = [t.name for t in station.runtime.project.model.tags if t.writable and t.signature]
    name = tag or (signed[0] if signed else None)
    if name is None:
        raise ShotError("--screen signature: no writable tag with signature = true in the "
                        "project")
    if name not in signed:
        raise ShotError(f"--screen signature: {name} needs no signature (signature = true or "
                        f"\"double\" on a writable tag)")
    return name


def extras(station: Any, shot: str, tag: str | None) -> list[QWidget]:
    """The open dialogs of `shot` to draw over the window, bottom first."""
    if shot == "login":
        return [station.session.dialog] if station.session.dialog is not None else []
    if shot == "signature":
        faceplate = station.window.faceplates.get(signed_tag(station, tag))
        if faceplate is None or faceplate.write is None:
            return []
        dialog = faceplate.write.sign_dialog
        return [faceplate] + ([dialog] if dialog is not None else [])
    return []


def titled(widget: QWidget) -> QPixmap:
    """The widget with a plain title bar (offscreen windows have no decoration to grab)."""
    body = widget.grab()
    bar = 26
    picture = QPixmap(body.width(), body.height() + bar)
    picture.fill(QColor(theme.current().panel))
    painter = QPainter(picture)
    painter.fillRect(0, 0, body.width(), bar, QColor(theme.current().border))
    painter.setPen(QColor(theme.current().text))
    font = painter.font()
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(10, 0, body.width() - 20, bar, int(Qt.AlignmentFlag.AlignVCenter),
                     widget.windowTitle())
    painter.drawPixmap(0, bar, body)
    painter.end()
    return picture


def render(window: QWidget, extras: list[Any]) -> QPixmap:
    """The window with every extra top-level widget drawn over it, a thin shadow around each."""
    picture = window.grab()
    painter = QPainter(picture)
    origin = window.mapToGlobal(QPoint(0, 0))
    centre = window.rect().center()
    for index, widget in enumerate(extras):
        pixmap = titled(widget)
        if index == len(extras) - 1 or not widget.isWindow():  # the dialog: centred
            top_left = QPoint(centre.x() - pixmap.width() // 2,
                              centre.y() - pixmap.height() // 2)
        else:  # a faceplate: where it is, kept inside the picture
            top_left = widget.mapToGlobal(QPoint(0, 0)) - origin
            top_left.setX(max(0, min(top_left.x(), picture.width() - pixmap.width())))
            top_left.setY(max(0, min(top_left.y(), picture.height() - pixmap.height())))
        painter.fillRect(top_left.x() + 4, top_left.y() + 4, pixmap.width(), pixmap.height(),
                         QColor(0, 0, 0, 70))
        painter.drawPixmap(top_left, pixmap)
        painter.setPen(QColor(60, 60, 60))
        painter.drawRect(top_left.x() - 1, top_left.y() - 1, pixmap.width() + 1,
                         pixmap.height() + 1)
    painter.end()
    return picture
