"""Writes that a reader never sees half done: a temporary name first, then one rename."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.urandom(16).hex()}.tmp")


def _publish(path: str | Path, data: bytes, fsync: bool, move) -> Path:
    """Write ``data`` under a temporary name beside ``path``, then ``move(tmp, path)`` it into place."""
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        move(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory, replacing any old file."""
    return _publish(path, data, fsync, os.replace)


def atomic_write_text(path: str | Path, text: str, fsync: bool = False) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def write_new_file(path: str | Path, data: bytes) -> Path:
    """Write ``data`` durably (fsync) under a name that must not exist yet; ``FileExistsError`` if it does.

    The file is complete before its name appears: it is written under a temporary name and
    hard-linked into place, which, unlike a rename, refuses to replace an existing file.
    """
    return _publish(path, data, True, os.link)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Build a directory under a temporary name; on success it replaces ``path`` whole.

    Yields the temporary directory to fill. If the block raises, the temporary directory
    is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)
