"""A real small file system (tmpfs, mounted as root) that a test can fill up and free again.

A full disk is not mocked: SQLite then fails the way it fails on a kiosk whose disk is full,
down to opening the database at all.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SmallDisk:
    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler"

    def fill(self) -> None:
        """Write zeros until the file system says there is no space left.

        Call it again before each request that must meet a full disk: SQLite deletes its
        write-ahead log when a connection closes, and that frees a few pages again.
        Unbuffered, and in ever smaller pieces down to one byte, so that the disk is full to
        the last byte whatever its free space was, and closing the file has nothing left to
        write (a buffered file would fail again at close).
        """
        with open(self.filler, "ab", buffering=0) as file:
            for piece in (65536, 4096, 1):
                try:
                    while True:
                        file.write(b"\0" * piece)
                except OSError as error:
                    assert error.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextmanager
def small_disk(folder: Path, size: str = "8m") -> Iterator[SmallDisk]:
    """Mount a tmpfs of `size` on `folder` for the block, unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
