"""The blocking faces: from a script, and from inside a running asyncio or trio loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import trio

from anaconda_auth_async import (
    AnacondaAuthSettings,
    ConfigurationError,
    DiscoveryError,
    LoginError,
    LoginEvent,
    TokenInfo,
    sync,
)
from anaconda_auth_async.api_client.clients import BaseClient, client_factory
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore
from anaconda_auth_async.testing import FakePlatform, use_platform

AUTH = "id.example.test"
API = "api.example.test"


@pytest.fixture(autouse=True)
def platform() -> Iterator[FakePlatform]:
    """The SDK's own fake platform (discovery, device flow, key exchange) for every login."""
    platform = FakePlatform(auth_domain=AUTH, api_domain=API)
    with use_platform(platform):
        yield platform


def device_requests(platform: FakePlatform) -> int:
    return sum(r.url.path == "/oauth2/device/auth" for r in platform.requests)


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, login_flow="device")


def test_exports() -> None:
    assert sync.__all__ == [
        "BaseClient",
        "cancel_logins",
        "client_factory",
        "create_api_key",
        "doctor",
        "is_logged_in",
        "login",
        "logout",
        "store_api_key",
    ]
    assert sync.BaseClient is BaseClient
    assert sync.client_factory is client_factory


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_a_login_time_limit_that_is_not_positive_is_refused_before_any_request(
    settings: AnacondaAuthSettings, platform: FakePlatform, timeout: float
) -> None:
    """Not "The login did not complete within -1 seconds" after starting it."""
    for start in (sync.login, sync.create_api_key):
        with pytest.raises(ConfigurationError, match=r"Invalid argument timeout=.*greater than 0"):
            start(settings=settings, timeout=timeout)
    assert platform.requests == []


def test_an_unknown_flow_is_named_as_passed(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    """``flow="devise"`` is reported as the argument flow=, not the setting login_flow=."""
    expected = "Invalid argument flow='devise': expected one of 'auto', 'browser', 'device'"
    for start in (sync.login, sync.create_api_key):
        with pytest.raises(ConfigurationError, match=expected):
            start(settings=settings, flow="devise")  # type: ignore[arg-type]
    assert platform.requests == []


def test_login_from_a_script(settings: AnacondaAuthSettings, platform: FakePlatform) -> None:
    events: list[LoginEvent] = []
    threads: list[int] = []

    def on_event(event: LoginEvent) -> None:
        events.append(event)
        threads.append(threading.get_ident())

    assert sync.is_logged_in(settings=settings) is False

    token = sync.login(settings=settings, on_event=on_event)

    assert isinstance(token, TokenInfo)
    assert token.api_key == platform.minted[-1]
    assert KeyringTokenStore(settings).load(AUTH) == token
    kinds = [e.kind for e in events]
    assert kinds == ["logging_in", "device_code", "waiting", "exchanging", "done"]
    assert device_requests(platform) == 1
    assert threading.get_ident() not in threads  # the flow ran in the portal's loop
    assert sync.is_logged_in(settings=settings) is True
    assert sync.login(settings=settings) == token  # no-op now
    assert device_requests(platform) == 1
    assert sync.logout(settings=settings) is True
    assert sync.logout(settings=settings) is False
    assert sync.is_logged_in(settings=settings) is False


def test_login_inside_a_running_asyncio_loop(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    async def notebook_cell() -> TokenInfo:
        asyncio.get_running_loop()  # as in Jupyter: a loop is running in this thread
        return sync.login(settings=settings, quiet=True)

    token = asyncio.run(notebook_cell())
    assert token.api_key in platform.minted
    assert KeyringTokenStore(settings).load(AUTH) == token


def test_login_inside_a_running_trio_loop(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    async def main() -> tuple[TokenInfo, bool]:
        token = sync.login(settings=settings, force=True, quiet=True)
        return token, sync.logout(settings=settings)

    token, removed = trio.run(main)
    assert token.api_key in platform.minted
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


def test_login_and_create_api_key_take_a_transport(settings: AnacondaAuthSettings) -> None:
    """The test seam: every request of a login goes to the transport given, no patching."""
    from anaconda_auth_async.testing import MemoryTokenStore

    other = FakePlatform(auth_domain=AUTH, api_domain=API)
    store = MemoryTokenStore()
    token = sync.login(settings=settings, store=store, quiet=True, transport=other.transport)
    assert token.api_key in other.minted
    key = sync.create_api_key(settings=settings, quiet=True, transport=other.transport)
    assert key.api_key in other.minted
    assert device_requests(other) == 2
