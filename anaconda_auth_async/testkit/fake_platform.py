"""`FakePlatform`: Anaconda's OpenID provider and API in memory, behind one httpx transport.

Re-exported by `anaconda_auth_async.testing`; see its docstring. It speaks the protocol the
SDK speaks (discovery, JWKS, authorization code with PKCE and RFC 9207 ``iss``, device
code, password grant, signed ID tokens, ``POST /api/iam/api-keys``, ``GET /api/account``)
so a login and every API call run the SDK's real code; only the network is replaced.

About 400 lines on purpose: the provider and the API are one fake with one shared state
(codes, tokens, keys, scripted answers), so a login's key is the key the API accepts.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ..foundation.safe_text import json_object
from ..settings.fields import AnacondaAuthSettings, resolve_settings
from ..storage.stored_token import TokenInfo
from .fake_keys import make_api_key

__all__ = ["ENDPOINTS", "Answer", "FakePlatform"]

ENDPOINTS: Mapping[str, str] = {
    "discovery": "/.well-known/openid-configuration",
    "jwks": "/.well-known/jwks.json",
    "device": "/oauth2/device/auth",
    "token": "/oauth2/token",
    "api-keys": "/api/iam/api-keys",
    "account": "/api/account",
}
"""The endpoint names `FakePlatform.script` accepts."""

Answer: TypeAlias = (
    "httpx.Response | Mapping[str, Any] | Callable[[httpx.Request], httpx.Response]"
    " | BaseException | type[BaseException]"
)
"""One scripted answer: see `FakePlatform.script`."""

_AUTH_REQUIRED = {"error": {"code": "auth_required", "message": "Authentication required"}}
_key_lock = threading.Lock()
_signing_key: list[Any] = []  # one RSA key per process: generating one takes a while


def _rsa_key() -> Any:
    from joserfc.jwk import RSAKey  # only a fake that signs ID tokens needs it

    with _key_lock:
        if not _signing_key:
            _signing_key.append(RSAKey.generate_key(2048, parameters={"kid": "fake-1"}))
        return _signing_key[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakePlatform:
    """Anaconda's login provider and API, faked in memory for tests.

    `transport` (an `httpx.MockTransport`) answers every request the SDK makes: pass it
    to ``login(transport=...)`` and a client's ``transport=``, or make it the default of
    every client with `anaconda_auth_async.testing.use_platform`. `user` holds the claims
    of the person who logs in and the account the API returns. `open_browser` completes
    a browser login without a browser and `deny_browser` refuses it; device-code logins
    are approved at once (set `approve_device` False to have them wait, or
    `device_code_login` False for a provider without them); `password` is the
    password-grant password. `api_key` makes a key the API accepts; `revoke` makes it
    rejected (401, ``auth_required``); `forbid` makes a path answer 403. `requests`
    records a copy of every request as it was sent (a retried request's first attempt
    keeps the key it carried); `route` adds answers for your own API paths; `script`
    queues one-off answers (an outage, a protocol error) for any endpoint.

    Its default domains are Anaconda's own, so code that assumes them is tested as it
    runs; the real login stored under those names is out of reach only inside the kit
    (`use_platform`, `use_store` or a fixture, each of which seals the keyring): outside
    it, pass a store (``login(store=MemoryTokenStore(), ...)``).
    """

    def __init__(
        self,
        *,
        auth_domain: str = "id.anaconda.cloud",
        api_domain: str = "anaconda.cloud",
        user: Mapping[str, Any] | None = None,
        client_id: str | None = None,
        password: str = "test-password",  # noqa: S107 - a fake's fixed test password
    ) -> None:
        self.auth_domain = auth_domain
        self.api_domain = api_domain
        self.issuer = f"https://{auth_domain}"
        self.api = f"https://{api_domain}"
        self.client_id = client_id or str(AnacondaAuthSettings.model_fields["client_id"].default)
        self.user: dict[str, Any] = {
            "sub": "test-user-id",
            "email": "test@example.com",
            "preferred_username": "test-user",
            "first_name": "Test",
            "last_name": "User",
            **(user or {}),
        }
        self.password = password
        self.approve_device = True
        """False: device-code logins wait (``authorization_pending``) until set True."""
        self.device_code_login = True
        """False: the provider offers no device-code login (no endpoint in discovery)."""
        self.id_token_claims: dict[str, Any] = {}
        """Claims that replace the usual ones in every ID token the provider signs (a wrong
        ``nonce``, ``aud`` or ``exp``, to test validation); a None value leaves one out."""
        self.requests: list[httpx.Request] = []
        self.minted: list[str] = []
        """Every API key the API created (by a login, or by `api_key`)."""
        self._valid: set[str] = set()
        self._access_tokens: set[str] = set()
        self._codes: dict[str, dict[str, str]] = {}
        self._device_codes: set[str] = set()
        self._forbidden: set[str] = set()
        self._routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self._scripts: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()
        self.transport: httpx.MockTransport = _CountingTransport(self)
        self.clients = 0
        """How many httpx clients were opened (``with``/``async with``) on `transport`."""

    # --- what a test calls ------------------------------------------------------------

    def settings(self, **overrides: Any) -> AnacondaAuthSettings:
        """Settings for this platform's domains (from the environment otherwise)."""
        return resolve_settings(
            None, auth_domain=self.auth_domain, api_domain=self.api_domain, **overrides
        )

    def api_key(self, *, expires_in: dt.timedelta = dt.timedelta(days=30)) -> str:
        """A new API key for `user` that the API accepts until it expires or is revoked."""
        key = make_api_key(
            exp=expires_in,
            sub=str(self.user["sub"]),
            claims={"jti": secrets.token_hex(8), "iss": self.api},
        )
        with self._lock:
            self._valid.add(key)
            self.minted.append(key)
        return key

    def token_info(self, *, expires_in: dt.timedelta = dt.timedelta(days=30)) -> TokenInfo:
        """A stored-login entry for `user` with a fresh key (save it in a token store)."""
        return TokenInfo(
            domain=self.auth_domain,
            api_key=self.api_key(expires_in=expires_in),
            username=str(self.user.get("preferred_username") or self.user["sub"]),
            extra={"api_domain": self.api_domain},
        )

    def revoke(self, key: str) -> None:
        """Make the API reject `key` with 401 ``auth_required``, as for a revoked key."""
        with self._lock:
            self._valid.discard(key)

    def forbid(self, path: str) -> None:
        """Make the API answer 403 to any request for `path` (a key without the right)."""
        self._forbidden.add(path)

    def route(
        self,
        method: str,
        path: str,
        answer: Callable[[httpx.Request], httpx.Response] | None = None,
        *,
        json: Any = None,
        status: int = 200,
    ) -> None:
        """Answer ``method path`` on the API, after the key check: with `answer(request)`,
        or with `json` and `status`."""
        if answer is None:

            def answer(request: httpx.Request) -> httpx.Response:
                return httpx.Response(status, json=json)

        self._routes[(method.upper(), path)] = answer

    def script(self, endpoint: str, *answers: Answer) -> None:
        """Queue one-off answers for `endpoint`: each request to it takes the next one.

        `endpoint` is a name in `ENDPOINTS` (``"discovery"``, ``"jwks"``, ``"device"``,
        ``"token"``, ``"api-keys"``, ``"account"``) or a path (``"/api/foo"``). An answer
        is an `httpx.Response`, sent as it is; a dict, the usual JSON answer with these
        fields changed (None removes one); a callable, ``answer(request) -> Response``;
        or an exception (instance or class), raised as a network failure is, such as
        `httpx.ConnectError`. Scripted answers come before any check (the API's key
        check too); once the queue is empty the platform answers as usual again.
        """
        path = ENDPOINTS.get(endpoint, endpoint)
        if not path.startswith("/"):
            raise ValueError(f"unknown endpoint {endpoint!r}: a path or one of {list(ENDPOINTS)}")
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(answers)

    def redirect(self, url: str, **params: str | None) -> httpx.Response:
        """Send the browser where the provider would after the login page at `url`.

        The SDK's loopback listener (``redirect_uri`` in `url`) gets a fresh ``code``, the
        ``state`` and ``iss``; `params` change those (None leaves one out) or add others,
        such as ``error``. Returns the listener's answer (its redirect to a success or
        error page). The building block of `open_browser` and `deny_browser`. `url` may be
        the login's single-use loopback link, which is followed first (`follow_start`).
        """
        url = self.follow_start(url)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = query
        sent = {"code": code, "state": query.get("state", ""), "iss": self.issuer, **params}
        given = urlencode({k: v for k, v in sent.items() if v is not None})
        redirect = f"{query['redirect_uri']}?{given}"
        with httpx.Client(trust_env=False) as browser:  # the real loopback listener
            return browser.get(redirect)

    def open_browser(self, url: str) -> bool:
        """Complete a browser login for `user`: what a person's browser would do.

        Pass it as ``login(flow="browser", open_browser=platform.open_browser)`` (``auto``
        chooses the device flow where no display is found); it sends the provider's
        redirect (with a fresh code, the ``state`` and ``iss``) to the SDK's loopback
        listener and returns True. Given a device-code page, it only returns True.
        """
        url = self.follow_start(url)
        if "redirect_uri" in parse_qs(urlsplit(url).query):
            self.redirect(url)
        return True  # a device-code page: the person enters the code (see `approve_device`)

    @staticmethod
    def follow_start(url: str) -> str:
        """The authorization URL a login's single-use loopback start link redirects to,
        fetched as a browser would (once); any other URL is returned as it is."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            return url
        with httpx.Client(trust_env=False) as browser:  # the real loopback listener
            answer = browser.get(url)
        return answer.headers.get("Location", url) if answer.status_code == 302 else url

    def deny_browser(self, url: str) -> bool:
        """Refuse a browser login, as a person who clicks "deny" does.

        Pass it as ``login(flow="browser", open_browser=platform.deny_browser)``: the
        login then raises `LoginDeniedError` (``access_denied``).
        """
        self.redirect(url, code=None, error="access_denied", error_description="Denied.")
        return True

    # --- the fake servers -------------------------------------------------------------

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(_copy(request))
        with self._lock:
            queue = self._scripts.get(request.url.path)
            answer = queue.popleft() if queue else None
        if isinstance(answer, httpx.Response):
            return answer
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, type):
            raise answer(f"scripted {answer.__name__} for {request.url}")
        if callable(answer):
            return answer(request)
        response = self._answer(request)
        if answer is None:
            return response
        body = {**(json_object(response.content) or {}), **answer}
        body = {k: v for k, v in body.items() if v is not None}
        if request.url.path == ENDPOINTS["device"]:  # the code now sent is the valid one
            self._device_codes.add(str(body.get("device_code")))
        return httpx.Response(response.status_code, json=body)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        # An issuer may have a path (auth_domain="id.example.test/api/iam"): under it.
        if f"{origin}{request.url.path}".startswith(f"{self.issuer}/"):
            return self._provider(request)
        if origin == self.api:
            return self._api(request)
        return httpx.Response(404, json={"error": "not_found"})

    def _provider(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(urlsplit(self.issuer).path)
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self._discovery())
        if path == "/.well-known/jwks.json":
            return httpx.Response(200, json={"keys": [_rsa_key().as_dict(private=False)]})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if path == ENDPOINTS["device"] and request.method == "POST" and self.device_code_login:
            answer: dict[str, Any] = {
                "device_code": secrets.token_urlsafe(16),
                "user_code": "ABCD-EFGH",
                "verification_uri": f"{self.issuer}/device",
                "verification_uri_complete": f"{self.issuer}/device?user_code=ABCD-EFGH",
                "expires_in": 600,
                "interval": 1,
            }
            self._device_codes.add(answer["device_code"])
            return httpx.Response(200, json=answer)
        if path == "/oauth2/token" and request.method == "POST":
            return self._token(form)
        return httpx.Response(404, json={"error": "not_found"})

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth2/auth",
            "token_endpoint": f"{self.issuer}/oauth2/token",
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            **(
                {"device_authorization_endpoint": self.issuer + ENDPOINTS["device"]}
                if self.device_code_login
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
            if not self.approve_device:
                return _oauth_error("authorization_pending", "Waiting for the user.")
        elif grant == "password":
            if form.get("password") != self.password:
                return _oauth_error("invalid_grant", "Wrong user name or password.")
        else:
            return _oauth_error("unsupported_grant_type", "Not supported here.")
        tokens = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer"}
        tokens["id_token"] = self._id_token(tokens["access_token"], nonce)
        with self._lock:
            self._access_tokens.add(tokens["access_token"])
        return httpx.Response(200, json={**tokens, "expires_in": 3600})

    def _id_token(self, access_token: str, nonce: str | None) -> str:
        from joserfc import jwt  # only a fake that signs ID tokens needs it

        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims = {
            **{k: v for k, v in self.user.items() if k in ("sub", "email", "preferred_username")},
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "at_hash": _b64(digest[:16]),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(self.id_token_claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = _rsa_key()
        return str(jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key))

    def _api(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if path == "/api/iam/api-keys" and method == "POST":
            if bearer not in self._access_tokens:
                return httpx.Response(401, json=_AUTH_REQUIRED)
            body = json_object(request.content) or {}
            key = self.api_key()
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
        if path == "/api/account" and method == "GET":
            return httpx.Response(200, json={"user": dict(self.user)})
        return httpx.Response(404, json={"error": {"code": "not_found"}})


class _CountingTransport(httpx.MockTransport):
    """The platform's transport; counts the clients opened on it (`FakePlatform.clients`)."""

    def __init__(self, platform: FakePlatform) -> None:
        super().__init__(platform._handle)
        self._platform = platform

    def __enter__(self) -> _CountingTransport:
        self._platform.clients += 1
        return self

    async def __aenter__(self) -> _CountingTransport:
        self._platform.clients += 1
        return self


def _copy(request: httpx.Request) -> httpx.Request:
    """`request` as it was sent: the auth flow sets a retry's header on the same object."""
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers.copy(),
        content=request.read(),
        extensions=dict(request.extensions),
    )


def _oauth_error(error: str, description: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error, "error_description": description})
