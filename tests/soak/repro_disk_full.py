"""Reproduce issue 11's first situation: the data directory on a small filesystem fills up.

Needs root (it mounts a tmpfs). 300 sim tags at 100 ms, `hmi run --headless` on a 12 MB tmpfs
nearly filled by a ballast file; after `--full-s` seconds the ballast is deleted (space returns).
Prints: log lines, tracebacks, the last status line, rows stored vs samples polled.

    python tests/soak/repro_disk_full.py [--tags 300] [--seconds 40] [--free-at 25]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def project_text(tags: int) -> str:
    lines = ['[project]\nname = "diskfull"\n',
             '[[devices]]\nname = "sim"\nprotocol = "sim"\npoll_ms = 100\n']
    for i in range(tags):
        lines.append(f'[[tags]]\nname = "T{i}"\ndevice = "sim"\ntype = "float64"\n'
                     f'sim = {{ signal = "random", amplitude = 100.0 }}\n')
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--free-at", type=float, default=20.0)
    parser.add_argument("--size-mb", type=float, default=12.0)
    parser.add_argument("--ballast-mb", type=float, default=10.5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="diskfull-"))
    mnt = work / "fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(args.size_mb * 1024)}k", "tmpfs",
                    str(mnt)], check=True)
    try:
        ballast = mnt / "ballast"
        ballast.write_bytes(b"\0" * int(args.ballast_mb * 1e6))
        project = work / "p.toml"
        project.write_text(project_text(args.tags), encoding="utf-8")
        log = work / "run.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "hmi.cli", "run", str(project),
                                     "--headless", "--for", str(args.seconds), "--data",
                                     str(mnt / "data"), "--status-every", "5"],
                                    stdout=out, stderr=subprocess.STDOUT)
            started = time.monotonic()
            freed = False
            while proc.poll() is None:
                if not freed and time.monotonic() - started >= args.free_at:
                    ballast.unlink()
                    freed = True
                    print(f"[{time.monotonic() - started:5.1f} s] ballast deleted: space returns")
                time.sleep(0.2)
        text = log.read_text()
        lines = text.splitlines()
        print(f"exit code {proc.returncode}; {len(lines)} output lines, "
              f"{text.count('Traceback')} tracebacks")
        for line in lines:
            if "Traceback" in line or line.startswith(("  File", "    ")):
                continue
            print("  |", line[:700])
        db = mnt / "data" / "history.db"
        if db.exists():
            conn = sqlite3.connect(db)
            rows = conn.execute("SELECT count(*) FROM samples WHERE value IS NOT NULL"
                                ).fetchone()[0]
            gaps = conn.execute("SELECT t0, t1, reason FROM gaps").fetchall()
            polls = conn.execute("SELECT (max(t) - min(t)) FROM samples").fetchone()[0]
            conn.close()
            expected = (polls or 0) / 100 * args.tags
            print(f"history: {rows} value rows stored; about {expected:.0f} samples polled "
                  f"over {polls / 1000 if polls else 0:.1f} s; gaps: {gaps}")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
