"""`foundation.threads`: the one way blocking work leaves the event loop (the store's faces,
prompts, doctor's DNS lookup, the browser opener, ...): a daemon thread, waited for on asyncio
and trio, abandoned by a cancelled wait, never keeping the process alive."""

from __future__ import annotations

import contextvars
import textwrap
import threading
import time

import anyio
import pytest
from processes import python

from anaconda_auth_async.foundation.threads import DaemonCall, in_daemon_thread, in_worker_thread


@pytest.mark.anyio
async def test_result_and_exception_reach_the_caller() -> None:
    assert await in_daemon_thread(lambda: 42, name="t") == 42

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await in_daemon_thread(boom, name="t")


@pytest.mark.anyio
async def test_the_call_runs_in_a_named_daemon_thread_with_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")

    def where() -> tuple[str, bool, bool, str]:
        me = threading.current_thread()
        return me.name, me.daemon, me is threading.main_thread(), var.get()

    assert await in_daemon_thread(where, name="anaconda-auth test") == (
        "anaconda-auth test",
        True,
        False,
        "caller's",
    )


@pytest.mark.anyio
async def test_a_limited_wait_says_whether_the_call_is_done() -> None:
    release = threading.Event()
    call = DaemonCall(lambda: release.wait(10) and "finished")
    assert not await call.wait(0.05)  # still running: the wait gives up, the call goes on
    assert not call.done()
    release.set()
    assert await call.wait(10)
    assert call.result() == "finished"
    assert await call.wait(0)  # done: returns at once


@pytest.mark.anyio
async def test_cancelling_the_wait_returns_at_once_and_leaves_the_call_running() -> None:
    release, finished = threading.Event(), threading.Event()

    def slow() -> None:
        release.wait(10)
        finished.set()

    call = DaemonCall(slow, name="sleeper")
    start = time.monotonic()
    with anyio.move_on_after(0.1) as scope:
        await call.wait()
    assert scope.cancelled_caught
    assert time.monotonic() - start < 2
    assert not call.done()
    release.set()  # the abandoned call finishes by itself; nobody is left to tell
    assert finished.wait(10)
    assert call.wait_blocking(10)


@pytest.mark.anyio
async def test_a_time_limit_around_in_daemon_thread_abandons_it() -> None:
    forever = threading.Event()
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.1):
            await in_daemon_thread(forever.wait, name="never")
    assert time.monotonic() - start < 2
    forever.set()


@pytest.mark.anyio
async def test_a_callers_callback_may_reach_the_loop_with_anyio_from_thread() -> None:
    """``open_browser`` and ``ask_credentials`` are the caller's code: they run where
    ``anyio.from_thread`` works, as they always have."""
    seen: list[str] = []

    def callback() -> str:
        anyio.from_thread.run_sync(seen.append, "on the loop")
        return "done"

    assert await in_worker_thread(callback) == "done"
    assert seen == ["on the loop"]


def test_synchronous_callers_wait_with_a_limit() -> None:
    release = threading.Event()
    call = DaemonCall(lambda: release.wait(10))
    assert not call.wait_blocking(0.05)
    with pytest.raises(RuntimeError):
        call.result()  # not finished: no result to give
    release.set()
    assert call.wait_blocking(10)
    assert call.result() is True


def test_a_call_that_ends_after_its_loop_closed_is_harmless() -> None:
    release = threading.Event()

    async def give_up() -> DaemonCall[bool]:
        call = DaemonCall(lambda: release.wait(10))
        assert not await call.wait(0.05)
        return call

    for backend in ("asyncio", "trio"):
        call = anyio.run(give_up, backend=backend)
        release.set()  # the thread now tells a loop that no longer runs
        assert call.wait_blocking(10)
        assert call.result() is True
        release.clear()


def test_a_call_that_never_returns_is_abandoned_and_the_process_exits() -> None:
    """As a user's run does: a subprocess, on asyncio and trio and from plain threads.
    An anyio worker thread would be joined at exit and hang the process."""
    script = """
        import sys, threading, time
        import anyio
        from anaconda_auth_async.foundation.threads import DaemonCall, in_daemon_thread

        forever = threading.Event()

        async def main() -> None:
            start = time.monotonic()
            try:
                with anyio.fail_after(0.3):
                    await in_daemon_thread(forever.wait, name="never")
            except TimeoutError:
                print(f"abandoned after {time.monotonic() - start:.1f} s")

        if sys.argv[1] == "sync":
            start = time.monotonic()
            if not DaemonCall(forever.wait).wait_blocking(0.3):
                print(f"abandoned after {time.monotonic() - start:.1f} s")
        else:
            anyio.run(main, backend=sys.argv[1])
    """
    for backend in ("asyncio", "trio", "sync"):
        start = time.monotonic()
        done = python(textwrap.dedent(script), backend, timeout=60)
        assert done.stdout.startswith("abandoned after 0."), done.stdout
        assert time.monotonic() - start < 30  # the exit did not wait for the thread


def test_waiting_on_asyncio_imports_no_anyio_backend() -> None:
    """The store's first read happens inside a client's first request: waiting for it must
    not import anyio's asyncio backend (one ~20 ms piece that stalls the loop)."""
    done = python(
        textwrap.dedent(
            """
        import asyncio, sys
        from anaconda_auth_async.foundation.threads import DaemonCall, in_daemon_thread

        async def main() -> None:
            assert await in_daemon_thread(lambda: 1) == 1
            assert await DaemonCall(lambda: 2).wait(5)

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.startswith("anyio._backends")))
        """
        ),
        timeout=60,
    )
    assert done.stdout.strip() == "[]"
