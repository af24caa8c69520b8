"""The tag model: quality ordering, JSON shape, scaling, and the TagStore's contract."""

from __future__ import annotations

import math

from hmi.tags import Point, Quality, Reason, Sample, TagStore, bad, iso_utc


def test_quality_orders_worst_first_and_prints_lowercase() -> None:
    assert min(Quality.GOOD, Quality.BAD, Quality.UNCERTAIN) is Quality.BAD
    assert [str(q) for q in Quality] == ["bad", "uncertain", "good"]


def test_sample_json_shape() -> None:
    sample = Sample("A", 1.5, 1795420800.25, Quality.GOOD)
    assert sample.to_json() == {"name": "A", "value": 1.5, "quality": "good", "reason": "",
                                "ts": "2026-11-23T08:00:00.250Z"}
    nan = Sample("A", math.nan, 0.0, Quality.BAD, "bad value").to_json()
    assert nan["value"] is None
    assert nan["quality"] == "bad"


def test_bad_sample_carries_the_reason() -> None:
    sample = bad("A", Reason.COMM_FAILURE, "connection refused", ts=10.0)
    assert sample.quality is Quality.BAD
    assert sample.value is None
    assert sample.reason == "comm failure: connection refused"


def test_iso_utc_rounds_milliseconds_up_into_the_next_second() -> None:
    assert iso_utc(0.9996) == "1970-01-01T00:00:01.000Z"


def test_scaling_round_trips_and_rounds_integers() -> None:
    point = Point("P", "d", data_type="int16", scale=0.01, offset=-5.0)
    assert math.isclose(point.to_engineering(250), -2.5)
    assert point.to_raw(-2.5) == 250
    assert point.to_engineering(True) is True
    assert Point("S", "d").to_engineering("text") == "text"


def test_store_starts_not_yet_read_and_ignores_unknown_tags() -> None:
    store = TagStore(["A", "B"])
    first = store.get("A")
    assert first is not None
    assert first.quality is Quality.BAD
    assert first.reason == "not yet read"
    accepted = store.apply([Sample("A", 1, 1.0), Sample("Z", 2, 1.0)])
    assert [s.tag for s in accepted] == ["A"]
    assert store.value("A") == 1
    assert store.value("B", "n/a") == "n/a"
    assert store.get("Z") is None


def test_subscribe_returns_an_unsubscribe_callable() -> None:
    store = TagStore(["A"])
    seen: list[list[Sample]] = []
    unsubscribe = store.subscribe(seen.append)
    assert store.listeners() == [seen.append]
    unsubscribe()
    assert store.listeners() == []
