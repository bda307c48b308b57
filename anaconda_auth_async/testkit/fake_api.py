"""The API side of `FakePlatform`: Anaconda's API in memory.

The key exchange (``POST /api/iam/api-keys`` with an access token the provider issued),
the key check every other path makes (401 ``auth_required`` for a key it did not mint or
that was revoked), paths a test forbids (403), routes a test adds, and
``GET /api/account``. It keeps the keys it accepts; the user and the record of minted
keys belong to its platform.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Container, Mapping
from typing import Any, Protocol

import httpx

from ..foundation.safe_text import json_object
from .fake_keys import make_api_key

__all__ = ["API_ENDPOINTS", "APISettings", "FakeAPI"]

API_ENDPOINTS: Mapping[str, str] = {
    "api-keys": "/api/iam/api-keys",
    "account": "/api/account",
}
"""The API's endpoints that `FakePlatform.script` names."""

_AUTH_REQUIRED = {"error": {"code": "auth_required", "message": "Authentication required"}}


class APISettings(Protocol):
    """What the API reads from its platform, at each request (a test may change it)."""

    api: str
    user: dict[str, Any]
    minted: list[str]

    def api_key(self, *, expires_in: dt.timedelta = ...) -> str:
        """A new key the API accepts (the key exchange answers with one)."""


class FakeAPI:
    """Anaconda's API for one `FakePlatform` (its ``api`` origin).

    `access_tokens` holds the access tokens the provider issued, which the key exchange
    accepts.
    """

    def __init__(self, platform: APISettings, access_tokens: Container[str]) -> None:
        self._platform = platform
        self._access_tokens = access_tokens
        self._valid: set[str] = set()
        self._forbidden: set[str] = set()
        self._routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self._lock = threading.Lock()

    def new_key(self, *, expires_in: dt.timedelta) -> str:
        """Mint a key for the user, accepted until it expires or is revoked."""
        key = make_api_key(
            exp=expires_in,
            sub=str(self._platform.user["sub"]),
            claims={"jti": secrets.token_hex(8), "iss": self._platform.api},
        )
        with self._lock:
            self._valid.add(key)
            self._platform.minted.append(key)
        return key

    def revoke(self, key: str) -> None:
        """Reject `key` from now on (401 ``auth_required``)."""
        with self._lock:
            self._valid.discard(key)

    def forbid(self, path: str) -> None:
        """Answer 403 to any request for `path`."""
        self._forbidden.add(path)

    def route(
        self, method: str, path: str, answer: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        """Answer ``method path`` with `answer(request)`, after the key check."""
        self._routes[(method.upper(), path)] = answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer a request to the API's origin."""
        path, method = request.url.path, request.method
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if path == API_ENDPOINTS["api-keys"] and method == "POST":
            if bearer not in self._access_tokens:
                return httpx.Response(401, json=_AUTH_REQUIRED)
            body = json_object(request.content) or {}
            key = self._platform.api_key()
            return httpx.Response(
                201,
                json={
                    "id": secrets.token_hex(8),
                    "api_key": key,
                    "scopes": body.get("scopes", []),
                    "tags": body.get("tags", []),
                },
            )
        if bearer not in self._valid:
            return httpx.Response(401, json=_AUTH_REQUIRED)
        if path in self._forbidden:
            return httpx.Response(403, json={"error": {"code": "forbidden"}})
        answer = self._routes.get((method, path))
        if answer is not None:
            return answer(request)
        if path == API_ENDPOINTS["account"] and method == "GET":
            return httpx.Response(200, json={"user": dict(self._platform.user)})
        return httpx.Response(404, json={"error": {"code": "not_found"}})
