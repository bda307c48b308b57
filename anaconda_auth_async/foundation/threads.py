"""The one way blocking work leaves the event loop: a call in its own daemon thread.

`DaemonCall` starts ``func()`` in a new daemon thread and is waited for from asyncio, trio,
or a plain thread, with or without a time limit; `in_daemon_thread` is the plain await. A
cancelled or timed-out wait returns at once and leaves the call behind, and a daemon thread
is never joined at exit, so a call that never returns (a keyring, a prompt, a resolver)
cannot hang the process. On asyncio the wait uses only asyncio's own future, so the first
request imports no anyio backend. A caller's own callback is the one exception:
`in_worker_thread` runs it in an anyio worker thread, where ``anyio.from_thread`` works.
Why: docs/decisions.md, "One way to run blocking work off the loop".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import sniffio

__all__ = ["DaemonCall", "in_daemon_thread", "in_worker_thread"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DaemonCall(Generic[T]):
    """``func()`` started at once in a daemon thread called `name`, in a copy of the caller's
    context (as ``anyio.to_thread`` runs it); `result` gives its value or raises its error."""

    def __init__(self, func: Callable[[], T], *, name: str = "anaconda-auth") -> None:
        self._func = func
        self._context = contextvars.copy_context()
        self._done = threading.Event()
        self._guard = threading.Lock()
        self._wakers: list[Callable[[], object]] = []
        self._outcome: tuple[bool, object] | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            outcome: tuple[bool, object] = (True, self._context.run(self._func))
        except BaseException as exc:  # handed to whoever asks for the result
            outcome = (False, exc)
        with self._guard:
            self._outcome = outcome
            self._done.set()
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            try:
                wake()
            except Exception:  # that event loop is gone: nobody there to tell
                logger.debug("A call in a daemon thread ended after its loop stopped waiting")

    def done(self) -> bool:
        """True once the call has returned or raised."""
        return self._done.is_set()

    def result(self) -> T:
        """The call's value, or its exception raised here; only once it is `done`."""
        if self._outcome is None:
            raise RuntimeError("the call has not finished")
        ok, value = self._outcome
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def wait_blocking(self, limit: float | None = None) -> bool:
        """Block this thread until the call is done or `limit` seconds pass; `done`."""
        return self._done.wait(limit)

    async def wait(self, limit: float | None = None) -> bool:
        """Wait on the running loop (asyncio or trio) until the call is done or `limit`
        seconds pass; `done`. Cancelling the wait returns at once: the call runs on."""
        if sniffio.current_async_library() == "asyncio":
            await self._wait_asyncio(limit)
        else:  # trio, the other loop anyio runs on
            await self._wait_trio(limit)
        return self.done()

    def _on_done(self, wake: Callable[[], object]) -> bool:
        """Call `wake` (from the thread) when the call ends; False if it already has."""
        with self._guard:
            if self._done.is_set():
                return False
            self._wakers.append(wake)
            return True

    async def _wait_asyncio(self, limit: float | None) -> None:
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        if not self._on_done(lambda: loop.call_soon_threadsafe(_resolve, finished)):
            loop.call_soon(_resolve, finished)  # done already: still one trip through the loop
        if limit is None:
            await finished
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(finished, limit)

    async def _wait_trio(self, limit: float | None) -> None:
        import trio  # only where trio is the running loop

        finished = trio.Event()
        token = trio.lowlevel.current_trio_token()
        if not self._on_done(lambda: token.run_sync_soon(finished.set)):
            finished.set()  # done already: the wait below is still a checkpoint
        with trio.move_on_after(limit) if limit is not None else contextlib.nullcontext():
            await finished.wait()


async def in_daemon_thread(func: Callable[[], T], *, name: str = "anaconda-auth") -> T:
    """``func()`` in a daemon thread called `name`: its result, or its exception raised here.

    Cancelling the wait (a time limit around it, a cancel scope) returns at once; the thread
    is left to finish or not.
    """
    call = DaemonCall(func, name=name)
    await call.wait()
    return call.result()


async def in_worker_thread(func: Callable[[], T]) -> T:
    """A caller's callback (``open_browser``, ``ask_credentials``) in an anyio worker thread,
    where it may reach the loop with ``anyio.from_thread``; a cancelled wait abandons it."""
    import anyio.to_thread  # not on the request path: only a login calls back

    return await anyio.to_thread.run_sync(func, abandon_on_cancel=True)


def _resolve(finished: asyncio.Future[None]) -> None:
    if not finished.done():  # not already given up on (time limit, cancellation)
        finished.set_result(None)
