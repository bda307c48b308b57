"""Blocking faces of the SDK, for scripts, notebooks and other synchronous code.

`login`, `logout` and `is_logged_in` run the async implementation in a fresh event loop
on a worker thread (an anyio blocking portal), so they work in a plain script and also
inside an already running event loop, as in Jupyter, under asyncio or trio. Callbacks
(`on_event`, `ask_credentials`, `open_browser`) are called from that worker thread.
Interrupting the call (Ctrl+C) cancels the login cleanly; nothing is stored.

`BaseClient` is a real `httpx.Client` and `client_factory` builds its subclasses, as in
anaconda-cloud-auth.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from anyio.from_thread import start_blocking_portal

from . import _keys, _login
from ._client import BaseClient, client_factory
from ._config import resolve_settings

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from ._apikey import APIKey
    from ._config import AnacondaAuthSettings, LoginFlow
    from ._flows import EventSink
    from ._flows.password import CredentialsCallback
    from ._storage import TokenStore
    from ._token import TokenInfo

__all__ = [
    "BaseClient",
    "client_factory",
    "create_api_key",
    "is_logged_in",
    "login",
    "logout",
    "store_api_key",
]

T = TypeVar("T")


def _in_portal(call: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine function to completion in a blocking portal's event loop."""
    with start_blocking_portal() as portal:
        return portal.call(call)


def login(
    *,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    force: bool = False,
    basic: bool = False,
    flow: LoginFlow | None = None,
    on_event: EventSink | None = None,
    ask_credentials: CredentialsCallback | None = None,
    open_browser: Callable[[str], bool] | None = None,
    store: TokenStore | None = None,
    timeout: float | None = None,
    renew_within: dt.timedelta | float | None = None,
    quiet: bool = False,
) -> TokenInfo:
    """Log in and store an API key; blocking face of `anaconda_auth_async.login`.

    Does nothing while an unexpired key is stored unless ``force=True``, or unless it
    expires within `renew_within` (a `timedelta` or seconds); ``basic=True``
    is the deprecated password flow. Without `on_event` it shows on stderr (in Jupyter,
    in the cell) what the person must do; ``quiet=True`` shows nothing. Returns the
    stored `TokenInfo`; raises `LoginError` (and leaves the stored key untouched) when
    the login fails.
    """
    if basic or flow == "password" or flow is None:
        _login.warn_if_password_login(
            resolve_settings(settings, login_flow=_login._requested_flow(flow, basic))
        )

    async def login_after_warning(**kwargs: Any) -> TokenInfo:
        _login.password_warning_given.set(True)  # given above, on the caller's line
        return await _login.login(**kwargs)

    return _in_portal(
        functools.partial(
            login_after_warning,
            settings=settings,
            auth_domain=auth_domain,
            ssl_verify=ssl_verify,
            force=force,
            basic=basic,
            flow=flow,
            on_event=on_event,
            ask_credentials=ask_credentials,
            open_browser=open_browser,
            store=store,
            timeout=timeout,
            renew_within=renew_within,
            quiet=quiet,
        )
    )


def logout(
    *,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    store: TokenStore | None = None,
) -> bool:
    """Remove the stored API key; return whether there was one (blocking `logout`)."""
    return _in_portal(
        functools.partial(_login.logout, settings=settings, auth_domain=auth_domain, store=store)
    )


def is_logged_in(
    *,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    store: TokenStore | None = None,
) -> bool:
    """True when an unexpired API key is available (blocking `is_logged_in`)."""
    return _in_portal(
        functools.partial(
            _login.is_logged_in, settings=settings, auth_domain=auth_domain, store=store
        )
    )


def create_api_key(
    *,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    flow: LoginFlow | None = None,
    on_event: EventSink | None = None,
    open_browser: Callable[[str], bool] | None = None,
    timeout: float | None = None,
) -> APIKey:
    """Log in afresh and create a new API key; store nothing (blocking `create_api_key`).

    Returns the `APIKey` (key, id, expiry, scopes, tags); the stored login is untouched.
    """
    return _in_portal(
        functools.partial(
            _keys.create_api_key,
            scopes=scopes,
            tags=tags,
            settings=settings,
            auth_domain=auth_domain,
            ssl_verify=ssl_verify,
            flow=flow,
            on_event=on_event,
            open_browser=open_browser,
            timeout=timeout,
        )
    )


def store_api_key(
    api_key: str,
    *,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    verify: bool = True,
    store: TokenStore | None = None,
) -> TokenInfo:
    """Check an API key you already have and store it as a login would (blocking face).

    Raises `InvalidAPIKeyError`, storing nothing, for a malformed, expired or rejected key.
    """
    return _in_portal(
        functools.partial(
            _keys.store_api_key,
            api_key,
            settings=settings,
            auth_domain=auth_domain,
            ssl_verify=ssl_verify,
            verify=verify,
            store=store,
        )
    )
