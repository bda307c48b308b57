"""The write side of the token file (`FileWrites`, which `token_file.TokenFile` extends).

Every write holds the cross-process lock (``keyring.lock`` beside the file, waited for no
longer than the caller's `Deadline`), creates the missing directories 0700, writes a temp
file in the same directory (0600), fsyncs it and ``os.replace``-s it onto the file, so a
reader never sees half a file. A temp file found under the lock was left by a crash and is
removed; a damaged file is copied aside (``<name>.corrupt-<UTC time>``) before it is
replaced. Why: docs/decisions.md, "The keyring file is written whole, under a lock".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..foundation.file_trust import check_directory, check_lock_file

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ..foundation.errors import CorruptTokenFileError, StorageError

__all__ = ["Data", "Deadline", "FileWrites", "errors"]

logger = logging.getLogger(__name__)

Data = dict[str, dict[str, object]]
"""The file's content: ``{"<service>": {"<username>": "<value>"}}``."""


def errors() -> tuple[type[CorruptTokenFileError], type[StorageError]]:
    """The exception classes, imported on first use: their module imports httpx, which a
    program that only uses `keyring` (and so loads this backend) should not pay for."""
    from ..foundation.errors import CorruptTokenFileError, StorageError  # see the docstring

    return CorruptTokenFileError, StorageError


class Deadline:
    """The one time limit of a storage call, shared with the waits inside it.

    A bounded storage call (``TokenStore.aload``, ``load_within``, ...) runs its work on a
    daemon thread inside `Deadline.applied`; the lock wait there ends at the same instant
    as the caller's wait, so the caller gets the precise "another process held the lock"
    error instead of a second, vaguer time-out. `waiting` tells the caller that the worker
    is in such a bounded wait, or has just given up on it and is reporting why.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.limit = seconds
        self.at = time.monotonic() + seconds
        self.waiting = False

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Within the block, on this thread, every wait of a `TokenFile` ends by `at`."""
        previous = getattr(Deadline._current, "deadline", None)
        Deadline._current.deadline = self
        try:
            yield
        finally:
            Deadline._current.deadline = previous

    @staticmethod
    def current() -> Deadline | None:
        """The deadline applied on this thread, if any."""
        return getattr(Deadline._current, "deadline", None)


def _utc_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class FileWrites:
    """Writing the file at a resolved `target` (the keyring path, or the file its link
    leads to): the lock, the directories, the atomic write, leftovers and copies aside, and
    the errors every file operation raises."""

    _path: Path  # the keyring path, as configured
    _file: str  # the same, as a string
    lock_timeout: float
    _locks: dict[str, BaseFileLock]  # by lock file: a link may be repointed
    _lock_guard: threading.Lock

    def _ensure_dir(self, target: Path) -> None:
        """Create the missing directories, each 0700; change the mode of no other one.

        A directory that already exists (``$HOME`` for ``ANACONDA_AUTH_KEYRING_PATH=
        $HOME/x``) keeps its mode; it only has to pass `check_directory`. The missing ones
        are looked for along the resolved path, so a symbolic link to a directory that does
        not exist yet is created through, as the file is.
        """
        directory = target.parent
        missing = []
        probe = Path(os.path.realpath(directory))
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        try:
            for created in reversed(missing):
                try:
                    created.mkdir(mode=0o700)
                except FileExistsError:
                    continue  # another process made it meanwhile: not ours to change
                os.chmod(created, 0o700)  # whatever the umask
        except OSError as exc:
            raise self._os_error("create the directory of", exc, target) from exc
        check_directory(directory)

    def _remove_stale_temp_files(self, target: Path) -> None:
        """Remove temp files of writes that never finished; call under the lock.

        Every write of this package holds the lock from creating its temp file to renaming
        it, so a temp file found while holding it was left by a crash, and may hold keys.
        """
        for path in self._leftovers(target):
            if path.name.startswith(f".{target.name}.") and path.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    logger.info("Removed %s, left by a write that never finished", path)

    @contextlib.contextmanager
    def _locked(self, target: Path) -> Iterator[None]:
        """Hold the lock beside `target`: every path that leads to one file takes one lock."""
        from filelock import FileLock, Timeout  # only a writer needs the lock

        lock_file = os.fspath(target.with_name(target.name + ".lock"))
        check_lock_file(lock_file)  # another user's lock: said up front, not waited on
        with self._lock_guard:
            lock = self._locks.get(lock_file)
            if lock is None:
                lock = FileLock(lock_file, timeout=self.lock_timeout, mode=0o600)
                self._locks[lock_file] = lock
        deadline = Deadline.current()
        timeout, limit = self.lock_timeout, self.lock_timeout
        if deadline is not None:  # one time limit: the caller's, shared with this wait
            timeout, limit = min(timeout, deadline.remaining()), deadline.limit
            deadline.waiting = True
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            # `waiting` stays set: the caller's wait gives this error time to arrive
            raise errors()[1](
                f"Another process held the lock {lock.lock_file} for more than "
                f"{limit:g} seconds; try again when it has finished."
            ) from None
        except OSError as exc:
            raise self._os_error("lock", exc, target) from exc
        if deadline is not None:
            deadline.waiting = False
        try:
            yield
        finally:
            lock.release()

    def _write(self, target: Path, data: Data) -> None:
        directory = target.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as exc:
            raise self._os_error("write", exc, target) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fp:
                _private(fp.fileno(), tmp)
                json.dump(data, fp)  # anaconda-cloud-auth's format: default separators
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, target)  # onto the link's target: the link stays a link
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise self._os_error("write", exc, target) from exc
            raise
        _fsync_dir(directory)

    def _leftovers(self, target: Path) -> list[Path]:
        name = target.name
        try:
            entries = list(os.scandir(target.parent))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._os_error("list the directory of", exc, target) from exc
        return sorted(
            Path(entry.path)
            for entry in entries
            if entry.is_file(follow_symlinks=False)
            and (
                entry.name.startswith(f"{name}.corrupt-")
                or (entry.name.startswith(f".{name}.") and entry.name.endswith(".tmp"))
            )
        )

    def _set_aside(self, target: Path) -> None:
        """Copy a file that cannot be parsed to ``<name>.corrupt-<UTC time>`` (0600).

        A copy, not a move: until the fresh file replaces it, readers keep seeing the
        damaged file (and its clear error) rather than no file at all.
        """
        aside = self._copy_aside(target)
        if aside is not None:
            logger.warning(
                "The token file %s could not be parsed; its bytes were kept in %s and a new "
                "file was written (other sites' keys it held can be restored from that copy).",
                target,
                aside,
            )

    def _copy_aside(self, target: Path) -> str | None:
        """Copy the file to a new ``<name>.corrupt-<UTC time>`` beside it (0600); its path."""
        try:
            with open(target, "rb") as fp:
                damaged = fp.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._os_error("read", exc, target) from exc
        base = f"{target}.corrupt-{_utc_stamp()}"
        aside, n = base, 0
        while True:
            try:
                fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                n += 1
                aside = f"{base}-{n}"
            except OSError as exc:
                raise self._os_error("keep aside a copy of", exc, target) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(damaged)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise self._os_error("keep aside a copy of", exc, target) from exc
        return aside

    def _corrupt(self, target: Path, reason: str) -> CorruptTokenFileError:
        return errors()[0](
            f"The token file {target} could not be parsed ({reason}); log in again with "
            "'anaconda-auth login' to write a new one (the damaged file is kept aside as "
            f"{target.name}.corrupt-<time>), or restore it from a backup.",
            path=os.fspath(target),
            reason=reason,
        )

    def _directory_error(self, target: Path) -> StorageError:
        example = target / self._path.name
        if target == self._path:
            return errors()[1](
                f"The token file {self._file} is a directory; move it away, or set "
                f"ANACONDA_AUTH_KEYRING_PATH to a file, such as {example}."
            )
        return errors()[1](
            f"The token file {self._file} is a symbolic link to the directory {target}; point "
            f"the link (or ANACONDA_AUTH_KEYRING_PATH) at a file, such as {example}."
        )

    def _os_error(self, action: str, exc: OSError, target: Path | None = None) -> StorageError:
        """`exc` as a `StorageError` about `target` (the keyring path unless it is a link)."""
        target = self._path if target is None else target
        if exc.errno == errno.ELOOP:
            return errors()[1](
                f"Could not {action} the token file {self._file}: a symbolic link on the way "
                "loops back on itself; point the link at a file, or remove it."
            )
        blocking = _file_in_the_way(target)
        if blocking is not None:
            return errors()[1](
                f"Could not {action} the token file {target}: {blocking} is a file, not "
                "a directory; move it away, or set ANACONDA_AUTH_KEYRING_PATH to a file in "
                "a directory."
            )
        reason = exc.strerror or type(exc).__name__
        return errors()[1](
            f"Could not {action} the token file {target}: {reason}; check the "
            "permissions of the file and its directory, and that the disk is not full."
        )


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is not a directory, else None."""
    for ancestor in path.parents:
        try:
            mode = os.stat(ancestor).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue  # missing, or below the file we are looking for
        except OSError:
            return None  # cannot tell: the caller's own reason stands
        return None if stat.S_ISDIR(mode) else ancestor
    return None


def _private(fd: int | None, path: str) -> None:
    """Make a file owner-only (0600)."""
    if fd is not None and hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
    else:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not possible (nor needed) everywhere."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
