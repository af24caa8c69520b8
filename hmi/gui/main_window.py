"""The station's window: header (always visible), navigation tree and history, the current
screen, a notification line, faceplates, shortcuts, and remembered geometry and place.

Screens never talk to each other or to this window directly: they ask the `StationContext`
(`show_screen`, `open_faceplate`, `show_trend`, `notify`) and this window decides. GUI thread
only.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCompleter,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hmi.gui import theme
from hmi.gui.header import Header
from hmi.gui.horn import Horn, SilenceKey
from hmi.gui.navigation import History, NavTree, Place, build_screen
from hmi.gui.registry import SCREENS
from hmi.gui.shortcuts import SHORTCUTS, HelpDialog
from hmi.gui.user_area import SessionBar
from widgets.dialogs import NonModalDialog, raise_open
from widgets.faceplate import Faceplate
from widgets.signature_dialog import SignatureDialog

log = logging.getLogger(__name__)
NOTIFY_KEEP = 30


class TagPicker(NonModalDialog):
    """Ctrl+F: type a tag name (with completion), Enter opens its faceplate."""

    def __init__(self, tags: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open faceplate")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.setMinimumWidth(480)  # tag names are long: Line1.Filler.LevelSetpoint
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Tag (type part of its name; Enter opens it):", self))
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("e.g. Level")
        completer = QCompleter(tags, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        # choosing from the list opens at once (one Enter, not one for the list and one more)
        completer.activated.connect(self._on_completed)
        self.edit.setCompleter(completer)
        layout.addWidget(self.edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_completed(self, text: str) -> None:
        self.edit.setText(text)
        self.accept()


class MainWindow(QMainWindow):
    """`settings=None`: nothing remembered (screenshots, tests that want a fixed layout)."""

    closing = Signal()  # the window is closing: the app stops the runtime after this

    def __init__(self, context: Any, settings: QSettings | None = None,
                 session: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = settings
        self.setWindowTitle(f"{context.runtime.project.name} · hmi-station")
        self.horn = Horn(context.alarms, self)
        self.silence_key = SilenceKey(self.horn, self)  # F9 even under a modal dialog
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.silence_key)
        self.history = History()
        self.screens: dict[str, QWidget] = {}
        self.faceplates: dict[str, Faceplate] = {}
        self.notifications: list[tuple[float, str, str]] = []
        self.place: Place = ("", "")
        self._ack_dialog: SignatureDialog | None = None
        self._picker: TagPicker | None = None
        self._help: HelpDialog | None = None
        self._shown = False

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.session = session  # hmi.gui.session.SessionController (None: no logins)
        self.header = Header(context, self.horn, session, central)
        outer.addWidget(self.header)
        if session is not None:
            outer.addWidget(SessionBar(session, central))
        outer.addWidget(self._nav_bar(central))
        splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.nav = NavTree(context.meta.plant, splitter)
        self.nav.place_requested.connect(self.go)
        self.stack = QStackedWidget(splitter)
        splitter.addWidget(self.nav)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 1350])
        outer.addWidget(splitter, 1)
        self.notice = QLabel("", central)
        self.notice.setObjectName("Notification")
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.notice)
        self.setCentralWidget(central)

        context.screen_requested.connect(self.go)
        context.faceplate_requested.connect(self.open_faceplate)
        context.notification.connect(self._on_notification)
        context.actor_changed.connect(self._on_actor)
        context.trend_requested.connect(self._on_trend)
        self._shortcuts: dict[QShortcut, tuple[str, str]] = {}  # -> (key, method)
        self._screen_keys: dict[tuple[int, str], QAction] = {}  # (id(screen), key) -> action
        for keys, method, text in SHORTCUTS:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(self._on_shortcut)
            shortcut.setWhatsThis(text)
            self._shortcuts[shortcut] = (QKeySequence(keys).toString(), method)
        self._restore()

    # ---- layout pieces --------------------------------------------------------------------------
    def _nav_bar(self, parent: QWidget) -> QWidget:
        bar = QWidget(parent)
        bar.setObjectName("NavBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(6, 2, 6, 2)
        self.back_button = QToolButton(bar)
        self.back_button.setText("\u2190 Back")
        self.back_button.setToolTip("Back (Alt+Left)")
        self.back_button.clicked.connect(self.go_back)
        self.forward_button = QToolButton(bar)
        self.forward_button.setText("Forward \u2192")
        self.forward_button.setToolTip("Forward (Alt+Right)")
        self.forward_button.clicked.connect(self.go_forward)
        self.up_button = QToolButton(bar)
        self.up_button.setText("\u2191 Up")
        self.up_button.setToolTip("Up the asset tree (Alt+Up)")
        self.up_button.clicked.connect(self.go_up)
        self.breadcrumb = QLabel("", bar)
        self.breadcrumb.setObjectName("Breadcrumb")
        help_button = QToolButton(bar)
        help_button.setText("Help (F1)")
        help_button.clicked.connect(self.show_help)
        for widget in (self.back_button, self.forward_button, self.up_button):
            row.addWidget(widget)
        row.addSpacing(12)
        row.addWidget(self.breadcrumb, 1)
        row.addWidget(help_button)
        return bar

    # ---- navigation -----------------------------------------------------------------------------
    def screen(self, name: str) -> QWidget:
        """The screen `name`, built on first use (a placeholder if unavailable)."""
        widget = self.screens.get(name)
        if widget is None:
            widget = build_screen(name, self.context, self.stack)
            self.screens[name] = widget
            self.stack.addWidget(widget)
            self._adopt_keys(widget)
        return widget

    # ---- keys -----------------------------------------------------------------------------------
    def _adopt_keys(self, screen: QWidget) -> None:
        """A screen's own action on one of the window's keys (the summary's and the journal's
        Ctrl+F) would make Qt see two shortcuts for one key and fire neither ("ambiguous").
        The window takes the key off the screen's action and, while that screen is current,
        triggers the action itself; elsewhere the key does what the window's table says."""
        window_keys = {key for key, _method in self._shortcuts.values()}
        for action in screen.findChildren(QAction):
            keys = [k for k in action.shortcuts() if k.toString() not in window_keys]
            if len(keys) == len(action.shortcuts()):
                continue
            for key in action.shortcuts():
                if key.toString() in window_keys:
                    self._screen_keys[(id(screen), key.toString())] = action
            action.setShortcuts(keys)

    def _on_shortcut(self) -> None:
        found = self._shortcuts.get(self.sender())  # type: ignore[call-overload]
        if found is None:
            return
        key, method = found
        action = self._screen_keys.get((id(self.stack.currentWidget()), key))
        if action is not None and not self.faceplates_have_focus():
            if action.isEnabled():
                action.trigger()
            return
        getattr(self, method)()

    def faceplates_have_focus(self) -> bool:
        """A faceplate (its own window) is the active window: screen keys are not for it."""
        active = QApplication.activeWindow()
        return active is not None and active is not self

    def go(self, name: str, asset: str = "", remember: bool = True) -> None:
        """Show screen `name` (on `asset` for line/unit screens)."""
        widget = self.screen(name)
        if asset and hasattr(widget, "set_asset"):
            try:
                widget.set_asset(asset)
            except Exception as exc:
                log.exception("screen %s failed on asset %s", name, asset)
                self.context.notify(f"{name}: {type(exc).__name__}: {exc}", "error")
        node = getattr(widget, "node", None)
        place = (name, node.path if node is not None else asset)
        self.stack.setCurrentWidget(widget)
        self.place = place
        if remember:
            self.history.visit(place)
        self.nav.select(place)
        self._update_nav(widget)

    def _update_nav(self, widget: QWidget) -> None:
        self.back_button.setEnabled(self.history.can_back())
        self.forward_button.setEnabled(self.history.can_forward())
        self.up_button.setEnabled(self.place[0] in ("line", "unit"))
        title = getattr(widget, "title", self.place[0])
        path = self.place[1]
        self.breadcrumb.setText(f"{title}" + (f"   ·   {path}" if path else ""))

    def go_back(self) -> None:
        place = self.history.back()
        if place is not None:
            self.go(*place, remember=False)

    def go_forward(self) -> None:
        place = self.history.forward()
        if place is not None:
            self.go(*place, remember=False)

    def go_up(self) -> None:
        name, path = self.place
        if name == "unit":
            self.go("line", path.rsplit("/", 1)[0])
        elif name == "line":
            self.go("overview")

    def go_overview(self) -> None:
        self.go("overview")

    def go_alarms(self) -> None:
        self.go("alarms")

    def go_journal(self) -> None:
        self.go("journal")

    def go_trends(self) -> None:
        self.go("trends")

    def go_diagnostics(self) -> None:
        self.go("diagnostics")

    def focus_banner(self) -> None:
        self.header.banner.setFocus()

    def focus_navigation(self) -> None:
        self.nav.setFocus()

    def go_production(self) -> None:
        self.go("production")

    def _on_trend(self, tags: list[str], start_s: float, end_s: float) -> None:
        """`context.show_trend` (the alarm summary, the journal, a faceplate): the trends
        screen over [start_s, end_s] with these tags (registry contract: `show_around`)."""
        self.go("trends")
        show = getattr(self.screen("trends"), "show_around", None)
        if callable(show):
            show(tags, start_s, end_s)
        else:
            self.context.notify("trends are not in this build", "warning")

    # ---- alarms ---------------------------------------------------------------------------------
    def silence_horn(self) -> None:
        self.horn.silence()

    def ack_selected(self) -> None:
        """F8: the current screen's selection if it has one (the alarm summary), else the
        banner's selected row."""
        current = self.stack.currentWidget()
        handler = getattr(current, "acknowledge_selected", None)
        if callable(handler):
            handler()
            return
        row = self.header.banner.selected_row()
        if row is None:
            self.context.notify("select an alarm first (Ctrl+B, Up/Down)", "warning")
            return
        why = self.context.why_not("ack", row["name"])
        if why is not None:
            self.context.notify(f"cannot acknowledge {row['name']}: {why}", "warning")
            return
        rule = self.context.commands.needs_signature("ack")
        if rule:  # the project signs acknowledgements: ask first (hmi.gui.session: issue 14)
            if self._ack_dialog is not None:  # one question at a time: the newest selection
                self._ack_dialog.reject()
            dialog = SignatureDialog("Sign: acknowledge", f"Acknowledge {row['name']}", rule,
                                     parent=self)
            dialog.setProperty("alarm", row["name"])
            dialog.finished.connect(self._on_ack_signed)
            self._ack_dialog = dialog
            dialog.open()
            return
        self._send_ack(row["name"], None)

    def _on_ack_signed(self, result: int) -> None:
        dialog, self._ack_dialog = self._ack_dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result == SignatureDialog.DialogCode.Accepted.value:
            self._send_ack(str(dialog.property("alarm")), dialog.signature())
        dialog.clear_secrets()

    def _send_ack(self, alarm: str, signature: object) -> None:
        """Started from a worker: the audit entry (synchronous=FULL) and any signature check
        (argon2) stay off the GUI thread."""
        start = functools.partial(self.context.commands.alarm, self.context.actor, "ack", alarm,
                                  signature=signature)
        self.context.submit(start, slot=self._on_ack_started, error_slot=self._on_alarm_error)

    def _on_ack_started(self, future: Any) -> None:
        self.context.when_done(future, self._on_alarm_done, self._on_alarm_error)

    def _on_alarm_done(self, text: str) -> None:
        self.context.notify(text)

    def _on_alarm_error(self, exc: BaseException) -> None:
        self.context.notify(f"refused: {exc}", "warning")

    # ---- faceplates -----------------------------------------------------------------------------
    def open_faceplate(self, tag: str) -> Faceplate | None:
        if not tag:
            return None
        if self.context.meta.tag(tag) is None:
            self.context.notify(f"no tag named {tag!r}", "warning")
            return None
        faceplate = self.faceplates.get(tag)
        if faceplate is None:
            try:
                faceplate = Faceplate(self.context, tag, self)
            except Exception as exc:
                log.exception("faceplate %s failed", tag)
                self.context.notify(f"faceplate {tag} failed: {type(exc).__name__}: {exc}",
                                    "error")
                return None
            faceplate.finished.connect(self._on_faceplate_finished)
            self.faceplates[tag] = faceplate
            offset = 30 * (len(self.faceplates) - 1)
            faceplate.move(self.geometry().center().x() - 280 + offset,
                           self.geometry().top() + 120 + offset)
        faceplate.open()
        return faceplate

    def _on_faceplate_finished(self, _result: int) -> None:
        self.faceplates = {tag: f for tag, f in self.faceplates.items() if f.isVisible()}

    def close_faceplates(self) -> None:
        for faceplate in list(self.faceplates.values()):
            faceplate.close()
        self.faceplates.clear()

    def ask_faceplate(self) -> None:
        if raise_open(self._picker):  # non-modal: Ctrl+O again finds the open one
            return
        picker = TagPicker(sorted(self.context.meta.tags), self)
        picker.accepted.connect(self._on_picker_accepted)
        picker.finished.connect(self._on_picker_finished)
        self._picker = picker
        picker.open()

    def _on_picker_accepted(self) -> None:
        if self._picker is not None:
            self.open_faceplate(self._picker.edit.text().strip())

    def _on_picker_finished(self, _result: int) -> None:
        self._picker = None  # deleted on close

    # ---- the user (hmi.gui.session) ------------------------------------------------------------
    def log_in(self) -> None:
        if self.session is not None:
            self.session.log_in()

    def lock_session(self) -> None:
        if self.session is not None:
            self.session.lock()

    # ---- misc -----------------------------------------------------------------------------------
    def show_help(self) -> None:
        """F1: the window's keys, then the current screen's own (its `SHORTCUTS`)."""
        current = self.stack.currentWidget()
        extra = list(getattr(current, "SHORTCUTS", ()))
        if self._help is not None:  # non-modal: F1 again shows the current screen's keys
            self._help.close()
        self._help = HelpDialog(self, extra, getattr(current, "title", ""))
        self._help.finished.connect(self._on_help_finished)
        self._help.open()

    def _on_help_finished(self, _result: int) -> None:
        if self.sender() is self._help:
            self._help = None  # deleted on close

    def toggle_theme(self) -> None:
        name = "night" if theme.current().name == "day" else "day"
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, name)
        if self.settings is not None:
            self.settings.setValue("theme", name)

    def _on_actor(self, _actor: object) -> None:
        for widget in self.screens.values():
            refresh = getattr(widget, "refresh", None)
            if callable(refresh):
                refresh()

    def _on_notification(self, level: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.notifications.append((time.time(), level, text))
        del self.notifications[:-NOTIFY_KEEP]
        prefix = {"error": "ERROR", "warning": "Warning"}.get(level, "")
        self.notice.setText(f"{stamp}  {prefix + ': ' if prefix else ''}{text}")
        self.notice.setProperty("level", level)
        self.notice.style().unpolish(self.notice)
        self.notice.style().polish(self.notice)
        self.notice.setToolTip("\n".join(
            f"{time.strftime('%H:%M:%S', time.localtime(t))} {lvl}: {msg}"
            for t, lvl, msg in self.notifications[-15:]))

    # ---- remembered state -----------------------------------------------------------------------
    def _restore(self) -> None:
        place: Place = ("overview", "")
        if self.settings is not None:
            geometry = self.settings.value("geometry")
            if isinstance(geometry, QByteArray | bytes):
                self.restoreGeometry(QByteArray(geometry))
            screen = self.settings.value("screen", "overview")
            asset = self.settings.value("asset", "")
            if isinstance(screen, str) and screen in SCREENS:  # a screen of an older build
                place = (screen, asset if isinstance(asset, str) else "")  # is not restored
        self.go(*place)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("screen", self.place[0])
        self.settings.setValue("asset", self.place[1])
        self.settings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:  # keyboard users start in the navigation, not in the banner
            self._shown = True
            self.nav.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.silence_key)
        self.save_settings()
        self.close_faceplates()
        self.closing.emit()
        super().closeEvent(event)
