"""The Anaconda token file, ``~/.anaconda/keyring``, read and written safely (`TokenFile`).

The file is the one anaconda-cloud-auth wrote, ``{"<service>": {"<username>": "<value>"}}``
as JSON, so an existing login keeps working. The SDK's default store uses `TokenFile`
directly, which imports nothing from `keyring`; `keyring_backend.AnacondaKeyring` is the same
class as a `keyring` backend. This module owns where the file is (a symbolic link is
followed, each link checked), reading it (trust checks from `file_trust`, no lock, cached
per file version; a file it cannot parse is `CorruptTokenFileError`, never empty) and the
public operations; the writes (lock, atomic replace, copies aside) are `token_file_writes`.
Why each rule: docs/decisions.md, "The keyring file is written whole, under a lock" and
"The keyring file follows a symbolic link".
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..foundation.file_trust import check_directory, check_file, check_link
from .token_file_writes import Data, FileWrites, errors

__all__ = ["TokenFile"]

logger = logging.getLogger(__name__)

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


class TokenFile(FileWrites):
    """One JSON file of entries, ``{"<service>": {"<username>": "<value>"}}``, kept safe.

    Everything in the module docstrings (this one's and `token_file_writes`'):
    `get_password` and `set_password` have keyring's meaning, `delete` says whether there
    was an entry. `anaconda_auth_async._keyring`'s `AnacondaKeyring` is this class as a
    `keyring` backend.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        self._path = Path(path).expanduser()
        self._file = os.fspath(self._path)
        self.lock_timeout = lock_timeout
        self._locks = {}
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
            except errors()[0]:
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
                    raise errors()[1](
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
            except errors()[0]:
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


def _changed_since(file: str, key: _StatKey) -> bool:
    try:
        st = os.stat(file)
    except OSError:
        return True
    return (st.st_ino, st.st_size, st.st_mtime_ns) != key


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
