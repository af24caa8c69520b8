"""The MES connection uses the OPC UA driver's security: an unknown MES certificate is refused
and saved to pki/rejected/ with the `hmi certs trust` hint; once trusted, events flow over
Basic256Sha256 SignAndEncrypt."""

from __future__ import annotations

from pathlib import Path

from drivers.opcua_security import Pki, trust_file
from tests.conftest import wait_until
from tests.core.mes_helpers import Clock, core
from tests.drivers.mes_fixtures import (
    Stubs,
    fill,
    mes_project,
    sender_for,
)
from tests.drivers.opcua_fixtures import make_server_cert


def test_untrusted_mes_is_refused_then_trusted(tmp_path: Path, stubs: Stubs) -> None:
    stub = stubs.start(certificate=make_server_cert(tmp_path / "mes-pki"))
    proj = mes_project(tmp_path, stub.url, 'security = "Basic256Sha256-SignAndEncrypt"\n'
                                           "retry_max_s = 0.3\n")
    clock = Clock(1_800_000_000.0)
    c = core(tmp_path, proj, clock)
    depth = fill(c, clock, 30)
    c.commit()
    sender = sender_for(c, tmp_path)
    sender.start()
    try:
        wait_until(lambda: "not trusted" in sender.status.last_error, 30)
        assert "hmi certs trust" in sender.status.last_error
        pki = Pki.under(tmp_path / "data")
        rejected = list(pki.rejected.glob("*.der"))
        assert len(rejected) == 1
        assert stub.events == []
        trust_file(pki, rejected[0])
        sender.retry_now()
        assert stub.wait_for(depth, 30)
    finally:
        sender.stop()
    assert [e["seq"] for e in stub.events] == list(range(1, depth + 1))
    c.close()
