"""Trade the login's access token for a long-lived Anaconda API key.

``POST https://<api domain>/api/iam/api-keys`` with the access token as Bearer and
``{"scopes": [...], "tags": [...]}`` answers 201 with ``{"api_key", "id", "expires_at"}``;
`APIKey` holds the answer. Any other answer becomes one `APIKeyExchangeError` with the
status and the server's own message (``error.message``, ``detail``, ``message``, or the
text of the body), truncated, with anything that looks like a token removed: neither the
access token nor a key ever reaches an error message or a log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx

from .._version import __version__
from ..foundation.errors import APIKeyExchangeError
from ..foundation.jwt import jwt_expiry
from ..foundation.outside_values import clamp_timestamp
from ..foundation.public_names import publish
from ..foundation.safe_text import MAX_LENGTH, MAX_SCAN, html_text, json_object, safe_line
from ..network.transport import describe_network_error

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings

__all__ = [
    "API_KEY_PATH",
    "DEFAULT_SCOPES",
    "APIKey",
    "api_key_request",
    "exchange_api_key",
    "mint_api_key",
    "parse_api_key_response",
    "parse_new_api_key",
    "server_message",
]

logger = logging.getLogger(__name__)

API_KEY_PATH = "/api/iam/api-keys"
DEFAULT_SCOPES = ("cloud:read", "cloud:write", "repo:read")
"""The scopes of the key every login creates, and of ``api-key --new`` by default.

The key a login stores is read by every Anaconda tool on the machine, so it asks for the
union of what they ask for: anaconda-cloud-auth 0.6 ``cloud:read cloud:write``,
anaconda-auth 0.15 adds ``repo:read`` (its conda plugin sends the key to the package
repository). The ``api_key_scopes`` setting narrows it for users who want less."""
CLIENT_TAG = f"anaconda-auth-async/v{__version__}"
MAX_MESSAGE = MAX_LENGTH


@dataclass(frozen=True)
class APIKey:
    """A newly created API key and what the API said about it; the key is never in its repr.

    `expires_at` is a UNIX time (from the answer's ``expires_at``, else the key's own
    ``exp``; None when neither says). `username` is who logged in to create it, if known.
    """

    api_key: str = field(repr=False)
    id: str | None = None
    expires_at: float | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    tags: tuple[str, ...] = ()
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``anaconda-auth api-key --new --json`` (includes the key)."""
        expires = None
        when = clamp_timestamp(self.expires_at)
        if when is not None:  # never raises: the key is printed with it, after its creation
            expires = datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="seconds")
        return {
            "api_key": self.api_key,
            "id": self.id,
            "expires_at": expires,
            "scopes": list(self.scopes),
            "tags": list(self.tags),
            "username": self.username,
        }


def _clean(values: Iterable[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Split comma lists, strip, drop empties and repeats, keep the order."""
    if values is None:
        return default
    out: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                if any(c.isspace() or not c.isprintable() for c in part):
                    raise ValueError(f"{part!r} is not a valid scope or tag (no spaces allowed)")
                out.append(part)
    return tuple(out) or default


def api_key_request(
    settings: AnacondaAuthSettings,
    *,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of the key request.

    `scopes` default to the ``api_key_scopes`` setting, else `DEFAULT_SCOPES`; given but
    empty (or only commas and blanks) they raise `ValueError`. The tag naming this SDK and
    its version is always sent first, then `tags`. Comma-separated values are split.
    """
    defaults = settings.api_key_scopes or DEFAULT_SCOPES
    given = _clean(scopes, ())
    if scopes is not None and not given:
        # An empty shell variable (--scope "$SCOPES") must not mint a key with every default.
        raise ValueError(
            "The scopes given are empty; name at least one scope, or give none for the "
            f"defaults ({', '.join(defaults)})."
        )
    body = {
        "scopes": list(given or defaults),
        "tags": list(_clean([CLIENT_TAG, *(tags or ())], (CLIENT_TAG,))),
    }
    return f"{settings.api_base_url}{API_KEY_PATH}", body


def _from_json(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    for name in ("detail", "message", "error_description", "error"):
        value = data.get(name)
        if isinstance(value, str):
            return value
        if value is not None and name == "detail":
            return json.dumps(value)  # FastAPI's list of validation errors
    return None


def server_message(body: bytes, content_type: str, *, secrets: tuple[str, ...] = ()) -> str:
    """The server's explanation in one short line, without tokens or the given secrets."""
    data = json_object(body)
    message: str | None
    if data is not None:
        message = _from_json(data)
    else:
        message = body[: MAX_SCAN * 4].decode("utf-8", errors="replace")  # bounded first
        if "html" in content_type or message.lstrip().startswith("<"):
            message = html_text(message)
        elif message.lstrip()[:1] in ("[", '"', "{"):
            message = None
    if message is None:  # a JSON body with no message may hold anything: do not echo it
        return "no message"
    return safe_line(message, secrets=secrets, limit=MAX_MESSAGE) or "no message"


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value[:64].replace("Z", "+00:00"))
    except ValueError:
        return None
    return clamp_timestamp(when.timestamp()) if when.tzinfo is not None else None


def _strings(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return default


def parse_new_api_key(
    status: int,
    body: bytes,
    content_type: str,
    *,
    url: str,
    access_token: str = "",
    request: dict[str, Any] | None = None,
) -> APIKey:
    """The `APIKey` from a 201 answer; raise `APIKeyExchangeError` for anything else.

    Scopes and tags the answer does not list are taken from the `request` body.
    """
    request = request or {}
    if status == 201:
        data = json_object(body) or {}
        key = data.get("api_key")
        if isinstance(key, str) and key:
            key_id = data.get("id")
            return APIKey(
                api_key=key,
                id=str(key_id) if isinstance(key_id, str | int) else None,
                expires_at=_timestamp(data.get("expires_at")) or jwt_expiry(key),
                scopes=_strings(data.get("scopes"), _strings(request.get("scopes"), ())),
                tags=_strings(data.get("tags"), _strings(request.get("tags"), ())),
            )
        raise APIKeyExchangeError(
            f"{url} created an API key but its answer had no api_key field; "
            "log in again, and report this if it persists.",
            status_code=status,
        )
    message = server_message(body, content_type, secrets=(access_token,))
    advice = (
        "the service is having problems; try logging in again in a few minutes."
        if status >= 500
        else "log in again; if this persists, check that your account may create API keys."
    )
    raise APIKeyExchangeError(
        f"Could not get an API key: {url} answered HTTP {status} ({message}); {advice}",
        status_code=status,
    )


def parse_api_key_response(
    status: int, body: bytes, content_type: str, *, url: str, access_token: str = ""
) -> str:
    """The API key from a 201 answer; raise `APIKeyExchangeError` for anything else."""
    return parse_new_api_key(status, body, content_type, url=url, access_token=access_token).api_key


async def mint_api_key(
    http: httpx.AsyncClient,
    settings: AnacondaAuthSettings,
    access_token: str,
    *,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> APIKey:
    """Create an API key with the login's access token; return it with its metadata.

    The request carries the ``extra_headers`` setting, as every API request does. Raises
    `APIKeyExchangeError` when the server cannot be reached or does not answer 201.
    """
    url, body = api_key_request(settings, scopes=scopes, tags=tags)
    headers = {**settings.extra_headers, "Authorization": f"Bearer {access_token}"}
    try:
        response = await http.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise APIKeyExchangeError(
            f"Could not reach {url} to create an API key ({describe_network_error(exc)}); "
            "check your network connection, proxy and ssl_verify settings, then log in again."
        ) from exc
    logger.debug("API key request to %s answered HTTP %s", url, response.status_code)
    return parse_new_api_key(
        response.status_code,
        response.content,
        response.headers.get("content-type", ""),
        url=url,
        access_token=access_token,
        request=body,
    )


async def exchange_api_key(
    http: httpx.AsyncClient, settings: AnacondaAuthSettings, access_token: str
) -> str:
    """Create an API key with the default scopes (what a login stores); return the key."""
    return (await mint_api_key(http, settings, access_token)).api_key


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
