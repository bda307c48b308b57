"""Other Python processes the tests start: a fresh interpreter, a second program holding a lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

HOLD = (
    "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
    "print('held', flush=True); sys.stdin.read()"
)


def python(
    script: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh interpreter, where every import really runs; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def installed_command(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``anaconda-auth`` console script, no terminal on stdin, as a
    script would; any exit code (the caller checks it)."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("anaconda-auth")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        check=False,
    )


@contextmanager
def holding_lock(lock: str) -> Iterator[subprocess.Popen[str]]:
    """A Python process that holds the file lock `lock` (filelock) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.communicate("", timeout=10)
