"""The Anaconda token file, ``~/.anaconda/keyring``, read and written safely (`TokenFile`).

The file is the one anaconda-cloud-auth wrote, ``{"<service>": {"<username>": "<value>"}}``
as JSON, so an existing login keeps working. The SDK's default store uses `TokenFile`
directly, which imports nothing from `keyring`; `keyring_backend.AnacondaKeyring` is the same
class as a `keyring` backend, for code that wants keyring's API. Unlike the original it

- creates the missing directories 0700 (and changes the mode of no directory it did not
  create) and the file 0600 (and keeps it so after every write);
- refuses, as ssh does, a file owned by another user or writable by others, and a
  directory owned by another user or writable by everyone (without the sticky bit): the
  checks themselves are `file_trust`;
- removes, under the lock, temp files of writes that a crash left behind;
- writes a temp file in the same directory, fsyncs it and ``os.replace``-s it, so a reader
  never sees half a file;
- holds a cross-process lock (``keyring.lock`` beside the file) around every
  read-modify-write, so concurrent logins do not lose each other's entries;
- never treats a file it cannot parse as empty: reading raises `CorruptTokenFileError`,
  and the next write first keeps the damaged bytes in ``keyring.corrupt-<UTC time>``.

A keyring path that is a symbolic link (a dotfile manager's) is followed, as the original's
``open(path, "w")`` did, and resolved again at every operation: everything above applies
to the file it leads to (its lock, temp files and copies kept aside sit beside that file,
so writers reaching it by the link and by its own path share one lock), ``os.replace``
replaces that file and leaves the link a link, and a missing target is created. Each link
on the way must be owned by the user (or root) and sit in a directory that passes the
directory check, since whoever can change a link chooses where keys are written. A link
that loops or leads to a directory is a `StorageError`. A symbolic link higher up (a
linked ``~/.anaconda``) is followed by the system; the checks apply to the directory it
leads to, as to any directory.

Reads take no lock and are cached per file version (inode, size, mtime), so a repeated
read costs one ``os.lstat`` (for a version younger than two seconds, a rewrite could hide
behind the same inode, size and mtime, so its bytes are compared too).

Over 400 lines on purpose: the file format, the links, the lock, the atomic write and the
corrupt-file handling are one hardened unit; split, each part would need the others'
invariants. Only the trust checks, which need none of them, live apart (`file_trust`).
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..foundation.file_trust import check_directory, check_file, check_link, check_lock_file

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ..foundation.errors import CorruptTokenFileError, StorageError

__all__ = ["Deadline", "TokenFile"]

logger = logging.getLogger(__name__)

Data = dict[str, dict[str, object]]
_StatKey = tuple[int, int, int]

_READ_RETRIES = 3
# Symbolic links followed from the keyring path before it counts as a loop (Linux's limit).
_MAX_LINKS = 40
# A file version is trusted on its (inode, size, mtime) alone once its mtime is older than
# this: within the timestamp granularity of the file system (up to 2 s on FAT) a rewrite
# could reuse all three (git's "racily clean" problem), so a younger version is re-read and
# compared byte for byte (still skipping the parse when unchanged).
_SETTLE_NS = 2_000_000_000


class _Version(NamedTuple):
    key: _StatKey
    raw: bytes
    data: Data  # shared by every reader, so never mutated
    settled: bool


# path -> the last version read
_cache: dict[str, _Version] = {}


def _errors() -> tuple[type[CorruptTokenFileError], type[StorageError]]:
    """The exception classes, imported on first use: their module imports httpx, which a
    program that only uses `keyring` (and so loads this backend) should not pay for."""
    from ..foundation.errors import CorruptTokenFileError, StorageError  # see the docstring

    return CorruptTokenFileError, StorageError


class Deadline:
    """The one time limit of a storage call, shared with the waits inside it.

    A bounded storage call (``TokenStore.aload``, ``load_within``, ...) runs its work on a
    worker thread inside `Deadline.applied`; the lock wait there ends at the same instant
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


class TokenFile:
    """One JSON file of entries, ``{"<service>": {"<username>": "<value>"}}``, kept safe.

    Everything in the module docstring; `get_password` and `set_password` have keyring's
    meaning, `delete` says whether there was an entry. `anaconda_auth_async._keyring`'s
    `AnacondaKeyring` is this class as a `keyring` backend.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        self._path = Path(path).expanduser()
        self._file = os.fspath(self._path)
        self.lock_timeout = lock_timeout
        self._locks: dict[str, BaseFileLock] = {}  # by lock file: a link may be repointed
        self._lock_guard = threading.Lock()

    @property
    def path(self) -> Path:
        """The keyring file."""
        return self._path

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self._file!r})"

    # entries

    def get_password(self, service: str, username: str) -> str | None:
        """The value stored for `username` under `service`, or None."""
        value = self.read().get(service, {}).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store `password`, keeping every other entry of the file."""

        def change(data: Data) -> bool:
            data.setdefault(service, {})[username] = password
            return True

        self.modify(change)

    def delete(self, service: str, username: str) -> bool:
        """Remove the entry; False when there was none.

        Without a file there is nothing to delete: no directory is created and no lock
        taken, so a logout works where nothing could be written. A file that cannot be
        parsed raises `CorruptTokenFileError` and is left exactly as it is: the entry
        cannot be found in it, and replacing it would lose every other entry.
        """
        if not os.path.lexists(self._file) or self._locate("read")[1] is None:
            return False

        def change(data: Data) -> bool:
            entries = data.get(service)
            if entries is None or username not in entries:
                return False
            del entries[username]  # an emptied service stays, as anaconda-cloud-auth left it
            return True

        return self.modify(change, repair=False)

    # where the file is

    def _locate(self, action: str) -> tuple[Path, os.stat_result | None]:
        """The file to act on now and its `os.stat` (None when it does not exist).

        The keyring path itself, or, when it is a symbolic link, the file the link leads to
        (resolved at every call, so a link pointed elsewhere is followed). Raises
        `StorageError` for a link that loops, a directory, or a link others could change.
        """
        try:
            st = os.lstat(self._file)  # the one system call of a cached read
        except FileNotFoundError:
            return self._path, None
        except OSError as exc:
            raise self._os_error(action, exc) from exc
        target = self._path
        if stat.S_ISLNK(st.st_mode):
            target = self._follow()
            try:
                st = os.stat(target)
            except FileNotFoundError:
                return target, None  # created through the link, as open(path, "w") would
            except OSError as exc:
                raise self._os_error(action, exc) from exc
        if stat.S_ISDIR(st.st_mode):
            raise self._directory_error(target)
        return target, st

    def _follow(self) -> Path:
        """Where the symbolic link at the keyring path leads, every link on the way checked.

        A link decides where keys are written, so each one, and the directory holding it,
        must be one that only the user (or root) could have changed.
        """
        current = self._file
        try:
            for _ in range(_MAX_LINKS):
                st = os.lstat(current)
                if not stat.S_ISLNK(st.st_mode):
                    break
                check_link(current, st)
                current = os.path.join(os.path.dirname(current), os.readlink(current))
            else:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        except FileNotFoundError:
            pass  # a dangling link: realpath still tells where it leads
        except OSError as exc:
            raise self._os_error("read", exc) from exc
        return Path(os.path.realpath(current))

    # reading

    def read(self) -> Data:
        """The parsed file ({} when it does not exist); treat the result as read-only.

        Raises `CorruptTokenFileError` when the file cannot be parsed and `StorageError`
        when it cannot be read.
        """
        return self._read(*self._locate("read"))

    def _read(self, target: Path, st: os.stat_result | None) -> Data:
        if st is None:
            return {}
        file = os.fspath(target)
        check_file(file, st)
        hit = _cache.get(file)
        if hit is not None and hit.settled and hit.key == (st.st_ino, st.st_size, st.st_mtime_ns):
            return hit.data
        check_directory(target.parent)
        return self._read_fresh(target, hit)

    def _stat(self, target: Path) -> os.stat_result | None:
        """`target`'s `os.stat`, None when it is missing."""
        try:
            return os.stat(target)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._os_error("read", exc, target) from exc

    def _read_fresh(self, target: Path, hit: _Version | None) -> Data:
        file = os.fspath(target)
        for attempt in range(_READ_RETRIES):
            try:
                with open(file, "rb") as fp:
                    st = os.fstat(fp.fileno())
                    check_file(file, st)  # the file opened, not the one stat-ed
                    raw = fp.read()
            except FileNotFoundError:
                return {}
            except OSError as exc:
                raise self._os_error("read", exc, target) from exc
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            settled = time.time_ns() - st.st_mtime_ns > _SETTLE_NS
            if hit is not None and hit.raw == raw:
                _cache[file] = hit._replace(key=key, settled=settled)
                return hit.data
            try:
                data = _parse(raw)
            except ValueError as exc:
                # A writer that rewrites in place (anaconda-cloud-auth) may be mid-write:
                # only a file that stays the same while it fails to parse is corrupt.
                if attempt + 1 < _READ_RETRIES and _changed_since(file, key):
                    continue
                raise self._corrupt(target, str(exc)) from None
            _cache[file] = _Version(key, raw, data, settled)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    # writing

    def modify(self, change: Callable[[Data], bool], *, repair: bool = True) -> bool:
        """Apply `change` to a fresh copy of the file under the lock; write if it says so.

        The read, `change` and the write are one step for every writer of this package (and
        every process): no update made meanwhile is lost. A file that cannot be parsed is
        set aside and started afresh (`repair`; `change` then gets ``{}``), or its
        `CorruptTokenFileError` raised with nothing changed.
        """
        target = self._locate("write")[0]
        self._ensure_dir(target)
        with self._locked(target):
            self._remove_stale_temp_files(target)
            fresh = False
            try:
                current = self._read(target, self._stat(target))
                data = {service: dict(entries) for service, entries in current.items()}
            except _errors()[0]:
                if not repair:
                    raise
                self._set_aside(target)
                data, fresh = {}, True
            changed = change(data)
            if changed or fresh:
                self._write(target, data)
            return changed

    def check_writable(self) -> None:
        """Raise `StorageError` unless a key could be written now (before a login starts).

        Creates the missing directories (as a write would), then checks that the directory
        is writable and that the lock can be taken, so a read-only home fails in a second,
        not after the person has logged in.
        """
        target = self._locate("write")[0]
        self._ensure_dir(target)
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise self._os_error(
                "write", PermissionError(errno.EACCES, "its directory is not writable"), target
            )
        with self._locked(target):
            pass

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
            raise _errors()[1](
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

    # leftovers

    def leftovers(self) -> list[Path]:
        """Files beside the keyring file that may hold keys but are not it, sorted.

        The copies of a damaged file kept aside (``<name>.corrupt-<time>``) and the temp
        files of writes that never finished (``.<name>.<random>.tmp``, left by a crash or a
        kill between writing and renaming). Only regular files are listed. For a keyring
        path that is a symbolic link, they are looked for beside the file it leads to.
        """
        return self._leftovers(self._beside())

    def _beside(self) -> Path:
        """The file whose leftovers to look for: without one, the keyring path as it is (no
        error for a missing or impossible directory: there is nothing to clean there)."""
        if not os.path.lexists(self._file):
            return self._path
        return self._locate("list the directory of")[0]

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

    def remove_leftovers(self) -> list[Path]:
        """Remove the `leftovers` and return them.

        Runs under the write lock, so no write of this package is in progress: every temp
        file found then is one that will never be renamed into place.
        """
        target = self._beside()
        if not target.parent.is_dir() or not self._leftovers(target):
            return []  # nothing to remove: no lock, so this works where nothing can be written
        removed: list[Path] = []
        with self._locked(target):
            for path in self._leftovers(target):
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise _errors()[1](
                        f"Could not remove {path}, which may hold API keys: "
                        f"{exc.strerror or type(exc).__name__}; remove it by hand."
                    ) from exc
                removed.append(path)
        if removed:
            logger.info("Removed %s", ", ".join(map(str, removed)))
        return removed

    def remove_damaged(self) -> Path | None:
        """Delete the file if it cannot be parsed (with every key it may hold); its path.

        For ``logout --all``: a damaged file is removed, not set aside (through a symbolic
        link, the file it leads to: the link stays). None when the file is missing or sound.
        """
        if not os.path.lexists(self._file):
            return None
        target = self._locate("remove")[0]
        with self._locked(target):
            try:
                self._read(target, self._stat(target))
            except _errors()[0]:
                try:
                    os.unlink(target)
                except FileNotFoundError:
                    return None
                except OSError as exc:
                    raise self._os_error("remove", exc, target) from exc
                logger.info("Removed the damaged token file %s", target)
                return target
        return None

    def keep_copy(self) -> None:
        """Copy the file as it is to ``<name>.corrupt-<UTC time>`` (0600), as `_set_aside`.

        For an entry that is damaged in a file that parses: the copy keeps its bytes before
        a login replaces it. `logout` removes such copies with the other leftovers.
        """
        target = self._locate("read")[0]
        aside = self._copy_aside(target)
        if aside is not None:
            logger.warning(
                "A damaged entry in %s is being replaced; the file as it was is kept in %s",
                target,
                aside,
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

    # errors

    def _corrupt(self, target: Path, reason: str) -> CorruptTokenFileError:
        return _errors()[0](
            f"The token file {target} could not be parsed ({reason}); log in again with "
            "'anaconda-auth login' to write a new one (the damaged file is kept aside as "
            f"{target.name}.corrupt-<time>), or restore it from a backup.",
            path=os.fspath(target),
            reason=reason,
        )

    def _directory_error(self, target: Path) -> StorageError:
        example = target / self._path.name
        if target == self._path:
            return _errors()[1](
                f"The token file {self._file} is a directory; move it away, or set "
                f"ANACONDA_AUTH_KEYRING_PATH to a file, such as {example}."
            )
        return _errors()[1](
            f"The token file {self._file} is a symbolic link to the directory {target}; point "
            f"the link (or ANACONDA_AUTH_KEYRING_PATH) at a file, such as {example}."
        )

    def _os_error(self, action: str, exc: OSError, target: Path | None = None) -> StorageError:
        """`exc` as a `StorageError` about `target` (the keyring path unless it is a link)."""
        target = self._path if target is None else target
        if exc.errno == errno.ELOOP:
            return _errors()[1](
                f"Could not {action} the token file {self._file}: a symbolic link on the way "
                "loops back on itself; point the link at a file, or remove it."
            )
        blocking = _file_in_the_way(target)
        if blocking is not None:
            return _errors()[1](
                f"Could not {action} the token file {target}: {blocking} is a file, not "
                "a directory; move it away, or set ANACONDA_AUTH_KEYRING_PATH to a file in "
                "a directory."
            )
        reason = exc.strerror or type(exc).__name__
        return _errors()[1](
            f"Could not {action} the token file {target}: {reason}; check the "
            "permissions of the file and its directory, and that the disk is not full."
        )


def _changed_since(file: str, key: _StatKey) -> bool:
    try:
        st = os.stat(file)
    except OSError:
        return True
    return (st.st_ino, st.st_size, st.st_mtime_ns) != key


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


def _parse(raw: bytes) -> Data:
    """Parse the file; raises ValueError (without echoing content) when it is malformed."""
    if not raw.strip():
        return {}  # anaconda-cloud-auth's `viable` check creates an empty file
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = _json_reason(exc) if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ValueError(f"not valid JSON: {reason}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError("not a JSON object of services")
    return data


def _json_reason(exc: json.JSONDecodeError) -> str:
    """json's message with its position ("unterminated string at line 1, column 42"): a
    place in the file, never its content (json's own message ends "... starting at")."""
    what = exc.msg.removesuffix(" starting at").removesuffix(" at")
    return f"{what[:1].lower()}{what[1:]} at line {exc.lineno}, column {exc.colno}"


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
