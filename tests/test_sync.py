"""The blocking faces: from a script, and from inside a running asyncio or trio loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import httpx
import pytest
import trio

from anaconda_auth_async import (
    AnacondaAuthSettings,
    DiscoveryError,
    LoginError,
    LoginEvent,
    TokenInfo,
    _transport,
    sync,
)
from anaconda_auth_async._client import BaseClient, client_factory
from anaconda_auth_async._flows import FlowResult
from anaconda_auth_async._flows import device as device_module
from anaconda_auth_async._flows.token_endpoint import OAuthTokens
from anaconda_auth_async._oidc import clear_caches
from anaconda_auth_async._storage import KeyringTokenStore
from anaconda_auth_async.testing import make_api_key

AUTH = "id.example.test"
ISSUER = f"https://{AUTH}"
API = "api.example.test"
NEW_KEY = make_api_key(sub="alice", exp=dt.timedelta(days=365))


def provider(request: httpx.Request) -> httpx.Response:
    url = str(request.url)
    if url == f"{ISSUER}/.well-known/openid-configuration":
        return httpx.Response(
            200,
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "device_authorization_endpoint": f"{ISSUER}/device",
            },
        )
    if url == f"https://{API}/api/iam/api-keys":
        return httpx.Response(201, json={"api_key": NEW_KEY})
    return httpx.Response(404)


@pytest.fixture(autouse=True)
def fake_platform(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Discovery and key exchange over MockTransport; the device flow is faked.

    Returns the thread ids the fake flow ran in.
    """
    clear_caches()
    real = _transport.async_http_client
    threads: list[int] = []

    def client(settings: AnacondaAuthSettings, **overrides: Any) -> httpx.AsyncClient:
        return real(settings, transport=httpx.MockTransport(provider), **overrides)

    async def flow(
        http: Any, metadata: Any, settings: Any, *, on_event: Any, open_browser: Any
    ) -> FlowResult:
        threads.append(threading.get_ident())
        on_event(LoginEvent(kind="device_code", url=f"{ISSUER}/device", user_code="ABCD"))
        tokens = OAuthTokens(
            access_token="access", id_token=None, refresh_token=None, token_type="Bearer",
            expires_in=None, raw={},
        )  # fmt: skip
        return FlowResult(tokens=tokens)

    monkeypatch.setattr(_transport, "async_http_client", client)
    monkeypatch.setattr(device_module, "device_flow", flow)
    return threads


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, login_flow="device")


def test_exports() -> None:
    assert sync.__all__ == [
        "BaseClient",
        "client_factory",
        "create_api_key",
        "is_logged_in",
        "login",
        "logout",
        "store_api_key",
    ]
    assert sync.BaseClient is BaseClient
    assert sync.client_factory is client_factory


def test_login_from_a_script(settings: AnacondaAuthSettings, fake_platform: list[int]) -> None:
    events: list[LoginEvent] = []
    assert sync.is_logged_in(settings=settings) is False

    token = sync.login(settings=settings, on_event=events.append)

    assert isinstance(token, TokenInfo)
    assert token.api_key == NEW_KEY
    assert KeyringTokenStore(settings).load(AUTH) == token
    assert [e.kind for e in events] == ["device_code", "exchanging", "done"]
    assert len(fake_platform) == 1
    assert fake_platform[0] != threading.get_ident()  # the flow ran in the portal's loop
    assert sync.is_logged_in(settings=settings) is True
    assert sync.login(settings=settings) == token  # no-op now
    assert len(fake_platform) == 1
    assert sync.logout(settings=settings) is True
    assert sync.logout(settings=settings) is False
    assert sync.is_logged_in(settings=settings) is False


def test_login_inside_a_running_asyncio_loop(settings: AnacondaAuthSettings) -> None:
    async def notebook_cell() -> TokenInfo:
        asyncio.get_running_loop()  # as in Jupyter: a loop is running in this thread
        return sync.login(settings=settings)

    token = asyncio.run(notebook_cell())
    assert token.api_key == NEW_KEY
    assert KeyringTokenStore(settings).load(AUTH) == token


def test_login_inside_a_running_trio_loop(settings: AnacondaAuthSettings) -> None:
    async def main() -> tuple[TokenInfo, bool]:
        token = sync.login(settings=settings, force=True)
        return token, sync.logout(settings=settings)

    token, removed = trio.run(main)
    assert token.api_key == NEW_KEY
    assert removed is True
    assert KeyringTokenStore(settings).load(AUTH) is None


def test_errors_reach_the_caller_unchanged(settings: AnacondaAuthSettings) -> None:
    elsewhere = AnacondaAuthSettings(auth_domain="id.elsewhere.test", api_domain=API)
    with pytest.raises(DiscoveryError, match=r"id\.elsewhere\.test"):
        sync.login(settings=elsewhere, flow="device")
    assert KeyringTokenStore(settings).load("id.elsewhere.test") is None


def test_a_failing_callback_stops_the_login(settings: AnacondaAuthSettings) -> None:
    class Boom(Exception):
        pass

    def on_event(event: LoginEvent) -> None:
        raise Boom

    with pytest.raises(Boom):
        sync.login(settings=settings, on_event=on_event)
    assert KeyringTokenStore(settings).load(AUTH) is None


def test_the_password_deprecation_points_at_the_caller_once(
    settings: AnacondaAuthSettings,
) -> None:
    with pytest.warns(FutureWarning, match="deprecated") as caught, pytest.raises(LoginError):
        sync.login(settings=settings, basic=True, ask_credentials=lambda: ("alice", "pw"))
    (warning,) = caught.list  # given once, on this thread, though the login runs in another
    assert warning.filename == __file__


@pytest.mark.parametrize(
    "name", ["login", "logout", "is_logged_in", "create_api_key", "store_api_key"]
)
def test_each_blocking_face_takes_exactly_the_async_arguments(name: str) -> None:
    """The faces are derived (one ParamSpec wrapper), so a new option needs no second edit."""
    import inspect

    import anaconda_auth_async
    from anaconda_auth_async import sync

    face, coroutine_function = getattr(sync, name), getattr(anaconda_auth_async, name)
    assert inspect.signature(face) == inspect.signature(coroutine_function)
    assert not inspect.iscoroutinefunction(face)
    assert face.__module__ == "anaconda_auth_async.sync"
    assert face.__doc__
    assert "blocking" in face.__doc__.lower()
