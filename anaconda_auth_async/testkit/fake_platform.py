"""`FakePlatform`: Anaconda's OpenID provider and API in memory, behind one httpx transport.

Re-exported by `anaconda_auth_async.testing`; see its docstring. It composes the provider
side (`fake_provider`) and the API side (`fake_api`) behind one ``httpx.MockTransport``,
and holds what a test calls and sets: the user, scripted answers, the record of requests.
A login's key is the key the API accepts, since the API takes the provider's access tokens.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ..foundation.safe_text import json_object
from ..settings.fields import AnacondaAuthSettings, resolve_settings
from ..storage.stored_token import TokenInfo
from .fake_api import API_ENDPOINTS, FakeAPI
from .fake_provider import PROVIDER_ENDPOINTS, FakeProvider

__all__ = ["ENDPOINTS", "Answer", "FakePlatform"]

ENDPOINTS: Mapping[str, str] = {**PROVIDER_ENDPOINTS, **API_ENDPOINTS}
"""The endpoint names `FakePlatform.script` accepts."""

Answer: TypeAlias = (
    "httpx.Response | Mapping[str, Any] | Callable[[httpx.Request], httpx.Response]"
    " | BaseException | type[BaseException]"
)
"""One scripted answer: see `FakePlatform.script`."""


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
        self._provider = FakeProvider(self)
        self._api_server = FakeAPI(self, self._provider.access_tokens)
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
        return self._api_server.new_key(expires_in=expires_in)

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
        self._api_server.revoke(key)

    def forbid(self, path: str) -> None:
        """Make the API answer 403 to any request for `path` (a key without the right)."""
        self._api_server.forbid(path)

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

        self._api_server.route(method, path, answer)

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
        code = self._provider.authorize(query)
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
            self._provider.expect_device_code(str(body.get("device_code")))
        return httpx.Response(response.status_code, json=body)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        # An issuer may have a path (auth_domain="id.example.test/api/iam"): under it.
        if f"{origin}{request.url.path}".startswith(f"{self.issuer}/"):
            return self._provider.handle(request)
        if origin == self.api:
            return self._api_server.handle(request)
        return httpx.Response(404, json={"error": "not_found"})


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
