"""May a path be trusted with API keys? The ssh-style checks of the file keyring and of
the settings file (``config.toml``).

A file, a symbolic link on the way to it, or a directory holding either is refused when
another user could have written it, pointed it elsewhere or replaced it: owned by another
user, or writable by others (a directory writable by everyone without the sticky bit).
Each refusal is one `StorageError` sentence naming the path and what to do. The checks are
POSIX only; elsewhere they pass.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import StorageError

__all__ = ["check_config_file", "check_directory", "check_file", "check_link", "check_lock_file"]


def check_file(path: str, st: os.stat_result) -> None:
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


def check_link(link: str, st: os.stat_result) -> None:
    """Refuse a symbolic link, on the way to the keyring file, that another user could
    have made or pointed elsewhere: where it leads is where keys are written."""
    if os.name != "posix":
        return
    if st.st_uid not in (_uid(), 0):
        raise _untrusted(
            f"The symbolic link {link} to the token file is owned by another user "
            f"(uid {st.st_uid})",
            None,
        )
    check_directory(Path(link).parent, of=f"the symbolic link {link} to the token file")


def check_directory(directory: Path, *, of: str = "the token file") -> None:
    """Refuse a directory where other users could replace the keyring file (or a link)."""
    if os.name != "posix":
        return
    problem = _directory_problem(directory)
    if problem is not None:
        raise _untrusted(f"The directory {directory} of {of} {problem}", None)


def check_lock_file(path: str) -> None:
    """Refuse, before waiting on it, a lock file another user made: they could hold it
    forever (or make it unopenable), blocking every save and logout. Raises
    `StorageError`, one sentence naming the file and what to do; a missing lock passes."""
    if os.name != "posix":
        return
    try:
        st = os.lstat(path)
    except OSError:
        return  # none yet (it is created 0600), or taking it reports the problem
    if st.st_uid in (_uid(), 0):
        return
    from .errors import StorageError  # imports httpx: only when a check fails

    raise StorageError(
        f"The lock file {path} belongs to another user (uid {st.st_uid}), who can block "
        "every save and logout with it; ask them or an administrator to remove it, or keep "
        "your keys in a directory only you can write (ANACONDA_AUTH_KEYRING_PATH)."
    )


def check_config_file(path: Path) -> None:
    """Refuse a settings file (``config.toml``) another user could have written, by the
    same rules as the keyring file (ssh's for ``~/.ssh/config``): it chooses where keys
    and logins go. A file or link owned by root passes (the administrator is trusted).
    Raises `ConfigurationError`, one sentence naming the file; a missing file passes."""
    if os.name != "posix":
        return
    try:
        st = os.lstat(path)
    except OSError:
        return  # reading it reports the problem, or there is none
    shown = path
    problem = None
    if stat.S_ISLNK(st.st_mode):
        if st.st_uid not in (_uid(), 0):
            problem = f"is a symbolic link owned by another user (uid {st.st_uid})"
        else:
            problem = _directory_problem(path.parent, name="its directory")
            path = Path(os.path.realpath(path))
            try:
                st = os.stat(path)
            except OSError:
                return
    if problem is None:
        if st.st_uid not in (_uid(), 0):
            problem = f"is owned by another user (uid {st.st_uid})"
        elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problem = f"is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
        else:
            problem = _directory_problem(path.parent, name="its directory")
    if problem is not None:
        from .errors import ConfigurationError  # only when a check fails

        where = "" if path == shown else f" (which leads to {path})"
        raise ConfigurationError(
            f"Refusing the settings file {shown}{where}: it {problem}, so another user "
            f"could have chosen your settings; if it is yours, make it yours and writable "
            f"only by you (chmod 600 {path}), or remove it."
        )


def _directory_problem(directory: Path, *, name: str = "") -> str | None:
    """Why other users could replace files in `directory`, or None."""
    try:
        st = directory.stat()
    except OSError:
        return None  # missing (created 0700 on first write), or reported by the read itself
    prefix = f"{name} {directory} " if name else ""
    if st.st_uid not in (_uid(), 0):
        return f"{prefix}is owned by another user (uid {st.st_uid})"
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        return f"{prefix}is writable by every user (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _untrusted(what: str, fix: str | None) -> StorageError:
    from .errors import StorageError  # imports httpx: only when a check fails

    todo = f"run `{fix}` if it is yours" if fix else "make it yours and not writable by others"
    return StorageError(
        f"{what}, so it is not trusted with API keys; {todo}, or choose another file with "
        "ANACONDA_AUTH_KEYRING_PATH."
    )


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else -1
