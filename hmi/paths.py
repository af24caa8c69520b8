"""Where the station keeps its data: historian, journal, audit, certificates.

`--data DIR` beats `HMI_DATA_DIR`, which beats the platform's user data dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory, created if missing: 0700, as it holds the users' password hashes,
    the audit trail and the client key (an existing folder keeps the mode it was given)."""
    if override:
        path = Path(override)
    elif os.environ.get("HMI_DATA_DIR"):
        path = Path(os.environ["HMI_DATA_DIR"])
    else:
        path = Path(platformdirs.user_data_dir("hmi-station", appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
