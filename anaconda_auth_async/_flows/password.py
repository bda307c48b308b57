"""The resource-owner password grant: deprecated, kept for anaconda-cloud-auth's ``basic=True``.

The library never prompts: the caller's ``ask_credentials`` callback supplies the user
name and password. A plain function runs in a worker thread (it may block on a terminal
prompt without stalling the event loop); a coroutine function is awaited. The password
is sent once, to the token endpoint, and is never logged or put in an error message.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from .._config import AnacondaAuthSettings
from .._exceptions import LoginDeniedError, LoginError
from .._oidc import ProviderMetadata
from .._text import json_object
from . import SCOPE, FlowResult
from .token_endpoint import parse_token_response, post_token_request, token_form

__all__ = ["CredentialsCallback", "password_flow", "password_token_request"]

logger = logging.getLogger(__name__)

CredentialsCallback = Callable[[], "tuple[str, str] | Awaitable[tuple[str, str]]"]
"""Returns ``(username, password)``, or an awaitable of it; called once per login."""


def password_token_request(settings: AnacondaAuthSettings, username: str, password: str) -> str:
    """The urlencoded body of the password grant (RFC 6749 section 4.3.2)."""
    return token_form(
        "password",
        username=username,
        password=password,
        client_id=settings.client_id,
        scope=SCOPE,
    )


async def _ask(ask_credentials: CredentialsCallback) -> tuple[str, str]:
    if inspect.iscoroutinefunction(ask_credentials):
        result: Any = await ask_credentials()
    else:
        result = await anyio.to_thread.run_sync(ask_credentials, abandon_on_cancel=True)
        if inspect.isawaitable(result):
            result = await result
    if (
        not isinstance(result, tuple)
        or len(result) != 2
        or not all(isinstance(part, str) and part for part in result)
    ):
        raise LoginError(
            "The credentials callback did not return a (username, password) pair of "
            "non-empty strings; return both to log in with a password."
        )
    return result[0], result[1]


def _error_code(body: bytes) -> str | None:
    error = (json_object(body) or {}).get("error")
    return error if isinstance(error, str) else None


async def password_flow(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    *,
    ask_credentials: CredentialsCallback | None,
) -> FlowResult:
    """Log in with a user name and password (deprecated); return the provider's tokens.

    Warns with `DeprecationWarning`. Raises `LoginError` without a callback or when the
    provider fails, and `LoginDeniedError` when the credentials are not accepted.
    """
    warnings.warn(
        "Logging in with a user name and password is deprecated and will stop working; "
        "log in with the browser or a device code instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if ask_credentials is None:
        raise LoginError(
            "The password login needs a credentials callback: pass ask_credentials= "
            "returning (username, password), or log in with the browser or a device code."
        )
    username, password = await _ask(ask_credentials)
    endpoint = metadata.token_endpoint
    form = password_token_request(settings, username, password)
    response = await post_token_request(http, endpoint, form)
    status, error = response.status_code, _error_code(response.content)
    # invalid_grant is RFC 6749's answer to bad credentials; a bare 401 means the same.
    if error == "invalid_grant" or (status == 401 and error is None):
        logger.debug("Password login refused by %s (HTTP %s)", endpoint, status)
        raise LoginDeniedError(
            "The user name or password was not accepted; check them and try again.",
            error=error or "http_401",
        )
    return FlowResult(tokens=parse_token_response(status, response.content), nonce=None)
