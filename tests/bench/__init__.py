"""What `make bench` runs; each module starts its own servers in a folder and environment of its own."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A folder for one measurement's businesses, stores and logs, and the environment as it was afterwards
    (the measurement points Grace at them through environment variables); the folder is removed."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    saved = dict(os.environ)
    try:
        yield root
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def process_seconds(pids: list[int]) -> float:
    """CPU time these processes (all their threads) used so far."""
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(stat[11]) + int(stat[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")
