"""The ``storage`` check: the keyring file, its directory, its lock, what lies beside it.

Read-only: it writes nothing, creates no directory and no lock file. The verdicts on the
file (owner, mode, links, directory, parse) are the store's own (`TokenFile.read`, the
ssh-style `file_trust` checks); this adds what a read does not look at: a file others may
read, leftovers that may hold keys, a lock held now and by whom, and whether a write
would be allowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ..foundation.errors import CorruptTokenFileError, StorageError
from ..foundation.process_finder import describe_process, lock_holder
from ..storage.keyring_store import KeyringTokenStore
from ..storage.token_file import TokenFile
from .report import DoctorCheck, split_advice

if TYPE_CHECKING:
    from ..api_client.site_context import SiteContext

__all__ = ["storage_check"]


def storage_check(context: SiteContext) -> DoctorCheck:
    """Run the checks of the store in use (blocking: run it in a worker thread)."""
    store = context.store
    backend = store.backend if isinstance(store, KeyringTokenStore) else None
    if not isinstance(backend, TokenFile):
        return DoctorCheck("storage", "ok", f"Keys are stored in {store.name}")
    return _file_check(backend)


def _file_check(file: TokenFile) -> DoctorCheck:
    path = file.path
    try:
        file.read()  # the store's own verdict: links, owner, mode, directory, parse
    except CorruptTokenFileError as exc:
        return DoctorCheck(
            "storage",
            "fail",
            f"The keyring file {exc.path or path} cannot be parsed ({exc.reason or exc})",
            "run 'anaconda-auth login': it keeps the damaged file aside as "
            "keyring.corrupt-<time> and writes a new one",
        )
    except StorageError as exc:
        what, fix = split_advice(str(exc))
        return DoctorCheck(
            "storage",
            "fail",
            what,
            fix or "check the permissions of the keyring file and its directory",
        )
    target = Path(os.path.realpath(path))
    found = _stat(target)
    lock = target.with_name(target.name + ".lock")
    problem = _unwritable(target, found, lock)
    if problem is not None:
        return problem
    where = f"{path}" + (f" (a link to {target})" if target != path else "")
    if found is None:
        summary = f"No keyring file yet at {where}; a login creates it (mode 0600)"
    else:
        summary = f"{where}: mode {stat.S_IMODE(found.st_mode):04o}, {_owner(found.st_uid)}, parses"
    holder = _held(lock, file.lock_timeout)
    if holder is not None:
        return DoctorCheck(
            "storage",
            "warn",
            f"{summary}; but the lock {lock} is held by {holder}: a login waits for it up to "
            f"{file.lock_timeout:g} seconds, then fails",
            "wait for that process to finish, or end it if it is stuck",
        )
    leftovers = file.leftovers()
    if leftovers:
        names = ", ".join(p.name for p in leftovers)
        return DoctorCheck(
            "storage",
            "warn",
            f"{summary}; {len(leftovers)} file(s) beside it may hold keys: {names}",
            "run 'anaconda-auth logout' to remove them (it lists what it removes), or delete "
            "them yourself",
        )
    if found is not None and stat.S_IMODE(found.st_mode) & (stat.S_IRGRP | stat.S_IROTH):
        return DoctorCheck(
            "storage",
            "warn",
            f"{summary}; other users can read it, and so the API key",
            f"chmod 600 {target}",
        )
    return DoctorCheck("storage", "ok", summary)


def _stat(target: Path) -> os.stat_result | None:
    try:
        return os.stat(target)
    except OSError:
        return None


def _unwritable(target: Path, found: os.stat_result | None, lock: Path) -> DoctorCheck | None:
    """The ``fail`` check when a login could not write the file, else None (writes nothing)."""
    directory = target.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # a login creates the missing directories in it
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "directory" if existing == directory else "nearest existing directory"
        return DoctorCheck(
            "storage",
            "fail",
            f"A login could not write {target}: its {what} {existing} is not writable",
            f"make {existing} writable for you, or set ANACONDA_AUTH_KEYRING_PATH to a file in "
            "a directory you own",
        )
    if lock.exists() and not os.access(lock, os.W_OK):
        return DoctorCheck(
            "storage",
            "fail",
            f"A login could not take the lock {lock}: it is not writable for you "
            f"({_owner(lock.stat().st_uid)})",
            f"remove {lock} (no process of yours holds it), or make it yours",
        )
    return None


def _held(lock: Path, timeout: float) -> str | None:
    """Who holds the lock now (``process N (...)`` or ``another process``), else None."""
    if not lock.exists():
        return None  # taking it would create the file: not a read-only check
    from filelock import FileLock, Timeout

    probe = FileLock(os.fspath(lock), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        pid = lock_holder(os.fspath(lock))
        return describe_process(pid) if pid is not None else "another process"
    except OSError:
        return None  # not ours to take: `_unwritable` reports it
    probe.release()
    return None


def _owner(uid: int) -> str:
    try:
        import pwd  # POSIX only

        return f"owner {pwd.getpwuid(uid).pw_name}"
    except (ImportError, KeyError):
        return f"owner uid {uid}"
