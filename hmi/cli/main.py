"""The `hmi` command. Each area registers its own subcommands from its own module
(`hmi.cli.core`, `hmi.cli.history`, ...), so this file stays a dispatcher.

Exit codes are a contract: 0 success, 1 a failure at run time (e.g. a benchmark or device
failed), 2 bad input (bad project file, bad flag, unknown tag) with a one-line reason, 3 denied
(wrong password, lockout, disabled user, role, signature) with the reason.
A mistake in a user's file never shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from hmi.cli.base import CliDenied, CliError
from hmi.logs import enable_file_log, install_crash_reports, log_dir
from hmi.project import ProjectInvalid
from hmi.runtime import StartError

COMMAND_MODULES = (
    "hmi.cli.core",
    "hmi.cli.drivers",
    "hmi.cli.opcua",
    "hmi.cli.history",
    "hmi.cli.alarms",
    "hmi.cli.users",
    "hmi.cli.write",
    "hmi.cli.audit",
    "hmi.cli.secrets",
    "hmi.cli.production",
    "hmi.cli.mes",
    "hmi.cli.gui",
    "hmi.bench.harness",
)


class VersionAction(argparse.Action):
    """`--version`: the first line stays `hmi X.Y.Z`; the libraries follow (lazily: Qt is
    only imported when asked)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from hmi.versions import version_text

        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmi", description="HMI/SCADA operator station: drivers, historian, alarms, screens."
    )
    parser.add_argument("--version", action=VersionAction,
                        help="print the version of hmi and of Python, Qt, PySide6, asyncua, "
                             "pymodbus and SQLite, then exit")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        # the libraries log every failed connect and security notice; the device runner already
        # logs "down" once and "recovered" once, which is what a technician needs to read
        for noisy in ("pymodbus", "asyncua"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if getattr(args, "long_running", False):
        # weeks-long runs (station, GUI, simulator) keep a rotating log and crash reports
        directory = log_dir(getattr(args, "data", None))
        enable_file_log(directory)
        install_crash_reports(directory)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ProjectInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"hmi: {len(exc.errors)} problem(s) in the project file", file=sys.stderr)
        return 2
    except StartError as exc:  # 1 unless the project is at fault: a service manager
        # restarts the station once the disk has space or the lock is gone
        print(f"hmi: cannot start: {exc}", file=sys.stderr)
        return 2 if exc.bad_input else 1
    except CliError as exc:
        print(f"hmi: error: {exc}", file=sys.stderr)
        return 2
    except CliDenied as exc:
        print(f"hmi: denied: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`hmi tags ... | head`): stop quietly, as a SIGPIPE'd tool does;
        # point stdout at devnull so the interpreter's final flush cannot raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
