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
