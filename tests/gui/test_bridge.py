"""The bridge coalesces: 100,000 changes over 2 s become at most 21 flushes, and what a widget
shows at the end is every tag's final value."""

from __future__ import annotations

import threading
import time

from PySide6.QtWidgets import QWidget

from hmi.gui.bridge import TagBridge
from hmi.tags import Quality, Sample

TAGS = [f"T{i:04d}" for i in range(1000)]


class Watcher(QWidget):
    def __init__(self, bridge: TagBridge, tags: list[str]) -> None:
        super().__init__()
        self.seen: dict[str, object] = {}
        self.calls = 0
        bridge.watch(self, tags, self._on_samples)

    def _on_samples(self, samples: dict[str, Sample]) -> None:
        self.calls += 1
        self.seen.update((tag, s.value) for tag, s in samples.items())


def test_100k_changes_in_2s_are_at_most_21_flushes(qtbot) -> None:
    bridge = TagBridge(hz=10)
    watcher = Watcher(bridge, TAGS[:10])
    qtbot.addWidget(watcher)
    watcher.show()
    hidden = Watcher(bridge, TAGS[10:20])
    qtbot.addWidget(hidden)  # never shown: must not be called
    flushes = []
    bridge.flushed.connect(flushes.append)
    done = threading.Event()

    def produce() -> None:
        # 100 batches of 1,000 changes, one every 20 ms: 100,000 changes over 2 s
        start = time.monotonic()
        for n in range(100):
            now = time.time()
            bridge.post([Sample(tag, n, now, Quality.GOOD, "") for tag in TAGS])
            time.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))
        done.set()

    thread = threading.Thread(target=produce, name="test-producer")
    thread.start()
    qtbot.waitUntil(done.is_set, timeout=10_000)
    thread.join()
    qtbot.waitUntil(lambda: watcher.seen.get(TAGS[0]) == 99, timeout=2_000)
    assert 10 <= len(flushes) <= 21
    assert watcher.seen == dict.fromkeys(TAGS[:10], 99)
    assert watcher.calls == len(flushes)
    assert hidden.calls == 0
    assert all(bridge.current[tag].value == 99 for tag in TAGS)
    hidden.show()
    bridge.replay(hidden)
    assert hidden.seen == dict.fromkeys(TAGS[10:20], 99)
    bridge.detach()


def test_alarm_rows_coalesce_by_name(qtbot) -> None:
    bridge = TagBridge(hz=10)
    got: list[list[dict]] = []
    bridge.alarms_changed.connect(got.append)
    bridge.post_alarms([{"name": "A", "state": "B"}, {"name": "B", "state": "B"}])
    bridge.post_alarms([{"name": "A", "state": "C"}])
    with qtbot.waitSignal(bridge.alarms_changed, timeout=2000):
        pass
    assert got[0] == [{"name": "B", "state": "B"}, {"name": "A", "state": "C"}]
    bridge.detach()


def test_a_deleted_watcher_is_dropped_not_called(qtbot) -> None:
    bridge = TagBridge(hz=10)
    watcher = Watcher(bridge, ["X"])
    watcher.show()
    watcher.close()
    watcher.deleteLater()
    qtbot.waitUntil(lambda: not bridge._watches or bridge._watches[0].target() is None,
                    timeout=2000)
    bridge.post([Sample("X", 1, time.time(), Quality.GOOD, "")])
    bridge.flush_now()
    assert bridge._watches == []
    bridge.detach()
