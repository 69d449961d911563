"""Opening the files a user names for reading: regular files only, read with a bound.

A key, config, state or replay path that is a FIFO would block the open (or
the read) forever, and ``/dev/zero`` would be read until memory runs out
(issue 11). :func:`open_regular` opens without blocking and refuses anything
but a regular file; :func:`read_regular` also caps how much is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from fillwatch.core.errors import ConfigError

__all__ = ["SMALL_FILE", "open_regular", "read_regular"]

SMALL_FILE = 1 << 20
"""The most that is read from a key or config file (1 MB): real ones are a few kilobytes."""

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def open_regular(path: Path, what: str) -> BinaryIO:
    """`path` opened for binary reading, if it is a regular file.

    Opening does not wait for a FIFO's writer (``O_NONBLOCK``); the check is
    made on the opened file itself, so nothing can be swapped in between.

    Raises:
        ConfigError: `path` is not a regular file (`what` names it: "private key file").
        OSError: as ``open`` (FileNotFoundError, PermissionError, …).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise ConfigError(f"{what} {path} is {kind}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, what: str, *, limit: int = SMALL_FILE) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at `path` (at most `limit`), and its status.

    Raises:
        ConfigError: not a regular file, or larger than `limit`.
        OSError: as ``open`` and ``read``.
    """
    with open_regular(path, what) as file:
        status = os.fstat(file.fileno())
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{what} {path} is larger than {limit / (1 << 20):g} MB")
    return data, status
