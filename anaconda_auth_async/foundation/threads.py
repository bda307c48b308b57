"""A blocking call that a cancelled wait abandons: a prompt, a DNS lookup (stdlib and anyio).

anyio's worker threads are joined when the interpreter exits, so a call that never returns
(a read from a terminal nobody types into, a lookup a resolver never answers) would keep
the process alive. `in_daemon_thread` runs it in a daemon thread, which is not joined, and
waits for it from the event loop; a cancelled wait (a time limit, Ctrl-C) returns at once
and leaves the call behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

__all__ = ["in_daemon_thread"]

T = TypeVar("T")


async def in_daemon_thread(func: Callable[[], T], *, name: str) -> T:
    """``func()`` in a daemon thread called `name`: its result, or its exception raised here.

    Cancelling the wait (``anyio.fail_after`` around it, a cancel scope) returns at once;
    the thread is left to finish or not. It never calls into the event loop: a worker
    thread waits for it and is released when the wait ends either way.
    """
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, func()))
        except BaseException as exc:  # handed to the awaiting task
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        await anyio.to_thread.run_sync(done.wait, abandon_on_cancel=True)
    finally:
        done.set()  # cancelled: let the waiting worker go; the daemon thread stays behind
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
