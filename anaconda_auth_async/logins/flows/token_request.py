"""The token endpoint: one way to build, send and read a token request, for every grant.

Each flow names its grant and parameters; `token_form` has authlib build the urlencoded
body (`prepare_token_request`), `post_token_request` sends it with the caller's
``httpx.AsyncClient`` (so the transport settings apply) and reports an unreachable
endpoint as `TokenEndpointUnreachableError` with `describe_network_error`, and
`parse_token_response` reads the answer (pure). `request_tokens` is the three together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import httpx
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_token_request,
)

from ...foundation.errors import LoginDeniedError, LoginError
from ...foundation.outside_values import finite_number
from ...foundation.safe_text import json_object, safe_line
from ...network.transport import describe_network_error

__all__ = [
    "OAuthTokens",
    "TokenEndpointUnreachableError",
    "form_secrets",
    "parse_token_response",
    "post_token_request",
    "request_tokens",
    "token_form",
]

# Errors that mean "the provider (or the user) said no", as opposed to a protocol problem.
_DENIED = frozenset({"access_denied", "invalid_grant"})
_SECRET_PARAMS = ("code", "code_verifier", "device_code", "password", "refresh_token")
_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


@dataclass(frozen=True)
class OAuthTokens:
    """A successful token endpoint response; its repr shows no token."""

    access_token: str = field(repr=False)
    id_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


class TokenEndpointUnreachableError(LoginError):
    """The token endpoint could not be reached (the device flow retries; others fail)."""


def token_form(grant_type: str, **params: str | None) -> str:
    """The urlencoded body of a token request for `grant_type` (pure; authlib builds it).

    Parameters that are None or empty are left out; ``scope`` may be a space-separated
    string. A public client: ``client_id`` goes in the body, no secret.
    """
    return str(prepare_token_request(grant_type, **{k: v for k, v in params.items() if v}))


async def post_token_request(
    http: httpx.AsyncClient, token_endpoint: str, form: str
) -> httpx.Response:
    """POST an urlencoded `form` (from `token_form`) to the token endpoint; the response.

    Time-limited by `http` (`async_http_client`: the timeout setting, body included);
    raises `TokenEndpointUnreachableError` (a `LoginError`) naming the endpoint and the
    cause when it cannot be reached.
    """
    try:
        return await http.post(token_endpoint, content=form.encode(), headers=_HEADERS)
    except httpx.HTTPError as exc:
        raise TokenEndpointUnreachableError(
            f"Could not reach the token endpoint {token_endpoint} ({describe_network_error(exc)}); "
            "check the network connection, proxy and ssl_verify settings, and try again."
        ) from None


async def request_tokens(http: httpx.AsyncClient, token_endpoint: str, form: str) -> OAuthTokens:
    """`post_token_request`, then `parse_token_response` of its answer."""
    response = await post_token_request(http, token_endpoint, form)
    return parse_token_response(response.status_code, response.content, secrets=form_secrets(form))


def form_secrets(form: str) -> tuple[str, ...]:
    """The values of a token request that are credentials (the code, the PKCE verifier,
    the device code, a password...): an error answer must never echo them."""
    values = parse_qs(form, keep_blank_values=False)
    return tuple(v for name in _SECRET_PARAMS for v in values.get(name, ()) if v)


def parse_token_response(
    status: int, body: bytes | Mapping[str, Any], *, secrets: Iterable[str] = ()
) -> OAuthTokens:
    """Read a token endpoint response (pure).

    An ``error`` of ``access_denied`` or ``invalid_grant`` (the user or the provider
    refused: a denied consent, an expired or reused code, wrong credentials) raises
    `LoginDeniedError` with the provider's code and description; any other error, a
    non-JSON body or a missing ``access_token`` raises `LoginError` naming the status.
    The provider's text is cleaned and redacted, `secrets` (`form_secrets` of the
    request) included, wherever they appear in it.
    """
    data = json_object(body) if isinstance(body, (bytes, bytearray)) else body
    if not isinstance(data, Mapping):
        raise LoginError(
            f"The token endpoint answered HTTP {status} with a response that is not JSON; "
            "try again later."
        )
    error = data.get("error")
    if error is not None:
        raise _token_error(status, str(error), data.get("error_description"), tuple(secrets))
    access_token = data.get("access_token")
    if not (200 <= status < 300) or not isinstance(access_token, str) or not access_token:
        raise LoginError(
            f"The token endpoint answered HTTP {status} without an access token; try again later."
        )
    id_token = data.get("id_token")
    refresh_token = data.get("refresh_token")
    return OAuthTokens(
        access_token=access_token,
        id_token=id_token if isinstance(id_token, str) else None,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        token_type=str(data.get("token_type") or "Bearer"),
        expires_in=_as_int(data.get("expires_in")),
        raw=MappingProxyType(dict(data)),
    )


def _token_error(
    status: int, error: str, description: object, secrets: tuple[str, ...] = ()
) -> LoginError:
    detail = safe_line(error, secrets=secrets)
    text = None
    if isinstance(description, str) and description.strip():
        text = safe_line(description, secrets=secrets)
        detail = f"{detail}: {text}"
    if error in _DENIED:
        return LoginDeniedError(
            f"The provider refused the login ({detail}); run the login again.",
            error=error,
            description=text,
        )
    return LoginError(
        f"The token endpoint answered HTTP {status} with an error ({detail}); "
        "run the login again, and check ANACONDA_AUTH_CLIENT_ID if it persists."
    )


def _as_int(value: object) -> int | None:
    # No NaN, infinity, 5,000 digits or "²": a lifetime the provider got wrong is unknown.
    try:
        return int(finite_number(value, minimum=0))
    except ValueError:
        return None
