"""The Anaconda file keyring: ``~/.anaconda/keyring`` as a hardened `keyring` backend.

The file is the one anaconda-cloud-auth wrote, ``{"<service>": {"<username>": "<value>"}}``
as JSON, so an existing login keeps working. The SDK uses this backend directly; it is
not registered with `keyring` (no entry point) and its priority is below keyring's own
"no backend" placeholder, so installing or importing this package never changes which
keyring other programs store their secrets in, and costs them nothing (see
docs/decisions.md). Unlike the original it

- creates the missing directories 0700 (and changes the mode of no directory it did not
  create) and the file 0600 (and keeps it so after every write);
- refuses, as ssh does, a file owned by another user or writable by others, and a
  directory owned by another user or writable by everyone (without the sticky bit);
- removes, under the lock, temp files of writes that a crash left behind;
- writes a temp file in the same directory, fsyncs it and ``os.replace``-s it, so a reader
  never sees half a file;
- holds a cross-process lock (``keyring.lock`` beside the file) around every
  read-modify-write, so concurrent logins do not lose each other's entries;
- never treats a file it cannot parse as empty: reading raises `CorruptTokenFileError`,
  and the next write first keeps the damaged bytes in ``keyring.corrupt-<UTC time>``.

Reads take no lock and are cached per file version (inode, size, mtime), so a repeated
read costs one ``os.stat`` (for a version younger than two seconds, a rewrite could hide
behind the same inode, size and mtime, so its bytes are compared too).

Over 400 lines on purpose: the file format, the lock, the atomic write and the corrupt-
file handling are one hardened unit; split, each part would need the others' invariants.
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

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ._exceptions import CorruptTokenFileError, StorageError

__all__ = ["AnacondaKeyring", "default_keyring_path"]

logger = logging.getLogger(__name__)

Data = dict[str, dict[str, object]]
_StatKey = tuple[int, int, int]

_READ_RETRIES = 3
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

# The keyring_path setting's default (a test checks it is the settings class's).
_DEFAULT_PATH = "~/.anaconda/keyring"


def default_keyring_path() -> Path:
    """The keyring file the ``keyring_path`` setting names, from wherever settings come from.

    Asks only for that one setting (`setting_source`), so a bad value of another setting
    does not move the file. Where nothing could set any setting (no ``ANACONDA_*``
    variable, no ``.env`` here, no ``~/.anaconda/config.toml``) the answer is the default
    without asking: `keyring` calls this (through `viable`) in every program that uses it,
    and asking means importing pydantic (about 0.2 s).
    """
    if not _settings_may_be_set():
        return Path(_DEFAULT_PATH).expanduser()
    # On use, not at import: keyring imports this module in every program that uses it.
    from ._config import AnacondaAuthSettings, dotenv_allowed, setting_source

    source = setting_source("keyring_path")
    value = source.value
    if source.kind == "dotenv" and "keyring_path" not in dotenv_allowed():
        logger.warning(
            "Ignoring keyring_path from %s: a .env file may not move the key file "
            "(allow it with ANACONDA_AUTH_ALLOW_DOTENV=keyring_path)",
            source.description,
        )
        value = None
    if isinstance(value, str | os.PathLike) and os.fspath(value):
        return Path(value).expanduser()
    field = AnacondaAuthSettings.model_fields["keyring_path"]
    return Path(field.get_default(call_default_factory=True)).expanduser()


def _settings_may_be_set() -> bool:
    """Whether any settings source could hold a value (cheap: no pydantic)."""
    return (
        any(name.upper().startswith("ANACONDA_") for name in os.environ)
        or Path(".env").is_file()
        or Path("~/.anaconda/config.toml").expanduser().is_file()
    )


def _errors() -> tuple[type[CorruptTokenFileError], type[StorageError]]:
    """The exception classes, imported on first use: their module imports httpx, which a
    program that only uses `keyring` (and so loads this backend) should not pay for."""
    from ._exceptions import CorruptTokenFileError, StorageError  # see the docstring

    return CorruptTokenFileError, StorageError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _utc_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class AnacondaKeyring(KeyringBackend):
    """Keyring backend storing every entry in one JSON file, in anaconda-cloud-auth's format.

    Built without arguments (as `keyring` does) it uses `default_keyring_path`.
    """

    # Never chosen by keyring on its own (below its "fail" placeholder, 0, and left out of
    # its chainer): only used where asked for, by the SDK or by PYTHON_KEYRING_BACKEND.
    priority = -1

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, lock_timeout: float = 10.0
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._path = Path(path).expanduser() if path is not None else default_keyring_path()
        self._file = os.fspath(self._path)
        self.lock_timeout = lock_timeout
        self._lock: BaseFileLock | None = None
        self._lock_guard = threading.Lock()

    @properties.classproperty
    def name(cls) -> str:
        """Name shown by ``keyring --list-backends``."""
        return "Anaconda file keyring"

    @properties.classproperty
    def viable(cls) -> bool:
        """True when the default file exists and is writable, or could be created.

        Creates nothing: it only looks at the file or its nearest existing directory.
        Never raises: `keyring` asks every backend outside its own error handling, so a
        broken configuration (``config.toml``, an unknown site) would otherwise break
        `keyring` in every program; the backend is then not viable.
        """
        try:
            path = default_keyring_path()
        except Exception as exc:
            logger.debug("Anaconda file keyring not viable: %s", exc)
            return False
        if path.exists():
            return path.is_file() and os.access(path, os.R_OK | os.W_OK)
        parent = _nearest_existing(path.parent)
        return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)

    @property
    def path(self) -> Path:
        """The keyring file."""
        return self._path

    def __repr__(self) -> str:
        return f"AnacondaKeyring(path={self._file!r})"

    # keyring API

    def get_password(self, service: str, username: str) -> str | None:
        """The value stored for `username` under `service`, or None."""
        value = self.read().get(service, {}).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store `password`, keeping every other entry of the file."""

        def change(data: Data) -> bool:
            data.setdefault(service, {})[username] = password
            return True

        self._modify(change)

    def delete_password(self, service: str, username: str) -> None:
        """Remove the entry; raises `PasswordDeleteError` when there is none.

        Without a file there is nothing to delete: no directory is created and no lock
        taken, so a logout works where nothing could be written. A file that cannot be
        parsed raises `CorruptTokenFileError` and is left exactly as it is: the entry
        cannot be found in it, and replacing it would lose every other entry.
        """
        if not os.path.lexists(self._file):
            raise PasswordDeleteError(f"no entry for {username!r} in {service!r}")

        def change(data: Data) -> bool:
            entries = data.get(service)
            if entries is None or username not in entries:
                return False
            del entries[username]  # an emptied service stays, as anaconda-cloud-auth left it
            return True

        if not self._modify(change, repair=False):
            raise PasswordDeleteError(f"no entry for {username!r} in {service!r}")

    # reading

    def read(self) -> Data:
        """The parsed file ({} when it does not exist); treat the result as read-only.

        Raises `CorruptTokenFileError` when the file cannot be parsed and `StorageError`
        when it cannot be read.
        """
        try:
            st = os.stat(self._file)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._os_error("read", exc) from exc
        _check_file(self._file, st)
        hit = _cache.get(self._file)
        if hit is not None and hit.settled and hit.key == (st.st_ino, st.st_size, st.st_mtime_ns):
            return hit.data
        _check_directory(self._path.parent)
        return self._read_fresh(hit)

    def _read_fresh(self, hit: _Version | None) -> Data:
        for attempt in range(_READ_RETRIES):
            try:
                with open(self._file, "rb") as fp:
                    st = os.fstat(fp.fileno())
                    _check_file(self._file, st)  # the file opened, not the one stat-ed
                    raw = fp.read()
            except FileNotFoundError:
                return {}
            except OSError as exc:
                raise self._os_error("read", exc) from exc
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            settled = time.time_ns() - st.st_mtime_ns > _SETTLE_NS
            if hit is not None and hit.raw == raw:
                _cache[self._file] = hit._replace(key=key, settled=settled)
                return hit.data
            try:
                data = _parse(raw)
            except ValueError as exc:
                # A writer that rewrites in place (anaconda-cloud-auth) may be mid-write:
                # only a file that stays the same while it fails to parse is corrupt.
                if attempt + 1 < _READ_RETRIES and self._changed_since(key):
                    continue
                raise self._corrupt(str(exc)) from None
            _cache[self._file] = _Version(key, raw, data, settled)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def _changed_since(self, key: _StatKey) -> bool:
        try:
            st = os.stat(self._file)
        except OSError:
            return True
        return (st.st_ino, st.st_size, st.st_mtime_ns) != key

    # writing

    def _modify(self, change: Callable[[Data], bool], *, repair: bool = True) -> bool:
        """Apply `change` to a fresh copy of the file under the lock; write if it says so.

        A file that cannot be parsed is set aside and started afresh (`repair`), or its
        `CorruptTokenFileError` raised with nothing changed.
        """
        self._ensure_dir()
        with self._locked():
            self._remove_stale_temp_files()
            fresh = False
            try:
                data = {service: dict(entries) for service, entries in self.read().items()}
            except _errors()[0]:
                if not repair:
                    raise
                self._set_aside()
                data, fresh = {}, True
            changed = change(data)
            if changed or fresh:
                self._write(data)
            return changed

    def check_writable(self) -> None:
        """Raise `StorageError` unless a key could be written now (before a login starts).

        Creates the missing directories (as a write would), then checks that the directory
        is writable and that the lock can be taken, so a read-only home fails in a second,
        not after the person has logged in.
        """
        self._ensure_dir()
        directory = self._path.parent
        if not os.access(directory, os.W_OK | os.X_OK):
            raise self._os_error(
                "write", PermissionError(errno.EACCES, "its directory is not writable")
            )
        with self._locked():
            pass

    def _ensure_dir(self) -> None:
        """Create the missing directories, each 0700; change the mode of no other one.

        A directory that already exists (``$HOME`` for ``ANACONDA_AUTH_KEYRING_PATH=
        $HOME/x``) keeps its mode; it only has to pass `_check_directory`.
        """
        directory = self._path.parent
        missing = []
        probe = directory
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
            raise self._os_error("create the directory of", exc) from exc
        _check_directory(directory)

    def _remove_stale_temp_files(self) -> None:
        """Remove temp files of writes that never finished; call under the lock.

        Every write of this package holds the lock from creating its temp file to renaming
        it, so a temp file found while holding it was left by a crash, and may hold keys.
        """
        name = self._path.name
        for path in self.leftovers():
            if path.name.startswith(f".{name}.") and path.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    logger.info("Removed %s, left by a write that never finished", path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout  # only a writer needs the lock

        with self._lock_guard:
            if self._lock is None:
                lock_file = self._path.with_name(self._path.name + ".lock")
                self._lock = FileLock(lock_file, timeout=self.lock_timeout, mode=0o600)
            lock = self._lock
        try:
            lock.acquire()
        except Timeout:
            raise _errors()[1](
                f"Another process held the lock {lock.lock_file} for more than "
                f"{self.lock_timeout:g} seconds; try again when it has finished."
            ) from None
        except OSError as exc:
            raise self._os_error("lock", exc) from exc
        try:
            yield
        finally:
            lock.release()

    def _write(self, data: Data) -> None:
        directory = self._path.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self._path.name}.", suffix=".tmp")
        except OSError as exc:
            raise self._os_error("write", exc) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fp:
                _private(fp.fileno(), tmp)
                json.dump(data, fp)  # anaconda-cloud-auth's format: default separators
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, self._file)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise self._os_error("write", exc) from exc
            raise
        _fsync_dir(directory)

    # leftovers

    def leftovers(self) -> list[Path]:
        """Files beside the keyring file that may hold keys but are not it, sorted.

        The copies of a damaged file kept aside (``<name>.corrupt-<time>``) and the temp
        files of writes that never finished (``.<name>.<random>.tmp``, left by a crash or a
        kill between writing and renaming). Only regular files are listed.
        """
        name = self._path.name
        try:
            entries = list(os.scandir(self._path.parent))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._os_error("list the directory of", exc) from exc
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
        if not self._path.parent.is_dir() or not self.leftovers():
            return []  # nothing to remove: no lock, so this works where nothing can be written
        removed: list[Path] = []
        with self._locked():
            for path in self.leftovers():
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

        For ``logout --all``: a damaged file is removed, not set aside. None when the file
        is missing or sound.
        """
        if not os.path.lexists(self._file):
            return None
        with self._locked():
            try:
                self.read()
            except _errors()[0]:
                try:
                    os.unlink(self._file)
                except FileNotFoundError:
                    return None
                except OSError as exc:
                    raise self._os_error("remove", exc) from exc
                logger.info("Removed the damaged token file %s", self._file)
                return self._path
        return None

    def keep_copy(self) -> None:
        """Copy the file as it is to ``<name>.corrupt-<UTC time>`` (0600), as `_set_aside`.

        For an entry that is damaged in a file that parses: the copy keeps its bytes before
        a login replaces it. `logout` removes such copies with the other leftovers.
        """
        aside = self._copy_aside()
        if aside is not None:
            logger.warning(
                "A damaged entry in %s is being replaced; the file as it was is kept in %s",
                self._file,
                aside,
            )

    def _set_aside(self) -> None:
        """Copy a file that cannot be parsed to ``<name>.corrupt-<UTC time>`` (0600).

        A copy, not a move: until the fresh file replaces it, readers keep seeing the
        damaged file (and its clear error) rather than no file at all.
        """
        aside = self._copy_aside()
        if aside is not None:
            logger.warning(
                "The token file %s could not be parsed; its bytes were kept in %s and a new "
                "file was started (log in again, or restore entries from the copy kept aside)",
                self._file,
                aside,
            )

    def _copy_aside(self) -> str | None:
        """Copy the file to a new ``<name>.corrupt-<UTC time>`` (0600); its path, or None."""
        try:
            with open(self._file, "rb") as fp:
                damaged = fp.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._os_error("read", exc) from exc
        base = f"{self._file}.corrupt-{_utc_stamp()}"
        aside, n = base, 0
        while True:
            try:
                fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                n += 1
                aside = f"{base}-{n}"
            except OSError as exc:
                raise self._os_error("keep aside a copy of", exc) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(damaged)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise self._os_error("keep aside a copy of", exc) from exc
        return aside

    # errors

    def _corrupt(self, reason: str) -> CorruptTokenFileError:

        return _errors()[0](
            f"The token file {self._file} could not be parsed ({reason}); log in again with "
            "'anaconda-auth login' to write a new one (the damaged file is kept aside as "
            f"{self._path.name}.corrupt-<time>), or restore it from a backup.",
            path=self._file,
            reason=reason,
        )

    def _os_error(self, action: str, exc: OSError) -> StorageError:
        blocking = _file_in_the_way(self._path)
        if blocking is not None:
            return _errors()[1](
                f"Could not {action} the token file {self._file}: {blocking} is a file, not "
                "a directory; move it away, or set ANACONDA_AUTH_KEYRING_PATH to a file in "
                "a directory."
            )
        reason = exc.strerror or type(exc).__name__
        return _errors()[1](
            f"Could not {action} the token file {self._file}: {reason}; check the "
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


def _parse(raw: bytes) -> Data:
    """Parse the file; raises ValueError (without echoing content) when it is malformed."""
    if not raw.strip():
        return {}  # anaconda-cloud-auth's `viable` check creates an empty file
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ValueError(f"not valid JSON: {reason}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError("not a JSON object of services")
    return data


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


def _check_file(path: str, st: os.stat_result) -> None:
    """Refuse a keyring file another user could have written (as ssh does with keys)."""
    if os.name != "posix":
        return
    problem = None
    if st.st_uid != _uid():
        problem = f"is owned by another user (uid {st.st_uid})"
    elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    if problem is not None:
        raise _untrusted(f"The token file {path} {problem}", f"chmod 600 {path}")


def _check_directory(directory: Path) -> None:
    """Refuse a directory where other users could replace the keyring file."""
    if os.name != "posix":
        return
    try:
        st = directory.stat()
    except FileNotFoundError:
        return  # nothing stored there yet; it is created 0700 on the first write
    except OSError:
        return  # reading or writing the file reports the problem itself
    problem = None
    if st.st_uid not in (_uid(), 0):
        problem = f"is owned by another user (uid {st.st_uid})"
    elif st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        problem = f"is writable by every user (mode {stat.S_IMODE(st.st_mode):04o})"
    if problem is not None:
        raise _untrusted(f"The directory {directory} of the token file {problem}", None)


def _untrusted(what: str, fix: str | None) -> StorageError:
    from ._exceptions import StorageError  # imports httpx: see `_errors`

    todo = f"run `{fix}` if it is yours" if fix else "make it yours and not writable by others"
    return StorageError(
        f"{what}, so it is not trusted with API keys; {todo}, or choose another file with "
        "ANACONDA_AUTH_KEYRING_PATH."
    )


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else -1
