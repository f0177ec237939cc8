"""The writer lock of an index folder: ``fcntl.flock`` on ``writer.lock`` (POSIX only).

The lock is exclusive and never waits: a second writer gets :class:`~plait.indexes.base.IndexLockedError`
at once. A process may also *hold* a folder's lock for its lifetime (:func:`hold`, e.g. a server);
its own writes then pass through (:func:`is_held`) while other processes stay refused.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from pathlib import Path

from plait.indexes.base import IndexLockedError

if sys.platform == "win32":  # pragma: no cover - plait's storage needs POSIX file locks
    raise ImportError(
        "plait index folders need POSIX file locks (fcntl.flock); Windows is not supported"
    )

import fcntl  # noqa: E402


def lock_file(lock: Path, folder: Path) -> int:
    """Open ``lock``, take its exclusive flock and return the fd (closing it releases the lock).

    Raises :class:`IndexLockedError` naming ``folder`` when another holder has it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise IndexLockedError(
                f"index {folder} is being written by another process "
                "(writer lock held); retry when it is done"
            ) from None
        raise
    return fd


def is_held(folder: Path) -> bool:
    """Return whether this process holds ``folder``'s lock persistently (:func:`hold`)."""
    return os.path.realpath(folder) in _HELD_LOCKS


def hold(lock: Path, folder: Path) -> None:
    """Take ``folder``'s lock until :func:`release`; a second hold in this process is refused."""
    key = os.path.realpath(folder)
    with _HELD_GUARD:
        if key in _HELD_LOCKS:
            raise IndexLockedError(f"index {folder} is already held for writing by this process")
        _HELD_LOCKS[key] = lock_file(lock, folder)


def release(folder: Path) -> None:
    """Release a lock taken by :func:`hold` (no-op when not held)."""
    with _HELD_GUARD:
        fd = _HELD_LOCKS.pop(os.path.realpath(folder), None)
    if fd is not None:
        os.close(fd)


_HELD_LOCKS: dict[str, int] = {}  # real folder path -> fd of a writer lock held persistently
_HELD_GUARD = threading.Lock()
