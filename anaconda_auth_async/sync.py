"""Blocking faces of the SDK, for scripts, notebooks and other synchronous code.

`login`, `logout` and `is_logged_in` run the async implementation in a fresh event loop
on a worker thread (an anyio blocking portal), so they work in a plain script and also
inside an already running event loop, as in Jupyter, under asyncio or trio. Callbacks
(`on_event`, `ask_credentials`, `open_browser`) are called from that worker thread.
Interrupting the call (Ctrl+C) cancels the login cleanly; nothing is stored.

Each blocking face is derived from its coroutine function by `_blocking` (one typed
wrapper over the portal), so it takes exactly the same arguments: an option added to
`anaconda_auth_async.login` is an option of `sync.login` with no second signature to edit.

`BaseClient` is a real `httpx.Client` and `client_factory` builds its subclasses, as in
anaconda-cloud-auth.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from anyio.from_thread import start_blocking_portal

from . import _keys, _login
from ._client import BaseClient, client_factory
from ._config import resolve_settings
from ._doctor import run as _doctor

if TYPE_CHECKING:
    from ._config import AnacondaAuthSettings, LoginFlow

__all__ = [
    "BaseClient",
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


def _blocking(
    func: Callable[P, Awaitable[T]],
    *,
    before: Callable[..., Callable[[], object]] | None = None,
) -> Callable[P, T]:
    """The blocking face of coroutine function `func`: the same parameters and docstring
    (under a line saying it blocks). It runs `func` to completion in a blocking portal's
    event loop. `before`, if given, is called with the arguments on the caller's thread
    (for a warning attributed to the caller's line) and returns what to run first inside
    the portal."""

    @functools.wraps(func)
    def face(*args: P.args, **kwargs: P.kwargs) -> T:
        prelude = before(*args, **kwargs) if before is not None else None

        async def run() -> T:
            if prelude is not None:
                prelude()
            return await func(*args, **kwargs)

        with start_blocking_portal() as portal:
            return portal.call(run)

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
        _login.warn_if_password_login(
            resolve_settings(settings, site=site, login_flow=_login._requested_flow(flow, basic))
        )
    return lambda: _login.password_warning_given.set(True)  # given above


login = _blocking(_login.login, before=_password_warning)
"""Blocking face of `anaconda_auth_async.login`: the same arguments, the same `TokenInfo`."""

logout = _blocking(_login.logout)
"""Blocking face of `anaconda_auth_async.logout`: the same arguments and result."""

is_logged_in = _blocking(_login.is_logged_in)
"""Blocking face of `anaconda_auth_async.is_logged_in`: the same arguments and result."""

create_api_key = _blocking(_keys.create_api_key)
"""Blocking face of `anaconda_auth_async.create_api_key`: the same arguments, an `APIKey`."""

store_api_key = _blocking(_keys.store_api_key)
"""Blocking face of `anaconda_auth_async.store_api_key`: the same arguments and result."""

doctor = _blocking(_doctor.doctor)
"""Blocking face of `anaconda_auth_async.doctor`: the same arguments, the same checks."""
