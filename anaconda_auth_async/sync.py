"""Blocking faces of the SDK, for scripts, notebooks and other synchronous code.

`login`, `logout` and `is_logged_in` run the async implementation in a fresh event loop
on a worker thread (an anyio blocking portal), so they work in a plain script and also
inside an already running event loop, as in Jupyter, under asyncio or trio. Callbacks
(`on_event`, `ask_credentials`, `open_browser`) are called from that worker thread.
Interrupting the call (Ctrl+C, a notebook's interrupt button) cancels the login cleanly;
nothing is stored. From another thread (a GUI's Cancel button), `cancel_logins` stops
every pending blocking `login` and `create_api_key`, which raise `LoginCancelledError`
(anaconda-cloud-auth 0.6's ``shutdown_all_servers``). Each takes exactly the arguments of
its async function.

`BaseClient` is a real `httpx.Client` and `client_factory` builds its subclasses, as in
anaconda-cloud-auth.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from .api_client.clients import BaseClient, client_factory
from .diagnostics import run_checks as _doctor
from .foundation.errors import LoginCancelledError
from .foundation.public_names import publish
from .logins import flow_choice as _flows
from .logins import login as _login
from .logins import machine_keys as _keys
from .logins import session as _session
from .settings.fields import resolve_settings

if TYPE_CHECKING:
    from .settings.fields import AnacondaAuthSettings, LoginFlow

__all__ = [
    "BaseClient",
    "cancel_logins",
    "client_factory",
    "create_api_key",
    "doctor",
    "is_logged_in",
    "login",
    "logout",
    "store_api_key",
]

P = ParamSpec("P")
T = TypeVar("T")


class _Pending:
    """One blocking login in progress: what `cancel_logins` stops. Its state is touched
    only in its portal's event loop, so a cancel before the login starts still counts."""

    def __init__(self) -> None:
        self.cancelled = False
        self.scope: anyio.CancelScope | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


_pending: dict[_Pending, BlockingPortal] = {}
_pending_lock = threading.Lock()


def cancel_logins() -> int:
    """Stop every blocking `login` and `create_api_key` pending in this process.

    Call it from any thread other than the one blocked in the login: a GUI's Cancel
    button, a timer, a signal handler's helper thread. Each stopped call raises
    `LoginCancelledError` in its own thread, its listener closed and nothing stored.
    Returns how many were stopped (0 when none was pending). Async code cancels its own
    `await login()` with a cancel scope or ``task.cancel()`` instead.
    """
    with _pending_lock:
        pending = list(_pending.items())
    stopped = 0
    for entry, portal in pending:
        try:
            portal.call(entry.cancel)
        except RuntimeError:  # that login finished meanwhile: its portal is gone
            continue
        stopped += 1
    return stopped


def _blocking(
    func: Callable[P, Awaitable[T]],
    *,
    before: Callable[..., Callable[[], object]] | None = None,
    cancellable: bool = False,
) -> Callable[P, T]:
    """The blocking face of coroutine function `func`: the same parameters and docstring
    (under a line saying it blocks). It runs `func` to completion in a blocking portal's
    event loop. `before`, if given, is called with the arguments on the caller's thread
    (for a warning attributed to the caller's line) and returns what to run first inside
    the portal. A `cancellable` face is stopped by `cancel_logins`."""

    @functools.wraps(func)
    def face(*args: P.args, **kwargs: P.kwargs) -> T:
        prelude = before(*args, **kwargs) if before is not None else None
        entry = _Pending()

        async def run() -> T:
            if prelude is not None:
                prelude()
            with anyio.CancelScope() as entry.scope:
                if entry.cancelled:
                    entry.scope.cancel()
                return await func(*args, **kwargs)
            raise LoginCancelledError(
                "The login was cancelled (sync.cancel_logins() was called); nothing was stored."
            )

        with start_blocking_portal() as portal:
            if not cancellable:
                return portal.call(run)
            with _pending_lock:
                _pending[entry] = portal
            try:
                return portal.call(run)
            finally:
                with _pending_lock:
                    del _pending[entry]

    face.__doc__ = (
        f"Blocking face of `anaconda_auth_async.{func.__name__}`: runs it to completion in "
        f"a blocking portal (a worker thread's event loop).\n\n{inspect.getdoc(func) or ''}"
    )
    face.__module__ = __name__
    return face


def _password_warning(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    flow: LoginFlow | None = None,
    basic: bool = False,
    **_: object,
) -> Callable[[], object]:
    """Give the password flow's deprecation warning at the caller's line, not in the portal."""
    if basic or flow == "password" or flow is None:
        _flows.warn_if_password_login(
            resolve_settings(settings, site=site, login_flow=_flows.requested_flow(flow, basic))
        )
    return lambda: _flows.password_warning_given.set(True)  # given above


login = _blocking(_login.login, before=_password_warning, cancellable=True)
"""Blocking face of `anaconda_auth_async.login`: the same arguments, the same `TokenInfo`."""

logout = _blocking(_session.logout)
"""Blocking face of `anaconda_auth_async.logout`: the same arguments and result."""

is_logged_in = _blocking(_session.is_logged_in)
"""Blocking face of `anaconda_auth_async.is_logged_in`: the same arguments and result."""

create_api_key = _blocking(_keys.create_api_key, cancellable=True)
"""Blocking face of `anaconda_auth_async.create_api_key`: the same arguments, an `APIKey`."""

store_api_key = _blocking(_keys.store_api_key)
"""Blocking face of `anaconda_auth_async.store_api_key`: the same arguments and result."""

doctor = _blocking(_doctor.doctor)
"""Blocking face of `anaconda_auth_async.doctor`: the same arguments, the same checks."""


publish(globals(), module=__name__)  # tracebacks and repr name this public module
