"""The browser login: protocol helpers (pure) and the flow over a real loopback listener."""

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
from anaconda_auth_async._exceptions import LoginDeniedError, LoginError
from anaconda_auth_async._flows import FlowResult, LoginEvent
from anaconda_auth_async._flows.browser import (
    SCOPE,
    AuthorizationSecrets,
    authorization_url,
    browser_flow,
    code_exchange_form,
)
from anaconda_auth_async._oidc import ProviderMetadata

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


class FakeProvider:
    """The provider's token endpoint (MockTransport) and a browser that logs in."""

    def __init__(self, *, token_response: httpx.Response | None = None) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.authorize_urls: list[str] = []
        self.browser_responses: list[httpx.Response] = []
        self.browser_done = threading.Event()
        self.token_response = token_response or httpx.Response(
            200,
            json={
                "access_token": "access-1",
                "id_token": "id-1",
                "refresh_token": "refresh-1",
                "token_type": "Bearer",
                "expires_in": 3600,
            },
        )

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._token_endpoint))

    def _token_endpoint(self, request: httpx.Request) -> httpx.Response:
        assert request.url == METADATA.token_endpoint
        assert request.method == "POST"
        self.token_requests.append(query_of(f"?{request.content.decode()}"))
        return self.token_response

    def browser(self, **answer: str) -> Callable[[str], bool]:
        """An `open_browser` that follows the authorize URL to the redirect with `answer`.

        Placeholders in `answer` values: ``{state}`` is replaced by the request's state.
        """

        def open_browser(url: str) -> bool:
            try:
                self.authorize_urls.append(url)
                query = query_of(url)
                params = {k: v.format(state=query["state"]) for k, v in answer.items()}
                with httpx.Client(trust_env=False, timeout=LIMIT) as browser:
                    response = browser.get(query["redirect_uri"], params=params)
                self.browser_responses.append(response)
                return True
            finally:
                self.browser_done.set()

        return open_browser

    async def browser_finished(self) -> None:
        """Wait for the browser thread: the flow does not wait for its opener to return."""
        assert await anyio.to_thread.run_sync(self.browser_done.wait, LIMIT)


async def run_flow(
    provider: FakeProvider,
    open_browser: Callable[[str], bool],
    events: list[LoginEvent],
    **values: Any,
) -> FlowResult:
    with anyio.fail_after(LIMIT):
        async with provider.http() as http:
            return await browser_flow(
                http,
                METADATA,
                settings(**values),
                on_event=events.append,
                open_browser=open_browser,
            )


@pytest.mark.anyio
async def test_browser_flow_end_to_end() -> None:
    provider = FakeProvider()
    events: list[LoginEvent] = []
    result = await run_flow(provider, provider.browser(code="code-1", state="{state}"), events)

    assert result.tokens.access_token == "access-1"
    assert result.tokens.id_token == "id-1"
    assert result.tokens.refresh_token == "refresh-1"

    [url] = provider.authorize_urls
    sent = query_of(url)
    assert result.nonce == sent["nonce"]
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "openid email profile"
    assert sent["client_id"] == CLIENT_ID
    assert urlsplit(sent["redirect_uri"]).port not in (None, 8000)  # ephemeral port

    [exchange] = provider.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["code"] == "code-1"
    assert exchange["client_id"] == CLIENT_ID
    assert exchange["redirect_uri"] == sent["redirect_uri"]  # identical, as RFC 6749 wants
    assert s256(exchange["code_verifier"]) == sent["code_challenge"]

    await provider.browser_finished()
    [browser_response] = provider.browser_responses
    assert browser_response.status_code == 302
    assert browser_response.headers["location"] == SUCCESS

    assert [e.kind for e in events] == ["browser", "waiting", "exchanging"]
    assert events[0].url == url


@pytest.mark.anyio
async def test_denied_in_the_browser_never_exchanges_a_code() -> None:
    provider = FakeProvider()
    events: list[LoginEvent] = []
    browser = provider.browser(
        error="access_denied", error_description="The user said no.", state="{state}"
    )
    with pytest.raises(LoginDeniedError) as info:
        await run_flow(provider, browser, events)
    assert info.value.error == "access_denied"
    assert info.value.description == "The user said no."
    assert provider.token_requests == []
    await provider.browser_finished()
    assert provider.browser_responses[0].headers["location"] == ERROR
    assert "exchanging" not in [e.kind for e in events]


@pytest.mark.anyio
async def test_forged_state_never_exchanges_the_code() -> None:
    provider = FakeProvider()
    with anyio.move_on_after(1) as waiting:  # the login keeps waiting for the real redirect
        await run_flow(provider, provider.browser(code="stolen", state="forged"), [])
    assert waiting.cancelled_caught
    assert provider.token_requests == []
    await provider.browser_finished()
    assert provider.browser_responses[0].status_code == 400


@pytest.mark.anyio
async def test_token_endpoint_error_is_reported_without_secrets() -> None:
    provider = FakeProvider(
        token_response=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Code expired."}
        )
    )
    with pytest.raises(LoginDeniedError) as info:
        await run_flow(provider, provider.browser(code="code-secret", state="{state}"), [])
    assert info.value.error == "invalid_grant"
    assert "Code expired." in str(info.value)
    assert "code-secret" not in str(info.value)
    [exchange] = provider.token_requests
    assert exchange["code"] == "code-secret"
    assert exchange["code_verifier"] not in str(info.value)


@pytest.mark.anyio
async def test_without_a_browser_it_shows_the_url_and_waits_for_the_callers_limit() -> None:
    provider = FakeProvider()
    events: list[LoginEvent] = []
    # login_timeout is login()'s to apply: the flow waits until its caller stops it
    # (1 s: long enough for the opener's worker thread to run on a loaded machine).
    with anyio.move_on_after(1.0) as scope:
        await run_flow(provider, lambda url: False, events, login_timeout=0.01)
    assert scope.cancelled_caught
    assert [e.kind for e in events] == ["browser", "waiting", "no_browser"]
    assert events[2].url == events[0].url
    assert events[2].message is not None
    assert "open this URL" in events[2].message
    assert provider.token_requests == []


@pytest.mark.anyio
async def test_a_failing_opener_does_not_end_the_login() -> None:
    provider = FakeProvider()
    calls: list[str] = []
    events: list[LoginEvent] = []

    def broken(url: str) -> bool:
        calls.append(url)
        raise RuntimeError("no display")

    with anyio.move_on_after(0.3) as scope:
        await run_flow(provider, broken, events)
    assert scope.cancelled_caught
    assert len(calls) == 1
    assert events[-1].kind == "no_browser"


@pytest.mark.anyio
async def test_the_listener_is_up_before_the_browser_opens() -> None:
    provider = FakeProvider()
    reachable: list[bool] = []
    login = provider.browser(code="code-1", state="{state}")

    def open_browser(url: str) -> bool:
        port = urlsplit(query_of(url)["redirect_uri"]).port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=LIMIT):
            reachable.append(True)
        return login(url)

    await run_flow(provider, open_browser, [])
    assert reachable == [True]


@pytest.mark.anyio
async def test_a_failing_event_sink_stops_the_login() -> None:
    provider = FakeProvider()

    def sink(event: LoginEvent) -> None:
        if event.kind == "no_browser":
            raise SinkError("stop")

    async def login() -> None:
        with anyio.fail_after(LIMIT):
            async with provider.http() as http:
                await browser_flow(
                    http, METADATA, settings(), on_event=sink, open_browser=lambda url: False
                )

    with pytest.raises(SinkError):
        await login()


class SinkError(Exception):
    """An error raised by the caller's event sink."""


@pytest.mark.anyio
async def test_port_in_use_fails_before_the_browser_opens() -> None:
    provider = FakeProvider()
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
                provider,
                record,
                [],
                redirect_uri=f"http://127.0.0.1:{port}/auth/oidc",
                ephemeral_port=False,
            )
    assert opened == []


@pytest.mark.anyio
async def test_cancelling_the_flow_closes_the_listener() -> None:
    provider = FakeProvider()
    ports: list[int] = []
    scope = anyio.CancelScope()

    def open_browser(url: str) -> bool:
        port = urlsplit(query_of(url)["redirect_uri"]).port
        assert port is not None
        ports.append(port)
        anyio.from_thread.run_sync(scope.cancel)  # cancel while the listener is serving
        return True

    with scope:
        await run_flow(provider, open_browser, [])
    assert scope.cancelled_caught
    assert len(ports) == 1

    def refused() -> None:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", ports[0]), timeout=LIMIT).close()

    await anyio.to_thread.run_sync(refused)
