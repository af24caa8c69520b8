"""Addresses, types and byte orders, without a network: every type x order round-trips, and
known wire images decode to known values."""

from __future__ import annotations

import math
import struct

import pytest

from drivers.modbus import check_point
from drivers.modbus_codec import (
    Address,
    AddressError,
    decode_registers,
    encode,
    parse_address,
)
from hmi.tags import Point

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
SAMPLES = {
    "int16": [-32768, -1, 0, 1234, 32767],
    "uint16": [0, 1, 0xBEEF, 65535],
    "int32": [-(2**31), -123456, 0, 2**31 - 1],
    "uint32": [0, 0xDEADBEEF, 2**32 - 1],
    "float32": [0.0, -1.5, 3.140625, 2.0**100],
    "float64": [0.0, -2.5e-300, math.pi, 1e300],
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("data_type", list(SAMPLES))
def test_every_type_and_order_round_trips(data_type: str, order: str) -> None:
    for value in SAMPLES[data_type]:
        registers = encode(data_type, order, 0, value)
        assert all(0 <= r <= 0xFFFF for r in registers)
        assert decode_registers(data_type, order, 0, registers) == value


def test_known_wire_images_of_a_float32() -> None:
    # 0x40490FDB is pi as float32: bytes A=40 B=49 C=0F D=DB
    pi32 = struct.unpack(">f", bytes.fromhex("40490FDB"))[0]
    assert encode("float32", "ABCD", 0, pi32) == [0x4049, 0x0FDB]
    assert encode("float32", "CDAB", 0, pi32) == [0x0FDB, 0x4049]
    assert encode("float32", "BADC", 0, pi32) == [0x4940, 0xDB0F]
    assert encode("float32", "DCBA", 0, pi32) == [0xDB0F, 0x4940]


def test_known_wire_images_of_a_float64_and_int16() -> None:
    registers = encode("float64", "ABCD", 0, 1.0)  # 3FF0 0000 0000 0000
    assert registers == [0x3FF0, 0, 0, 0]
    assert encode("float64", "CDAB", 0, 1.0) == [0, 0, 0, 0x3FF0]
    assert encode("float64", "BADC", 0, 1.0) == [0xF03F, 0, 0, 0]
    assert encode("int16", "ABCD", 0, -2) == [0xFFFE]
    assert encode("int16", "CDAB", 0, -2) == [0xFFFE]
    assert encode("int16", "BADC", 0, 0x0102) == [0x0201]


@pytest.mark.parametrize("order", ORDERS)
def test_strings_round_trip_and_stop_at_nul(order: str) -> None:
    registers = encode("string", order, 9, "PUMP-7")
    assert len(registers) == 5
    assert decode_registers("string", order, 9, registers) == "PUMP-7"
    assert decode_registers("string", order, 9, encode("string", order, 9, "ABCDEFGHI")) == (
        "ABCDEFGHI")
    if order in ("ABCD", "CDAB"):
        assert registers[0] == (ord("P") << 8) | ord("U")
    else:
        assert registers[0] == (ord("U") << 8) | ord("P")


def test_bit_in_register_decodes_the_named_bit() -> None:
    assert decode_registers("bool", "ABCD", 0, [0b1000], bit=3) is True
    assert decode_registers("bool", "ABCD", 0, [0b1000], bit=2) is False
    assert decode_registers("bool", "ABCD", 0, [0x8000], bit=15) is True


@pytest.mark.parametrize(("data_type", "value"), [
    ("int16", 32768), ("uint16", -1), ("uint32", 2**32), ("int32", 1.5),
    ("float32", math.nan), ("float64", math.inf), ("float32", 1e39), ("uint16", True),
    ("string", 12),
])
def test_values_that_do_not_fit_are_refused(data_type: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode(data_type, "ABCD", 4, value)


def test_string_longer_than_length_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 4"):
        encode("string", "ABCD", 4, "TOO LONG")


@pytest.mark.parametrize(("text", "expected"), [
    ("hr:100", Address("hr", 100)), ("IR:7", Address("ir", 7)), ("coil:5", Address("coil", 5)),
    ("di:0", Address("di", 0)), ("hr:100.3", Address("hr", 100, 3)),
    (" hr : 65535 ", Address("hr", 65535)),
])
def test_parse_address(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "hr", "hr:-1", "hr:65536", "xx:1", "hr:1.16", "coil:1.2",
                                  "hr:1.2.3", None])
def test_parse_address_refuses(text: str | None) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


def _point(address: str, data_type: str = "auto", **kw: object) -> Point:
    return Point("t", "d", data_type=data_type, address=address, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("point", "field", "fragment"), [
    (_point("hr:1x"), "address", "expected hr:N"),
    (_point("hr:65535", "float32"), "address", "past the last register"),
    (_point("hr:65533", "float64"), "address", "past the last register"),
    (_point("hr:10.3", "int16"), "type", "is a bool"),
    (_point("coil:3", "float32"), "type", "single bits"),
    (_point("di:3", "uint16"), "type", "single bits"),
    (_point("hr:10", "string"), "length", "length = N"),
    (_point("ir:10", writable=True), "writable", "read-only"),
    (_point("di:10", writable=True), "writable", "read-only"),
])
def test_check_point_rejects(point: Point, field: str, fragment: str) -> None:
    found = check_point(point)
    assert any(f == field and fragment in m for f, m in found), found


@pytest.mark.parametrize("point", [
    _point("hr:65535"), _point("hr:65534", "float32"), _point("hr:10.15"),
    _point("hr:10", "bool", writable=True), _point("coil:1", writable=True), _point("di:1"),
    _point("hr:0", "string", length=246), _point("ir:4", "float64"),
])
def test_check_point_accepts(point: Point) -> None:
    assert check_point(point) == []


def test_compiled_block_matches_one_by_one_decoding_with_overlaps_and_mixed_orders() -> None:
    from drivers.modbus_codec import compile_block

    registers = [0x4049, 0x0FDB, 0x8001, 0xFFFE, 0x4142, 0x4300, 0x1234, 0x5678]
    fields = [("float32", "ABCD", 0, None, 0), ("uint16", "ABCD", 0, None, 1),  # overlaps
              ("int16", "BADC", 0, None, 3), ("bool", "ABCD", 0, 15, 2),
              ("string", "ABCD", 3, None, 4), ("uint32", "CDAB", 0, None, 6),
              ("int32", "DCBA", 0, None, 6), ("bool", "ABCD", 0, None, 5)]
    expected = [decode_registers(kind, order, length, registers[offset:], bit)
                for kind, order, length, bit, offset in fields]
    assert compile_block(fields)(registers) == expected
    assert expected[1] == 0x0FDB
    assert expected[4] == "ABC"
    assert expected[5] == 0x56781234
