from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "last_line", "write_all"]

_CHUNK = 64 * 1024


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def last_line(fd: int, size: int) -> tuple[int, bytes] | None:
    """Return (offset, bytes) of the last line in the first ``size`` bytes, reading backwards.

    The returned bytes include the trailing newline if there is one; ``None`` for an empty file.
    """
    if size == 0:
        return None
    end = size
    # Skip the final newline so the search finds the one before the last line.
    search_end = size - 1 if os.pread(fd, 1, size - 1) == b"\n" else size
    pos = search_end
    while pos > 0:
        start = max(0, pos - _CHUNK)
        chunk = os.pread(fd, pos - start, start)
        idx = chunk.rfind(b"\n")
        if idx != -1:
            line_start = start + idx + 1
            return line_start, os.pread(fd, end - line_start, line_start)
        pos = start
    return 0, os.pread(fd, end, 0)
