"""Trade the login's access token for a long-lived Anaconda API key.

``POST https://<api domain>/api/iam/api-keys`` with the access token as Bearer answers
201 with ``{"api_key": ...}``. Any other answer becomes one `APIKeyExchangeError` with the
status and the server's own message (``error.message``, ``detail``, ``message``, or the
text of the body), truncated, with anything that looks like a token removed: neither the
access token nor a key ever reaches an error message or a log.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from ._config import AnacondaAuthSettings
from ._exceptions import APIKeyExchangeError
from ._transport import describe_network_error, redact_tokens
from ._version import __version__

__all__ = [
    "API_KEY_PATH",
    "api_key_request",
    "exchange_api_key",
    "parse_api_key_response",
    "server_message",
]

logger = logging.getLogger(__name__)

API_KEY_PATH = "/api/iam/api-keys"
SCOPES = ("cloud:read", "cloud:write")
MAX_MESSAGE = 200

_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def api_key_request(settings: AnacondaAuthSettings) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of the key request."""
    body = {"scopes": list(SCOPES), "tags": [f"anaconda-auth-async/v{__version__}"]}
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
    try:
        message = _from_json(json.loads(body))
        if message is None:  # a JSON body with no message may hold anything: do not echo it
            return "no message"
    except ValueError:
        message = body.decode("utf-8", errors="replace")
        if "html" in content_type or message.lstrip().startswith("<"):
            message = _TAG.sub(" ", message)
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    message = " ".join(redact_tokens(message).split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return message or "no message"


def parse_api_key_response(
    status: int, body: bytes, content_type: str, *, url: str, access_token: str = ""
) -> str:
    """The API key from a 201 answer; raise `APIKeyExchangeError` for anything else."""
    if status == 201:
        try:
            key = json.loads(body).get("api_key")
        except (ValueError, AttributeError):
            key = None
        if isinstance(key, str) and key:
            return key
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


async def exchange_api_key(
    http: httpx.AsyncClient, settings: AnacondaAuthSettings, access_token: str
) -> str:
    """Create an API key with the login's access token; return the key.

    The request carries the ``extra_headers`` setting, as every API request does. Raises
    `APIKeyExchangeError` when the server cannot be reached or does not answer 201.
    """
    url, body = api_key_request(settings)
    headers = {**settings.extra_headers, "Authorization": f"Bearer {access_token}"}
    try:
        response = await http.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise APIKeyExchangeError(
            f"Could not reach {url} to create an API key ({describe_network_error(exc)}); "
            "check your network connection, proxy and ssl_verify settings, then log in again."
        ) from exc
    logger.debug("API key request to %s answered HTTP %s", url, response.status_code)
    return parse_api_key_response(
        response.status_code,
        response.content,
        response.headers.get("content-type", ""),
        url=url,
        access_token=access_token,
    )
