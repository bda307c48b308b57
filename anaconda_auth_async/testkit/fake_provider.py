"""The OpenID provider side of `FakePlatform`: Anaconda's login provider in memory.

Discovery, JWKS, authorization code with PKCE (the code a person's login registers),
device code, password grant and signed ID tokens. It keeps the codes and the access tokens
it issued (the API side's key exchange accepts exactly those); what a test sets (the user,
the password, ``approve_device``, ...) it reads live from its platform.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx

__all__ = ["PROVIDER_ENDPOINTS", "FakeProvider", "ProviderSettings"]

PROVIDER_ENDPOINTS: Mapping[str, str] = {
    "discovery": "/.well-known/openid-configuration",
    "jwks": "/.well-known/jwks.json",
    "device": "/oauth2/device/auth",
    "token": "/oauth2/token",
}
"""The provider's endpoints (under the issuer) that `FakePlatform.script` names."""

_key_lock = threading.Lock()
_signing_key: list[Any] = []  # one RSA key per process: generating one takes a while


class ProviderSettings(Protocol):
    """What the provider reads from its platform, at each request (a test may change it)."""

    issuer: str
    client_id: str
    user: dict[str, Any]
    password: str
    approve_device: bool
    device_code_login: bool
    id_token_claims: dict[str, Any]


class FakeProvider:
    """Anaconda's OpenID provider for one `FakePlatform` (its ``issuer``)."""

    def __init__(self, platform: ProviderSettings) -> None:
        self._platform = platform
        self.access_tokens: set[str] = set()
        """Every access token issued: the API side exchanges exactly these for a key."""
        self._codes: dict[str, dict[str, str]] = {}
        self._device_codes: set[str] = set()
        self._lock = threading.Lock()

    def authorize(self, query: Mapping[str, str]) -> str:
        """A fresh authorization code for a login page's `query` (what logging in there
        gives the browser); the token endpoint checks PKCE and ``redirect_uri`` against it."""
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = dict(query)
        return code

    def expect_device_code(self, device_code: str) -> None:
        """Accept `device_code` at the token endpoint (a scripted device answer sent it)."""
        self._device_codes.add(device_code)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer a request under the issuer."""
        platform = self._platform
        path = request.url.path.removeprefix(urlsplit(platform.issuer).path)
        if path == PROVIDER_ENDPOINTS["discovery"]:
            return httpx.Response(200, json=self._discovery())
        if path == PROVIDER_ENDPOINTS["jwks"]:
            return httpx.Response(200, json={"keys": [rsa_key().as_dict(private=False)]})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        device = PROVIDER_ENDPOINTS["device"]
        if path == device and request.method == "POST" and platform.device_code_login:
            answer: dict[str, Any] = {
                "device_code": secrets.token_urlsafe(16),
                "user_code": "ABCD-EFGH",
                "verification_uri": f"{platform.issuer}/device",
                "verification_uri_complete": f"{platform.issuer}/device?user_code=ABCD-EFGH",
                "expires_in": 600,
                "interval": 1,
            }
            self._device_codes.add(answer["device_code"])
            return httpx.Response(200, json=answer)
        if path == PROVIDER_ENDPOINTS["token"] and request.method == "POST":
            return self._token(form)
        return httpx.Response(404, json={"error": "not_found"})

    def _discovery(self) -> dict[str, Any]:
        issuer = self._platform.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth2/auth",
            "token_endpoint": f"{issuer}/oauth2/token",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            **(
                {"device_authorization_endpoint": issuer + PROVIDER_ENDPOINTS["device"]}
                if self._platform.device_code_login
                else {}
            ),
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def _token(self, form: Mapping[str, str]) -> httpx.Response:
        grant = form.get("grant_type")
        nonce: str | None = None
        if grant == "authorization_code":
            with self._lock:
                sent = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = _b64(hashlib.sha256(verifier.encode()).digest())
            if sent is None or sent.get("code_challenge") != challenge:
                return _oauth_error("invalid_grant", "The code is unknown, used, or PKCE failed.")
            if sent.get("redirect_uri") != form.get("redirect_uri"):
                return _oauth_error("invalid_grant", "The redirect_uri does not match.")
            nonce = sent.get("nonce")
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") not in self._device_codes:
                return _oauth_error("invalid_grant", "The device code is unknown.")
            if not self._platform.approve_device:
                return _oauth_error("authorization_pending", "Waiting for the user.")
        elif grant == "password":
            if form.get("password") != self._platform.password:
                return _oauth_error("invalid_grant", "Wrong user name or password.")
        else:
            return _oauth_error("unsupported_grant_type", "Not supported here.")
        tokens = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer"}
        tokens["id_token"] = self.id_token(tokens["access_token"], nonce)
        with self._lock:
            self.access_tokens.add(tokens["access_token"])
        return httpx.Response(200, json={**tokens, "expires_in": 3600})

    def id_token(self, access_token: str, nonce: str | None) -> str:
        """An ID token for the platform's user, signed with `rsa_key`, for `access_token`."""
        from joserfc import jwt  # only a fake that signs ID tokens needs it

        platform = self._platform
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims = {
            **{
                k: v
                for k, v in platform.user.items()
                if k in ("sub", "email", "preferred_username")
            },
            "iss": platform.issuer,
            "aud": platform.client_id,
            "iat": now,
            "exp": now + 600,
            "at_hash": _b64(digest[:16]),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(platform.id_token_claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = rsa_key()
        return str(jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key))


def rsa_key() -> Any:
    """The provider's signing key (its JWKS): one RSA key per process, made on first use."""
    from joserfc.jwk import RSAKey  # only a fake that signs ID tokens needs it

    with _key_lock:
        if not _signing_key:
            _signing_key.append(RSAKey.generate_key(2048, parameters={"kid": "fake-1"}))
        return _signing_key[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _oauth_error(error: str, description: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error, "error_description": description})
