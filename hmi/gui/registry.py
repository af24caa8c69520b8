"""The station's screens by name: what the main window navigates to and `hmi screenshot` renders.

Why a registry of `module:Class` strings: screens are built by different hands and must not
import each other or the main window; a screen is found by name, constructed lazily (a screen
never opened costs nothing) and a missing module shows a placeholder instead of breaking the
station.

A screen is a QWidget subclass constructed as `Screen(context: StationContext, parent=None)`,
with a class attribute `title` (str). Optional methods the main window calls when present:
`set_asset(path: str)` (the ISA-95 node to show), `configure(options: dict)` (screenshot flags
such as `tag`, `group`, `range`), `refresh()` (after the user changed), `acknowledge_selected()`
(F8: acknowledge what the operator selected; without it F8 acknowledges the banner's selected
row), `show_around(tags: list[str], t0: float, t1: float)` (the trends screen, on
`context.show_trend`: the main window shows "trends", then calls it; epoch seconds),
`SHORTCUTS` (a class attribute, (key, text) pairs the F1 help lists for the current screen; a
screen's own action on a window key is taken over by the window, see `hmi.gui.shortcuts`),
`loading()` (true while the screen still waits for data from workers: `hmi screenshot` waits).
A screen that is not visible must not repaint (watch tags through the bridge, which skips
hidden widgets). A screen whose module is missing, or whose constructor
raises, is shown as a placeholder (`hmi.gui.navigation.build_screen`).
"""

from __future__ import annotations

SCREENS: dict[str, str] = {
    "overview": "screens.overview:OverviewScreen",  # L1: the area, every line at a glance
    "line": "screens.line:LineScreen",  # L2: a line with its units
    "unit": "screens.unit:UnitScreen",  # L3: one unit in detail
    "diagnostics": "screens.diagnostics:DiagnosticsScreen",  # L4: devices, historian, alarms
    "alarms": "screens.alarm_summary:AlarmSummaryScreen",
    "journal": "screens.alarm_journal:AlarmJournalScreen",
    "trends": "screens.trends:TrendScreen",
    "production": "screens.production:ProductionScreen",  # issue 15: context, stops, OEE
    "users": "screens.users:UsersScreen",  # user administration (admins; issue 14)
}
