"""The station's screens by name: what the main window navigates to and `hmi screenshot` renders.

Why a registry of `module:Class` strings: screens are built by different hands and must not
import each other or the main window; a screen is found by name, constructed lazily (a screen
never opened costs nothing) and a missing module shows a placeholder instead of breaking the
station.

A screen is a QWidget subclass constructed as `Screen(context: StationContext, parent=None)`,
with a class attribute `title` (str). Optional methods the main window calls when present:
`set_asset(path: str)` (the ISA-95 node to show), `configure(options: dict)` (screenshot flags
such as `tag`, `group`, `range`), `refresh()` (after the user changed), `ack_selected()` (F8:
acknowledge what the operator selected; without it F8 acknowledges the banner's selected row),
`show_tags(tags: list[str], start_s: float, end_s: float)` (the trends screen, on
`context.show_trend`). A screen that is not visible must not repaint (watch tags through the
bridge, which skips hidden widgets). A screen whose module is missing, or whose constructor
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
    "users": "screens.users:UsersScreen",  # user administration (admins; issue 14)
}
