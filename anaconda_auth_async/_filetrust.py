"""May a path be trusted with API keys? The ssh-style checks of the file keyring.

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
    from ._exceptions import StorageError

__all__ = ["check_directory", "check_file", "check_link"]


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
        raise _untrusted(f"The directory {directory} of {of} {problem}", None)


def _untrusted(what: str, fix: str | None) -> StorageError:
    from ._exceptions import StorageError  # imports httpx: only when a check fails

    todo = f"run `{fix}` if it is yours" if fix else "make it yours and not writable by others"
    return StorageError(
        f"{what}, so it is not trusted with API keys; {todo}, or choose another file with "
        "ANACONDA_AUTH_KEYRING_PATH."
    )


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else -1
