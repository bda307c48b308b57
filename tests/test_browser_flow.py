"""The browser login: protocol helpers (pure) and the flow over a real loopback listener,
against the test kit's fake provider (its token answers scripted where a test needs)."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import pytest

from anaconda_auth_async import AnacondaAuthSettings
from anaconda_auth_async.foundation.errors import LoginDeniedError, LoginError
from anaconda_auth_async.logins.events import FlowResult, LoginEvent
from anaconda_auth_async.logins.flows.browser import (
    SCOPE,
    AuthorizationSecrets,
    authorization_url,
    browser_flow,
    code_exchange_form,
)
from anaconda_auth_async.logins.provider import ProviderMetadata, discover
from anaconda_auth_async.testing import FakePlatform

ISSUER = "https://id.example.test"
CLIENT_ID = "client-123"
SUCCESS = "https://anaconda.example.test/local-login-success"
ERROR = "https://anaconda.example.test/local-login-error"
LIMIT = 10  # seconds: every test stops by itself
METADATA = ProviderMetadata(
    issuer=ISSUER,
    authorization_endpoint=f"{ISSUER}/oauth2/auth",
    token_endpoint=f"{ISSUER}/oauth2/token",
    jwks_uri=f"{ISSUER}/jwks",
    device_authorization_endpoint=None,
    id_token_signing_alg_values_supported=("RS256",),
    raw={},
)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values()), parsed
    return {name: values[0] for name, values in parsed.items()}


def settings(**values: Any) -> AnacondaAuthSettings:
    options: dict[str, Any] = {
        "auth_domain": "id.example.test",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://127.0.0.1:8000/auth/oidc",
        "ephemeral_port": True,
        "login_success_url": SUCCESS,
        "login_error_url": ERROR,
        "login_timeout": LIMIT,
    }
    options.update(values)
    return AnacondaAuthSettings(**options)


# -- pure helpers ---------------------------------------------------------------------


def test_secrets_are_random_and_hidden() -> None:
    first, second = AuthorizationSecrets.generate(), AuthorizationSecrets.generate()
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert 43 <= len(first.code_verifier) <= 128
    assert first.code_verifier not in repr(first)
    assert first.state not in repr(first)


def test_authorization_url_has_every_parameter() -> None:
    secrets = AuthorizationSecrets(state="st", nonce="no", code_verifier="v" * 64)
    url = authorization_url(
        METADATA.authorization_endpoint,
        client_id=CLIENT_ID,
        redirect_uri="http://127.0.0.1:8000/auth/oidc",
        secrets=secrets,
    )
    assert url.startswith(f"{METADATA.authorization_endpoint}?")
    assert query_of(url) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://127.0.0.1:8000/auth/oidc",
        "scope": "openid email profile",
        "state": "st",
        "nonce": "no",
        "code_challenge": s256("v" * 64),
        "code_challenge_method": "S256",
    }
    assert "v" * 64 not in url  # the verifier itself never leaves this process
    assert SCOPE == "openid email profile"


def test_authorization_url_keeps_an_existing_query() -> None:
    secrets = AuthorizationSecrets.generate()
    url = authorization_url(
        f"{ISSUER}/auth?tenant=x", client_id=CLIENT_ID, redirect_uri="http://h/", secrets=secrets
    )
    assert query_of(url)["tenant"] == "x"
    assert query_of(url)["state"] == secrets.state


def test_code_exchange_form() -> None:
    form = code_exchange_form(
        code="the-code",
        client_id=CLIENT_ID,
        redirect_uri="http://127.0.0.1:5555/auth/oidc",
        code_verifier="v" * 64,
    )
    assert query_of(f"?{form}") == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://127.0.0.1:5555/auth/oidc",
        "code_verifier": "v" * 64,
    }


# -- the flow, end to end -------------------------------------------------------------


TOKENS = {
    "access_token": "access-1",
    "id_token": "id-1",
    "refresh_token": "refresh-1",
    "token_type": "Bearer",
    "expires_in": 3600,
}


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(auth_domain="id.example.test", client_id=CLIENT_ID)


def token_requests(platform: FakePlatform) -> list[dict[str, str]]:
    """The forms the platform's token endpoint received."""
    sent = [r for r in platform.requests if r.url.path == "/oauth2/token"]
    return [query_of(f"?{r.content.decode()}") for r in sent]


class Browser:
    """What the person's browser did: the pages it opened and the listener's answers."""

    def __init__(self, platform: FakePlatform) -> None:
        self.platform = platform
        self.authorize_urls: list[str] = []
        self.responses: list[httpx.Response] = []
        self.done = threading.Event()

    def login(self, **params: str | None) -> Callable[[str], bool]:
        """An `open_browser` that ends on the provider's redirect with `params` changed."""

        def open_browser(url: str) -> bool:
            try:
                url = self.platform.follow_start(url)  # the start link, fetched once
                self.authorize_urls.append(url)
                self.responses.append(self.platform.redirect(url, **params))
                return True
            finally:
                self.done.set()

        return open_browser

    async def finished(self) -> None:
        """Wait for the browser thread: the flow does not wait for its opener to return."""
        assert await anyio.to_thread.run_sync(self.done.wait, LIMIT)


async def run_flow(
    platform: FakePlatform,
    open_browser: Callable[[str], bool],
    events: list[LoginEvent] | None = None,
    *,
    on_event: Callable[[LoginEvent], object] | None = None,
    **values: Any,
) -> FlowResult:
    sink = on_event or (events if events is not None else []).append
    with anyio.fail_after(LIMIT):
        async with httpx.AsyncClient(transport=platform.transport) as http:
            options = settings(**values)
            metadata = await discover(http, options)
            return await browser_flow(
                http, metadata, options, on_event=sink, open_browser=open_browser
            )


@pytest.mark.anyio
async def test_browser_flow_end_to_end(platform: FakePlatform) -> None:
    platform.script("token", httpx.Response(200, json=TOKENS))
    browser = Browser(platform)
    events: list[LoginEvent] = []
    result = await run_flow(platform, browser.login(code="code-1"), events)

    assert result.tokens.access_token == "access-1"
    assert result.tokens.id_token == "id-1"
    assert result.tokens.refresh_token == "refresh-1"

    [url] = browser.authorize_urls
    sent = query_of(url)
    assert result.nonce == sent["nonce"]
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "openid email profile"
    assert sent["client_id"] == CLIENT_ID
    assert urlsplit(sent["redirect_uri"]).port not in (None, 8000)  # ephemeral port

    [exchange] = token_requests(platform)
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["code"] == "code-1"
    assert exchange["client_id"] == CLIENT_ID
    assert exchange["redirect_uri"] == sent["redirect_uri"]  # identical, as RFC 6749 wants
    assert s256(exchange["code_verifier"]) == sent["code_challenge"]

    await browser.finished()
    [browser_response] = browser.responses
    assert browser_response.status_code == 302
    assert browser_response.headers["location"] == SUCCESS

    assert [e.kind for e in events] == ["browser", "waiting", "exchanging"]
    # the browser got the single-use loopback link, never the URL with the state
    start = events[0].url
    assert start is not None
    assert start.startswith("http://127.0.0.1:")
    assert "state" not in start


@pytest.mark.anyio
async def test_denied_in_the_browser_never_exchanges_a_code(platform: FakePlatform) -> None:
    browser = Browser(platform)
    events: list[LoginEvent] = []
    deny = browser.login(code=None, error="access_denied", error_description="The user said no.")
    with pytest.raises(LoginDeniedError) as info:
        await run_flow(platform, deny, events)
    assert info.value.error == "access_denied"
    assert info.value.description == "The user said no."
    assert token_requests(platform) == []
    await browser.finished()
    assert browser.responses[0].headers["location"] == ERROR
    assert "exchanging" not in [e.kind for e in events]


@pytest.mark.anyio
async def test_forged_state_never_exchanges_the_code(platform: FakePlatform) -> None:
    browser = Browser(platform)
    ended = False
    async with anyio.create_task_group() as task_group:

        async def stop_once_answered() -> None:
            await browser.finished()
            task_group.cancel_scope.cancel()

        task_group.start_soon(stop_once_answered)
        await run_flow(platform, browser.login(code="stolen", state="forged"), [])
        ended = True  # the login keeps waiting for the real redirect: never reached
    assert not ended
    assert token_requests(platform) == []
    assert browser.responses[0].status_code == 400


@pytest.mark.anyio
async def test_token_endpoint_error_is_reported_without_secrets(platform: FakePlatform) -> None:
    platform.script(
        "token",
        httpx.Response(400, json={"error": "invalid_grant", "error_description": "Code expired."}),
    )
    with pytest.raises(LoginDeniedError) as info:
        await run_flow(platform, Browser(platform).login(code="code-secret"), [])
    assert info.value.error == "invalid_grant"
    assert "Code expired." in str(info.value)
    assert "code-secret" not in str(info.value)
    [exchange] = token_requests(platform)
    assert exchange["code"] == "code-secret"
    assert exchange["code_verifier"] not in str(info.value)


@pytest.mark.anyio
async def test_without_a_browser_it_shows_the_url_and_waits_for_the_callers_limit(
    platform: FakePlatform,
) -> None:
    events: list[LoginEvent] = []
    # login_timeout is login()'s to apply: the flow waits until its caller stops it
    # (1 s: long enough for the opener's worker thread to run on a loaded machine).
    with anyio.move_on_after(1.0) as scope:
        await run_flow(platform, lambda url: False, events, login_timeout=0.01)
    assert scope.cancelled_caught
    assert [e.kind for e in events] == ["browser", "waiting", "no_browser"]
    assert events[2].url == events[0].url
    assert events[2].message is not None
    assert "open this URL" in events[2].message
    assert token_requests(platform) == []


@pytest.mark.anyio
async def test_a_failing_opener_does_not_end_the_login(platform: FakePlatform) -> None:
    calls: list[str] = []
    events: list[LoginEvent] = []

    def broken(url: str) -> bool:
        calls.append(url)
        raise RuntimeError("no display")

    with anyio.move_on_after(0.3) as scope:
        await run_flow(platform, broken, events)
    assert scope.cancelled_caught
    assert len(calls) == 1
    assert events[-1].kind == "no_browser"


@pytest.mark.anyio
async def test_the_listener_is_up_before_the_browser_opens(platform: FakePlatform) -> None:
    reachable: list[bool] = []
    login = Browser(platform).login()

    def open_browser(url: str) -> bool:
        port = urlsplit(url).port  # the single-use start link is on the listener
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=LIMIT):
            reachable.append(True)
        return login(url)

    await run_flow(platform, open_browser, [])
    assert reachable == [True]


@pytest.mark.anyio
async def test_a_failing_event_sink_stops_the_login(platform: FakePlatform) -> None:
    def sink(event: LoginEvent) -> None:
        if event.kind == "no_browser":
            raise SinkError("stop")

    with pytest.raises(SinkError):
        await run_flow(platform, lambda url: False, on_event=sink)


class SinkError(Exception):
    """An error raised by the caller's event sink."""


@pytest.mark.anyio
async def test_port_in_use_fails_before_the_browser_opens(platform: FakePlatform) -> None:
    opened: list[str] = []

    def record(url: str) -> bool:
        opened.append(url)
        return True

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LoginError, match=f"port {port}"):
            await run_flow(
                platform,
                record,
                [],
                redirect_uri=f"http://127.0.0.1:{port}/auth/oidc",
                ephemeral_port=False,
            )
    assert opened == []


@pytest.mark.anyio
async def test_cancelling_the_flow_closes_the_listener(platform: FakePlatform) -> None:
    ports: list[int] = []
    scope = anyio.CancelScope()

    def open_browser(url: str) -> bool:
        port = urlsplit(url).port  # the single-use start link is on the listener
        assert port is not None
        ports.append(port)
        anyio.from_thread.run_sync(scope.cancel)  # cancel while the listener is serving
        return True

    with scope:
        await run_flow(platform, open_browser, [])
    assert scope.cancelled_caught
    assert len(ports) == 1

    def refused() -> None:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", ports[0]), timeout=LIMIT).close()

    await anyio.to_thread.run_sync(refused)
