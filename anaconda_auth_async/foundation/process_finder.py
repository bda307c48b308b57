"""Who holds it: the process holding a file lock or listening on a port (Linux ``/proc``).

Best effort and read-only: elsewhere, or for another user's process whose descriptors
cannot be read, the answer is None (a message then says only that it is held). The scans
are bounded (processes looked at, and time), so a failing login or a ``doctor`` check
cannot hang on a crowded machine. Used by the login's "port in use" error and by
``anaconda-auth doctor``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["describe_process", "lock_holder", "port_holder"]

_PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column
_MAX_PROCESSES = 5000  # bound the scan on a crowded machine
_MAX_SECONDS = 0.5


def lock_holder(path: str) -> int | None:
    """The pid holding a ``flock``/``fcntl`` lock on `path`, from ``/proc/locks``."""
    try:
        st = os.stat(path)
        lines = (_PROC / "locks").read_text().splitlines()
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    same_inode = None  # overlay file systems may show another device number
    for line in lines:
        fields = line.split()
        if "->" in fields or len(fields) < 6 or not fields[4].isdigit():
            continue  # a waiter, not the holder
        if fields[5] == wanted:
            return int(fields[4])
        if same_inode is None and fields[5].rsplit(":", 1)[-1] == str(st.st_ino):
            same_inode = int(fields[4])
    return same_inode


def _listening_sockets(port: int, proc: Path) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN or fields[9] == "0":
                continue
            try:
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
            except (IndexError, ValueError):
                continue
            if local_port == port:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def port_holder(port: int, *, proc: Path = _PROC) -> int | None:
    """The pid of a process listening on TCP `port` (any address), if it can be seen."""
    inodes = _listening_sockets(port, proc)
    if not inodes:
        return None
    deadline = time.monotonic() + _MAX_SECONDS
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()][:_MAX_PROCESSES]
    except OSError:
        return None
    for pid in pids:
        if time.monotonic() > deadline:
            return None
        fd_dir = proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or another user's
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd_dir / fd) in inodes:
                    return int(pid)
    return None


def describe_process(pid: int) -> str:
    """``process 1234 (python3, user ada)``, as much of it as can be read."""
    parts = []
    with contextlib.suppress(OSError):
        parts.append((_PROC / str(pid) / "comm").read_text().strip())
    with contextlib.suppress(OSError, KeyError, ImportError, ValueError):
        import pwd  # POSIX only

        uid = (_PROC / str(pid)).stat().st_uid
        parts.append(f"user {pwd.getpwuid(uid).pw_name}")
    return f"process {pid}" + (f" ({', '.join(parts)})" if parts else "")
