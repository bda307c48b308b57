"""`in_daemon_thread`: the one way a blocking call is waited for and abandoned (the
password prompt, doctor's DNS lookup)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import anyio
import pytest

from anaconda_auth_async.foundation.threads import in_daemon_thread


@pytest.mark.anyio
async def test_result_and_exception_reach_the_caller() -> None:
    assert await in_daemon_thread(lambda: 42, name="t") == 42

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await in_daemon_thread(boom, name="t")


def test_a_call_that_never_returns_is_abandoned_and_the_process_exits() -> None:
    """As a user's run does: a subprocess, on asyncio and trio, with nothing of ours around it.
    A plain anyio worker would be joined at exit and hang the process."""
    script = textwrap.dedent(
        """
        import sys, threading, time
        import anyio
        from anaconda_auth_async.foundation.threads import in_daemon_thread

        forever = threading.Event()

        async def main() -> None:
            start = time.monotonic()
            try:
                with anyio.fail_after(0.3):
                    await in_daemon_thread(forever.wait, name="never")
            except TimeoutError:
                print(f"abandoned after {time.monotonic() - start:.1f} s")

        anyio.run(main, backend=sys.argv[1])
        """
    )
    for backend in ("asyncio", "trio"):
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", script, backend],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("abandoned after 0."), done.stdout
        assert time.monotonic() - start < 30  # the exit did not wait for the thread


def test_cancelling_returns_at_once() -> None:
    async def main() -> float:
        start = time.monotonic()
        with anyio.move_on_after(0.2):
            await in_daemon_thread(lambda: time.sleep(5), name="sleeper")
        return time.monotonic() - start

    assert anyio.run(main) < 2
