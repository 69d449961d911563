"""Files that fillwatch appends lines to, holding whole lines only (CONTRACT §4, §5).

``--output``, ``--record`` and the ``--state`` journal are appended to with
:func:`append`: a burst of lines in as few ``write`` calls as it takes; a
write that fails or falls short (a full disk, a file size limit, a file
removed from under it) is cut back to the length the file had before it, so
that the file never ends in part of a line, and becomes
:class:`~fillwatch.core.errors.WriteFailed` (exit 5). A file left with a torn last
line by a process killed in the middle of a write (``kill -9``) has that
part cut when it is opened again (:func:`cut_torn_tail`).

:func:`read_tail` reads the last lines of such a file back, bounded, for a
restart to know what it printed last; every line of it is hostile input.
"""

from __future__ import annotations

import contextlib
import os
import stat

from fillwatch.core.errors import WriteFailed

__all__ = ["TAIL_BYTES", "append", "cut_torn_tail", "is_regular", "open_append", "read_tail"]

TAIL_BYTES = 8 << 20
"""How much of a file's end :func:`read_tail` and :func:`cut_torn_tail` look at, at most."""


def open_append(path: os.PathLike[str] | str, mode: int) -> tuple[int, int]:
    """Open `path` for appending (created with `mode`) and cut a torn last line off a regular file.

    Opened write-only, as before this module: a FIFO or a device behaves as it always did.

    Returns:
        The descriptor and how many bytes of a torn last line were cut.

    Raises:
        OSError: the file cannot be opened.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        return fd, cut_torn_tail(fd, path)
    except OSError:
        os.close(fd)
        raise


def is_regular(fd: int) -> bool:
    """Whether `fd` is a regular file (one that can be cut back)."""
    return stat.S_ISREG(os.fstat(fd).st_mode)


def cut_torn_tail(fd: int, path: os.PathLike[str] | str) -> int:
    """Cut the regular file `fd` (open for writing at `path`) back to its last newline; the bytes cut.

    Only the last :data:`TAIL_BYTES` are looked at; a file that cannot be read is left as it is.
    """
    if not is_regular(fd):
        return 0
    size = os.fstat(fd).st_size
    if size == 0:
        return 0
    try:
        reader = os.open(path, os.O_RDONLY)
    except OSError:  # writable but not readable: append without looking back
        return 0
    try:
        if os.pread(reader, 1, size - 1) == b"\n":
            return 0
        start = max(0, size - TAIL_BYTES)
        end = os.pread(reader, size - start, start).rfind(b"\n")
    finally:
        os.close(reader)
    if end < 0 and start > 0:
        return 0  # one line longer than the bound: not ours to judge
    keep = start + end + 1
    os.ftruncate(fd, keep)
    return size - keep


def append(fd: int, data: bytes, *, name: str, regular: bool) -> None:
    """Write all of `data` at the end of `fd`, or none of it.

    Args:
        fd: the descriptor (opened with ``O_APPEND`` when a regular file).
        data: whole lines.
        name: what the file is, for the error message.
        regular: whether `fd` is a regular file, cut back after a failed write.

    Raises:
        BrokenPipeError: the reader of a pipe went away (a normal end).
        WriteFailed: the write failed or fell short; a regular file is left as it was.
    """
    before = os.fstat(fd).st_size if regular else 0
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(0, "short write")
            view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        if regular:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, before)
        lost = data.count(b"\n") if regular else bytes(view).count(b"\n")
        lines = f"{lost} line{'' if lost == 1 else 's'} not written"
        raise WriteFailed(f"cannot write to {name}: {exc.strerror or exc} ({lines})") from None


def read_tail(path: os.PathLike[str] | str, limit: int = TAIL_BYTES) -> list[bytes]:
    """The whole lines among the last `limit` bytes of the file at `path` (none if it cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        if not is_regular(fd):
            return []
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        data = os.pread(fd, size - start, start)
    except OSError:
        return []
    finally:
        os.close(fd)
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line
    if start > 0 and lines:
        lines.pop(0)  # begins before the window
    return lines
