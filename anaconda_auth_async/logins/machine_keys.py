"""The life of an API key beyond a login: mint one for a machine, store one you already have.

`create_api_key` runs a fresh login (browser or device code, as `login` chooses) and asks
the API for a new key with the scopes and tags given, and **stores nothing**: the person's
own stored login stays exactly as it was. The new key goes to the caller (the CLI prints it
on stdout), typically to be put in a CI secret or a Kubernetes secret file.

`store_api_key` is the other direction (``anaconda-auth login --with-token``): a key made
elsewhere is checked offline (`check_api_key`: a JWT, not expired, and issued for this API
or auth domain when it names its issuer), then online when the API can be reached
(`account_of_key`: ``GET /api/account`` must accept it), and stored as a login stores one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..api_client.site_context import site_context
from ..foundation.errors import InvalidAPIKeyError
from ..foundation.jwt import unverified_jwt
from ..foundation.outside_values import clamp_timestamp
from ..foundation.public_names import publish
from ..settings.fields import AnacondaAuthSettings
from .flow_choice import requested_flow
from .login import event_sink, obtain_key_in_time, save_key

if TYPE_CHECKING:
    import httpx

    from ..settings.fields import LoginFlow
    from ..storage.keyring_store import TokenStore
    from ..storage.stored_token import TokenInfo
    from .events import EventSink
    from .key_exchange import APIKey

__all__ = [
    "account_of_key",
    "check_api_key",
    "create_api_key",
    "store_api_key",
]

MAX_KEY_LENGTH = 16 * 1024

logger = logging.getLogger(__name__)


async def create_api_key(
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
    quiet: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> APIKey:
    """Log in afresh and create a new API key for another machine; store nothing.

    `scopes` default to the scopes a login's own key gets (``cloud:read``,
    ``cloud:write``, ``repo:read``, or the ``api_key_scopes`` setting); `tags` are sent
    after the tag naming this SDK. The login always runs, even while a key is stored,
    and that stored key is left untouched. `flow`, `on_event`, `quiet`, `open_browser`,
    `timeout` and `transport` work as in `login`. Returns the `APIKey` (the key, its id,
    expiry, scopes and tags). Raises `ValueError`, before the login starts, for a scope
    or tag with spaces or for scopes given but empty, and `LoginError` (for instance
    `LoginDeniedError`, `LoginTimeoutError` or `APIKeyExchangeError`) when the login
    fails.
    """
    settings = site_context(
        settings,
        auth_domain=auth_domain,
        ssl_verify=ssl_verify,
        login_flow=requested_flow(flow, False),
    ).settings  # stores nothing: of its context, only the settings are used
    from .key_exchange import api_key_request  # loaded by the login anyway (httpx)

    api_key_request(settings, scopes=scopes, tags=tags)  # bad scopes or tags: before the login
    key = await obtain_key_in_time(
        settings,
        timeout=timeout,
        on_event=event_sink(on_event, quiet=quiet),
        open_browser=open_browser,
        open_device_page=on_event is None and not quiet,
        scopes=scopes,
        tags=tags,
        transport=transport,
    )
    logger.info(
        "Created API key %s for %s (not stored)", key.id or "(no id)", key.username or "unknown"
    )
    return key


def check_api_key(api_key: str, settings: AnacondaAuthSettings) -> str:
    """The key, stripped, if it is a well-formed, unexpired key for these settings' domains.

    Offline checks only: a JWT (three base64url parts whose first two are JSON objects),
    an ``exp`` not in the past, and, when it names its issuer (``iss``) as a URL, an
    issuer on the API or auth domain. Raises `InvalidAPIKeyError` saying which check
    failed; the message never contains the key.
    """
    key = api_key.strip()
    api, auth = settings.api_domain, settings.auth_domain
    if not key:
        raise InvalidAPIKeyError("No API key was given.")
    problem = _claims_problem(_claims_of(key, api), api, auth)  # a key, but not one to store
    if problem is not None:
        raise InvalidAPIKeyError(f"The API key given for {api} {problem}.")
    return key


def _claims_of(key: str, api: str) -> dict[str, Any]:
    """The claims of `key` if it is shaped like an API key, else `InvalidAPIKeyError`."""
    problem = None
    parts = key.split(".")
    if len(key) > MAX_KEY_LENGTH or any(c.isspace() or not c.isprintable() for c in key):
        problem = "it is not a single word of text"
    elif len(parts) != 3 or not all(parts):
        problem = "an Anaconda API key is a JWT (three parts separated by dots)"
    else:
        decoded = unverified_jwt(key)
        if decoded is not None:
            return decoded[1]
        problem = "its parts are not base64url-encoded JSON objects"
    raise InvalidAPIKeyError(
        f"The text given is not a valid API key for {api}: {problem}; give the key itself "
        "(as printed by 'anaconda-auth api-key --new')."
    )


def _claims_problem(claims: dict[str, Any], api: str, auth: str) -> str | None:
    """What is wrong with a well-formed key, and what to do, as the end of a sentence."""
    exp = clamp_timestamp(claims.get("exp"))  # -1e20 is "1970-01-01", not an OverflowError
    if exp is not None and exp <= time.time():
        day = time.strftime("%Y-%m-%d", time.gmtime(exp))
        return f"expired on {day}; make a new one with 'anaconda-auth api-key --new'"
    issuer = claims.get("iss")
    if isinstance(issuer, str) and "://" in issuer:
        host = urlsplit(issuer).netloc.lower()
        if host not in (api.lower(), auth.lower()):
            return f"was issued by {host}, not by {api} or {auth}; check --auth-domain"
    return None


async def account_of_key(api_key: str, settings: AnacondaAuthSettings) -> dict[str, Any] | None:
    """The account the API says `api_key` belongs to; None when the API cannot be reached.

    Raises `InvalidAPIKeyError` when the API rejects the key (401/403).
    """
    import httpx  # the HTTP stack only when a key is checked with the API

    from ..api_client.clients import AsyncAuthClient
    from ..foundation.errors import AuthenticationError
    from ..network.transport import describe_network_error

    try:
        async with AsyncAuthClient(settings=settings, api_key=api_key) as client:
            return await client.account()
    except AuthenticationError as refused:  # any 401/403 for the key (refusals.refuses_key)
        raise InvalidAPIKeyError(
            f"{settings.api_domain} rejected the API key (it may have been revoked, or be "
            "for another site); check it, or make a new one with 'anaconda-auth api-key --new'."
        ) from refused
    except httpx.TransportError as exc:
        logger.warning(
            "Could not reach %s to check the API key (%s); storing it unchecked.",
            settings.api_domain,
            describe_network_error(exc),
        )
        return None


def username_of_account(account: dict[str, Any] | None) -> str | None:
    """The account's email (what a login stores as the user name), if the API said it."""
    user = account.get("user") if account else None
    email = user.get("email") if isinstance(user, dict) else None
    return email if isinstance(email, str) and email else None


async def store_api_key(
    api_key: str,
    *,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    check_online: bool = True,
    store: TokenStore | None = None,
) -> TokenInfo:
    """Check an API key you already have and store it as a login would; return it stored.

    The key must be well-formed for this domain (`check_api_key`); with `check_online`
    (the default) the API must also accept it, unless it cannot be reached, in which case the
    key is stored unchecked and a warning is logged. The stored entry keeps its repo
    tokens, and the user name is the account's email when the API said it. Raises
    `InvalidAPIKeyError` (nothing stored) for a malformed, expired or rejected key.
    """
    context = site_context(settings, store=store, auth_domain=auth_domain, ssl_verify=ssl_verify)
    key = check_api_key(api_key, context.settings)
    account = await account_of_key(key, context.settings) if check_online else None
    return await save_key(context, key, username_of_account(account))


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
