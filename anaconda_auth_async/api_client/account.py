"""What the clients' account helpers do: ``GET /api/account``, the email and name in it,
and the Gravatar image, each request bounded in all (body included) by the client's own
``timeout``.

`AsyncAuthClient` and `BaseClient` keep the public faces (coroutine methods on one,
properties on the other) and cache what these functions return.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, TypeAlias

import httpx

from ..foundation.safe_text import json_object
from ..network.transport import TIMEOUT_SETTING, deadline_exceeded, overall_limit, send_within

__all__ = [
    "Limit",
    "account_async",
    "account_sync",
    "avatar_async",
    "avatar_sync",
    "email_of",
    "name_of",
    "request_limit",
]

Limit: TypeAlias = tuple[float | None, str]
"""A limit for one whole request, in seconds (None: none), and what set it."""

_ACCOUNT = "/api/account"
_GRAVATAR = "https://gravatar.com/avatar/{}.png?size=120&d=404"


def request_limit(client: httpx.Client | httpx.AsyncClient, configured: float) -> Limit:
    """The account helpers' limit for one request, body included, and what set it.

    The client's own ``timeout`` (httpx's; from the ``timeout`` setting, `configured`,
    unless given), as `overall_limit` reads it, so ``timeout=`` governs every request a
    client sends.
    """
    own = client.timeout != httpx.Timeout(configured)
    return overall_limit(client.timeout), "the client's timeout" if own else TIMEOUT_SETTING


async def account_async(client: httpx.AsyncClient, limit: Limit) -> dict[str, Any]:
    """The account of the key's owner, read within `limit`."""
    request = client.build_request("GET", _ACCOUNT)
    response = await send_within(limit[0], request, client.send(request), setting=limit[1])
    response.raise_for_status()
    return _account_of(response)


async def avatar_async(client: httpx.AsyncClient, email: str, limit: Limit) -> bytes | None:
    """The Gravatar image (PNG) of `email`, or None, read within `limit`."""
    request = httpx.Request("GET", _gravatar_url(email))
    # A bare request: no API key or extra headers go to a third party.
    call = client.send(request, auth=None, follow_redirects=True)
    response = await send_within(limit[0], request, call, setting=limit[1])
    return response.content if response.is_success else None


def account_sync(client: httpx.Client, limit: Limit) -> dict[str, Any]:
    """`account_async` for `httpx.Client`."""
    response = _send_within(client, client.build_request("GET", _ACCOUNT), limit)
    response.raise_for_status()
    return _account_of(response)


def avatar_sync(client: httpx.Client, email: str, limit: Limit) -> bytes | None:
    """`avatar_async` for `httpx.Client`."""
    request = httpx.Request("GET", _gravatar_url(email))
    response = _send_within(client, request, limit, auth=None, follow_redirects=True)
    return response.content if response.is_success else None


def email_of(account: dict[str, Any]) -> str:
    """The account's email address; `ValueError` saying where to add one if it has none."""
    user = account.get("user")
    value = user.get("email") if isinstance(user, dict) else None
    if not isinstance(value, str):
        raise ValueError(
            "The account has no email address; check it at https://anaconda.cloud/profile."
        )
    return value


def name_of(account: dict[str, Any]) -> str:
    """The account holder's first and last name, or the email address if there is none."""
    user = account.get("user")
    user = user if isinstance(user, dict) else {}
    name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return name or email_of(account)


def _send_within(
    client: httpx.Client, request: httpx.Request, limit: Limit, **options: Any
) -> httpx.Response:
    """`client.send(request)` with its body read within `limit` in all.

    The sync face of `send_within`: the body is read chunk by chunk against a deadline
    (each chunk is bounded by httpx's read timeout), so a server trickling its answer
    cannot hold a helper like `BaseClient.account` for ever.
    """
    seconds, setting = limit
    deadline = None if seconds is None else time.monotonic() + seconds
    response = client.send(request, stream=True, **options)
    try:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if seconds is not None and deadline is not None and time.monotonic() > deadline:
                raise deadline_exceeded(seconds, request, setting)
    finally:
        response.close()
    headers = response.headers.copy()
    for name in ("Content-Encoding", "Content-Length", "Transfer-Encoding"):
        headers.pop(name, None)  # the body below is decoded and complete
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body),
        request=request,
        extensions=response.extensions,
        history=response.history,
    )


def _account_of(response: httpx.Response) -> dict[str, Any]:
    account = json_object(response.content)  # bounded: no RecursionError from a server
    if account is None:
        raise ValueError(
            f"{response.url} did not answer with a JSON object; check the client's base_url."
        )
    return account


def _gravatar_url(email: str) -> str:
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return _GRAVATAR.format(digest)
