"""What every `hmi` subcommand module shares: the bad-input error and the relative-time option.

Why a module of its own: `hmi.cli.main` imports the subcommand modules, so they could only
import `CliError` from it inside functions; and had the dispatcher run as `__main__`, its `main()`
would not catch the other copy's `CliError` and a user would see a traceback. Defined here, there
is one class whichever way `hmi` is started (`hmi`, `python -m hmi.cli`).
"""

from __future__ import annotations

import argparse
import re

_RELATIVE_TIME = re.compile(r"^-\d+(\.\d+)?(s|m|min|h|d|w)?$", re.IGNORECASE)


class CliError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class CliDenied(Exception):
    """Refused for who is asking (wrong password, lockout, disabled user, role, signature):
    printed as one line, exit code 3."""


def accept_relative_times(parser: argparse.ArgumentParser) -> None:
    """Let `--from -8h` through: argparse reads a value starting with '-' as an option unless it
    looks like a negative number, and its only hook for that is this private attribute."""
    parser._negative_number_matcher = _RELATIVE_TIME  # type: ignore[attr-defined]
