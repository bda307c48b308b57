"""`login`: get an API key and store it, under one time limit.

A login runs, under one time limit and over one HTTP client configured from the settings:
decide (`decision`) → discover the provider → run a flow (`flow_choice`) → validate the ID
token → exchange the access token for an API key → store the key. The key is stored only
after every step succeeded, so a failed, timed-out or cancelled login leaves whatever was
stored before exactly as it was. An existing login (the key in use, logout) is `session`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ..api_client.site_context import site_context
from ..foundation.errors import ConfigurationError, CorruptTokenFileError, LoginTimeoutError
from ..foundation.public_names import publish
from ..settings.fields import AnacondaAuthSettings, LoginFlow
from ..storage.stored_token import TokenInfo
from .decision import already_logged_in, decide, logging_in
from .events import EventSink, LoginEvent
from .flow_choice import choose_flow, requested_flow, run_flow, warn_if_password_login

if TYPE_CHECKING:
    import httpx

    from ..api_client.site_context import SiteContext
    from ..storage.keyring_store import TokenStore
    from .events import FlowResult
    from .flows.password import CredentialsCallback
    from .key_exchange import APIKey
    from .provider import ProviderMetadata

__all__ = [
    "ConfirmCallback",
    "event_sink",
    "login",
    "obtain_key_in_time",
    "save_key",
    "username_from_claims",
]

logger = logging.getLogger(__name__)

ConfirmCallback = Callable[[TokenInfo], "bool | Awaitable[bool]"]
"""Asked, with the stored key, whether to log in again although it is usable."""


def _ignore(event: LoginEvent) -> None:
    """The sink of a quiet login: nothing is shown."""


def username_from_claims(claims: dict[str, Any]) -> str | None:
    """The user name to store: ``preferred_username``, else ``email``, else ``sub``."""
    for name in ("preferred_username", "email", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def event_sink(on_event: EventSink | None, *, quiet: bool = False) -> EventSink:
    """Where a login's events go: `on_event`, else the default presentation (stderr, or a
    notebook's output), else nowhere when `quiet`."""
    if on_event is not None:
        return on_event
    if quiet:
        return _ignore
    from .presentation import (
        Presentation,  # stderr/Jupyter presentation only for an interactive login
    )

    return Presentation()


async def _validate(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    result: FlowResult,
) -> dict[str, Any]:
    from .id_token import verify_id_token  # joserfc only when an ID token is validated

    if result.tokens.id_token is None:
        logger.info("The provider sent no ID token; the user name will be unknown")
        return {}
    return await verify_id_token(
        http,
        metadata,
        result.tokens.id_token,
        client_id=settings.client_id,
        nonce=result.nonce,
        access_token=result.tokens.access_token,
    )


async def _obtain_key(
    settings: AnacondaAuthSettings,
    *,
    on_event: EventSink,
    ask_credentials: CredentialsCallback | None,
    open_browser: Callable[[str], bool] | None,
    open_device_page: bool = False,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> APIKey:
    """Run the network part of a login; return the new API key, with the user name."""
    # On use: httpx clients, discovery and the key exchange only when a login runs.
    from ..network.transport import async_http_client
    from .key_exchange import mint_api_key
    from .provider import discover

    given = {"transport": transport} if transport is not None else {}

    def slow(request: httpx.Request) -> None:  # no answer yet: say whom we wait for
        host = request.url.host
        on_event(
            LoginEvent(
                kind="waiting_for_server", url=f"https://{host}", message=f"Waiting for {host}"
            )
        )

    async with async_http_client(settings, on_slow=slow, **given) as http:
        metadata = await discover(http, settings)
        flow = await choose_flow(settings.login_flow, metadata)
        logger.debug("Logging in to %s with the %s flow", settings.auth_domain, flow)
        result = await run_flow(
            flow,
            http,
            metadata,
            settings,
            on_event=on_event,
            ask_credentials=ask_credentials,
            open_browser=open_browser,
            open_device_page=open_device_page,
            fallback_to_device=settings.login_flow == "auto"
            and bool(metadata.device_authorization_endpoint),
        )
        claims = await _validate(http, metadata, settings, result)
        on_event(LoginEvent(kind="exchanging", message="Creating an API key."))
        key = await mint_api_key(
            http, settings, result.tokens.access_token, scopes=scopes, tags=tags
        )
    return dataclasses.replace(key, username=username_from_claims(claims))


async def obtain_key_in_time(
    settings: AnacondaAuthSettings,
    *,
    timeout: float | None,  # noqa: ASYNC109 - the contract; applied with fail_after
    on_event: EventSink,
    ask_credentials: CredentialsCallback | None = None,
    open_browser: Callable[[str], bool] | None = None,
    open_device_page: bool = False,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> APIKey:
    """`_obtain_key` under the login's one time limit (`timeout`, else ``login_timeout``).

    `open_device_page`: the device flow opens its verification page in the browser (the
    default presentation does, as anaconda-auth does); `open_browser` given does too.
    """
    if timeout is not None and not timeout > 0:  # NaN too: fail_after would end at once
        raise ConfigurationError(
            f"Invalid argument timeout={timeout!r}: expected the number of seconds the login "
            "may take, greater than 0 (or None for the login_timeout setting)."
        )
    limit = settings.login_timeout if timeout is None else timeout
    try:
        with anyio.fail_after(limit) as scope:
            return await _obtain_key(
                settings,
                on_event=on_event,
                ask_credentials=ask_credentials,
                open_browser=open_browser,
                open_device_page=open_device_page,
                scopes=scopes,
                tags=tags,
                transport=transport,
            )
    except TimeoutError:
        if not scope.cancelled_caught:
            raise  # not our time limit
        raise LoginTimeoutError(
            f"The login did not complete within {limit:g} seconds; run it again "
            "(the timeout argument or ANACONDA_AUTH_LOGIN_TIMEOUT sets the limit)."
        ) from None


async def login(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    force: bool = False,
    basic: bool = False,
    flow: LoginFlow | None = None,
    on_event: EventSink | None = None,
    ask_credentials: CredentialsCallback | None = None,
    open_browser: Callable[[str], bool] | None = None,
    store: TokenStore | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - the contract; applied with fail_after
    renew_within: dt.timedelta | float | None = None,
    quiet: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    confirm_relogin: ConfirmCallback | None = None,
) -> TokenInfo:
    """Log in and store an API key for the auth domain; return the stored `TokenInfo`.

    Does nothing while a usable key is stored (returns it) unless ``force=True``, or
    unless it expires within `renew_within` (a `timedelta`, or seconds): then it logs in
    again, so a scheduled ``login(renew_within=timedelta(days=30))`` renews a key before
    it runs out and is a no-op otherwise (a key with no known expiry is never renewed).
    A key the server rejected, an expired key and a keyring file that cannot be parsed
    (kept aside, then replaced) are logged in over. The decision is reported to
    `on_event` before anything is sent: ``already_logged_in``, or ``logging_in`` with its
    ``reason``. With a usable key stored and no `renew_within`, `confirm_relogin` (called
    with the stored `TokenInfo`; it may be a coroutine function) is asked whether to log
    in again anyway: a terminal's "Log in again?" prompt.
    `site` selects a site of ``~/.anaconda/config.toml`` or a preset (``"anaconda.com"``,
    ``"anaconda.cloud"``); `auth_domain`, `ssl_verify` and `flow` override `settings`
    (default: read from the environment and the config file); ``basic=True`` is the
    deprecated password flow.

    Without `on_event`, the login shows on stderr what the person must do: the device
    code and its URL (and opens that page in a browser when one can be opened), the login
    URL when no browser could be opened, and that it is waiting and how to cancel (in a
    Jupyter kernel the URL is a link); ``quiet=True`` shows nothing. `on_event` replaces
    that and receives each `LoginEvent` (the URL to open, the device code, ...).
    `ask_credentials` supplies ``(username, password)`` to the password flow;
    `open_browser` opens the login page (default: `webbrowser`, which honours
    ``BROWSER``, run silently; with `on_event` given, only this opens the device
    flow's page). The network steps and the user's
    part must finish within `timeout` seconds (default: the ``login_timeout`` setting) or
    `LoginTimeoutError` is raised. `transport` (an httpx transport, for tests: see
    `anaconda_auth_async.testing.FakePlatform`) carries every request of the login.
    Any failure raises a `LoginError` and leaves the stored
    key untouched.
    """
    context = site_context(
        settings,
        store=store,
        site=site,
        auth_domain=auth_domain,
        ssl_verify=ssl_verify,
        login_flow=requested_flow(flow, basic),
    )
    settings = context.settings
    warn_if_password_login(settings)
    domain = context.auth_domain
    sink = event_sink(on_event, quiet=quiet)
    # Read the store first: a broken store fails now, not after the user has logged in.
    # A damaged keyring file is the exception: logging in again is how it gets repaired
    # (the save keeps its bytes aside), so it counts as holding no key.
    existing, damaged = await _load_repairable(context)
    reason = decide(existing, damaged=damaged is not None, force=force, renew_within=renew_within)
    if reason is None and existing is not None:
        sink(already_logged_in(existing, domain))
        if renew_within is not None or not await _confirmed(confirm_relogin, existing):
            logger.debug("A usable API key is stored for %s; not logging in", domain)
            return existing
        reason = "confirmed"
    logger.info("Logging in to %s (%s)", domain, reason)
    sink(logging_in(reason or "not_logged_in", existing, domain, damaged=damaged))
    # Fail now, not after the person logged in, when the new key could not be stored.
    await context.store.acheck_writable()
    new = await obtain_key_in_time(
        settings,
        timeout=timeout,
        on_event=sink,
        ask_credentials=ask_credentials,
        open_browser=open_browser,
        open_device_page=on_event is None and not quiet,
        transport=transport,
    )
    token = await save_key(context, new.api_key, new.username, scopes=new.scopes)
    sink(LoginEvent(kind="done", message=f"Logged in to {domain}."))
    return token


async def save_key(
    context: SiteContext,
    key: str,
    username: str | None,
    *,
    scopes: Sequence[str] = (),
) -> TokenInfo:
    """Store `key` for the site as a login does; return the primary name's `TokenInfo`.

    It is stored under the names other Anaconda tools read (``docs/storage.md``); each
    keeps its repo tokens and unknown fields as they are now (another process may have
    written meanwhile), and records the API domain the key was made at (it is sent only
    there) and its `scopes`, when known.
    """
    token = await _save_repairable(
        context,
        api_key=key,
        username=username,
        extra={"scopes": list(scopes)} if scopes else None,
    )
    who = f" as {username}" if username else ""
    primary, store = context.names.primary, context.store
    logger.info("Logged in to %s%s; API key stored in %s", primary, who, store.name)
    return token


async def _confirmed(confirm: ConfirmCallback | None, existing: TokenInfo) -> bool:
    """The answer of `confirm` (sync or async) to "log in again?"; no callback: no."""
    if confirm is None:
        return False
    answer = confirm(existing)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


async def _load_repairable(
    context: SiteContext,
) -> tuple[TokenInfo | None, CorruptTokenFileError | None]:
    """The stored entry, or None and the error when the file (or entry) is damaged."""
    try:
        return await context.store.aload_site(context.names), None
    except CorruptTokenFileError as exc:
        logger.info("The stored entry could not be parsed (%s); logging in replaces it", exc)
        return None, exc


async def _save_repairable(
    context: SiteContext,
    *,
    api_key: str,
    username: str | None,
    extra: dict[str, Any] | None,
) -> TokenInfo:
    store, names = context.store, context.names
    save = functools.partial(
        store.asave_login,
        names,
        api_key=api_key,
        username=username,
        api_domain=context.settings.api_domain,
        extra=extra,
    )
    from ..storage.keyring_store import DamagedEntryError  # loaded already: the store exists

    try:
        return await save()  # a file that cannot be parsed is set aside by the update itself
    except DamagedEntryError:
        # The file is sound but an entry is not: keep a copy, then replace the damaged ones.
        await store.akeep_damaged_copy()
        for name in names.read:
            try:
                await store.aload(name)
            except DamagedEntryError:
                await store.asave(TokenInfo(domain=name, api_key=api_key, username=username))
        return await save()


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
