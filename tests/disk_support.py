"""Real disks that refuse writes, for the tests of start-up and readiness: a tiny tmpfs that
fills up, and a folder nobody may write (a read-only mount for root, whom permissions do not
stop; permissions otherwise). No mock: SQLite and the server meet the kernel's own errors."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> str | None:
    """Run mount/umount; the reason it failed, or None."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


@contextmanager
def tiny_disk(path: Path, size_kb: int = 256, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of `size_kb` mounted at `path` (skipped where this process may not mount)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if read_only else "")
    problem = _mount("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)) \
        if os.geteuid() == 0 else "not root"
    if problem:
        pytest.skip(f"cannot mount a tmpfs here ({problem}); run as root to test a full disk")
    try:
        yield path
    finally:
        _mount("umount", "-l", str(path))


def fill(folder: Path) -> Path:
    """Write a file until the disk is full (ENOSPC); returns it (delete it to free the disk)."""
    filler = folder / "filler"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


@contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """A folder no file can be created in: a read-only tmpfs for root, mode 555 otherwise."""
    if os.geteuid() == 0:
        with tiny_disk(path, read_only=True) as folder:
            yield folder
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)
