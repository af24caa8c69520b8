"""Quiet one known piece of asyncua log noise (imported by `drivers.opcua`)."""

from __future__ import annotations

import logging


class LostConnectionNoise(logging.Filter):
    """asyncua's publish loop logs a full traceback ("Publish iteration crashed") every time
    the server goes away, while the session is being torn down; the driver already says "device
    X down: connection lost" once (measured: 192 such tracebacks in a 100-minute soak with a
    plant restart every 25 s). Drop exactly those; any other publish failure keeps its
    traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Publish iteration crashed") or not record.exc_info:
            return True
        return not isinstance(record.exc_info[1], ConnectionError)


logging.getLogger("asyncua.client.ua_session.UaSession").addFilter(LostConnectionNoise())
