"""The SDK against the real provider: login (async, sync, device), clients, logout, errors.

Every test starts with an empty keyring file and this run's provider and API emulator in
the ``ANACONDA_AUTH_*`` environment; ``BROWSER`` is the scripted browser (approve mode
unless a test says otherwise).
"""

from __future__ import annotations

import json
import ssl
import warnings
from typing import Any

import anyio
import httpx
import pytest
from conftest import E2E

from anaconda_auth_async import (
    AsyncAuthClient,
    DiscoveryError,
    LoginDeniedError,
    LoginEvent,
    LoginRequiredError,
    LoginTimeoutError,
    TokenExpiredError,
    TokenInfo,
    is_logged_in,
    login,
    logout,
)

pytestmark = pytest.mark.e2e

LIMIT = 60  # seconds any single test step may take


def api_requests(e2e: E2E, path: str) -> list[dict[str, Any]]:
    return [r for r in e2e.server.requests() if r["path"] == path]


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


class Events:
    """Collects the LoginEvents of one login."""

    def __init__(self) -> None:
        self.events: list[LoginEvent] = []

    def __call__(self, event: LoginEvent) -> None:
        self.events.append(event)

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


# --------------------------------------------------------------------------------------
# Browser login, async and sync, then the stored key in use.


@pytest.mark.anyio
async def test_browser_login_stores_a_key_that_the_api_accepts(e2e: E2E) -> None:
    events = Events()
    with anyio.fail_after(LIMIT):
        token = await login(on_event=events)

    assert token.domain == e2e.server.auth_domain
    assert token.username == "ada@example.com"
    assert token.api_key
    assert not token.expired
    assert e2e.stored() == token
    assert e2e.keyring_path.stat().st_mode & 0o777 == 0o600

    browser_event = next(e for e in events.events if e.kind == "browser")
    assert browser_event.url
    # the browser is given a single-use loopback link; the authorize URL (with the state)
    # never leaves the process, so no other user can read it from a command line
    assert browser_event.url.startswith("http://127.0.0.1:")
    assert "state" not in browser_event.url
    assert events.kinds[-1] == "done"
    (record,) = e2e.wait_for_browser()
    assert record["error"] is None, record
    assert record["final_url"] == f"{e2e.server.api_origin}/local-login-success"

    (authorize,) = [r for r in e2e.server.requests(server="auth") if r["path"] == "/auth"]
    assert "code_challenge_method=S256" in authorize["query"]
    assert "nonce=" in authorize["query"]
    (minted,) = e2e.server.keys()[-1:]
    assert minted["sub"] == "ada"
    assert minted["scopes"] == ["cloud:read", "cloud:write", "repo:read"]
    assert minted["tags"][0].startswith("anaconda-auth-async/")

    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient() as client:
            response = await client.get("/api/account")
            assert response.status_code == 200
            assert await client.name() == "Ada Lovelace"
            assert await client.email() == "ada@example.com"
    sent = api_requests(e2e, "/api/account")
    assert len(sent) == 2  # client.get, then account() once for name() and email()
    assert {r["headers"]["authorization"] for r in sent} == {f"Bearer {token.api_key}"}
    assert await is_logged_in()


def test_sync_login_and_base_client(e2e: E2E) -> None:
    from anaconda_auth_async.sync import BaseClient, is_logged_in, login

    token = login()
    assert e2e.stored() == token
    assert is_logged_in()
    with BaseClient() as client:
        assert client.account["user"]["email"] == "ada@example.com"
        assert client.name == "Ada Lovelace"
        assert client.email == "ada@example.com"
    (record,) = e2e.wait_for_browser()
    assert record["final_title"] == "Login successful"


@pytest.mark.anyio
async def test_second_login_without_force_does_nothing(e2e: E2E) -> None:
    with anyio.fail_after(LIMIT):
        first = await login()
        e2e.server.clear_requests()
        again = await login()
    assert again.api_key == first.api_key
    assert e2e.server.requests() == []
    assert e2e.server.requests(server="auth") == []
    assert len(e2e.wait_for_browser()) == 1

    with anyio.fail_after(LIMIT):
        forced = await login(force=True)
    assert forced.api_key != first.api_key
    assert e2e.stored() == forced
    assert len(e2e.wait_for_browser(2)) == 2


@pytest.mark.anyio
async def test_logout_removes_the_key_and_requests_need_a_login(e2e: E2E) -> None:
    with anyio.fail_after(LIMIT):
        await login()
        assert await logout() is True
    assert e2e.stored() is None
    assert not await is_logged_in()
    assert await logout() is False

    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient() as client:
            with pytest.raises(LoginRequiredError, match="anaconda-auth login"):
                await client.get("/api/account")
    (sent,) = api_requests(e2e, "/api/account")
    assert "authorization" not in sent["headers"]


# --------------------------------------------------------------------------------------
# Keys the server will not take.


@pytest.mark.anyio
async def test_expired_stored_key_fails_before_sending(e2e: E2E) -> None:
    from anaconda_auth_async import KeyringTokenStore

    expired = e2e.server.mint_key(expires_in=-3600)["api_key"]
    KeyringTokenStore().save(TokenInfo(domain=e2e.server.auth_domain, api_key=expired))
    e2e.server.clear_requests()
    assert not await is_logged_in()
    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient() as client:
            with pytest.raises(TokenExpiredError, match="expired"):
                await client.get("/api/account")
    assert e2e.server.requests() == []


@pytest.mark.anyio
async def test_revoked_key_raises_login_required(e2e: E2E) -> None:
    with anyio.fail_after(LIMIT):
        token = await login()
    assert token.api_key is not None
    e2e.server.revoke(token.api_key)
    e2e.server.clear_requests()
    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient() as client:
            with pytest.raises(LoginRequiredError, match="invalid or has been revoked") as info:
                await client.get("/api/account")
    assert info.value.response.status_code == 401
    assert token.api_key not in str(info.value)
    assert len(api_requests(e2e, "/api/account")) == 1  # the key did not change: no retry


@pytest.mark.anyio
async def test_api_key_setting_is_used_without_a_stored_key(e2e: E2E) -> None:
    key = e2e.server.mint_key(sub="grace")["api_key"]
    e2e.setenv("ANACONDA_AUTH_API_KEY", key)
    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient() as client:
            assert await client.name() == "Grace Hopper"
    assert e2e.stored() is None


# --------------------------------------------------------------------------------------
# The user says no, or never finishes.


@pytest.mark.anyio
async def test_denied_consent_raises_and_stores_nothing(e2e: E2E) -> None:
    e2e.set_browser_mode("deny")
    with anyio.fail_after(LIMIT), pytest.raises(LoginDeniedError, match="access_denied") as info:
        await login()
    assert info.value.error == "access_denied"
    assert e2e.stored() is None
    (record,) = e2e.wait_for_browser()
    assert record["actions"] == ["login as ada", "deny consent"]
    assert record["final_url"] == f"{e2e.server.api_origin}/local-login-error"
    assert api_requests(e2e, "/api/iam/api-keys") == []


@pytest.mark.anyio
async def test_denied_consent_leaves_the_stored_key_untouched(e2e: E2E) -> None:
    with anyio.fail_after(LIMIT):
        before = await login()
    e2e.set_browser_mode("deny")
    with anyio.fail_after(LIMIT), pytest.raises(LoginDeniedError):
        await login(force=True)
    assert e2e.stored() == before
    assert await is_logged_in()


@pytest.mark.anyio
async def test_login_times_out_when_the_user_never_finishes(e2e: E2E) -> None:
    e2e.set_browser_mode("ignore")
    with anyio.fail_after(LIMIT), pytest.raises(LoginTimeoutError, match="2 seconds"):
        await login(timeout=2)
    assert e2e.stored() is None


# --------------------------------------------------------------------------------------
# Device code.


@pytest.mark.anyio
async def test_device_login(e2e: E2E) -> None:
    events = Events()

    open_page = e2e.on_device_code("device")

    def on_event(event: LoginEvent) -> None:
        events(event)
        open_page(event)

    with anyio.fail_after(LIMIT):
        token = await login(flow="device", on_event=on_event)
    assert token.username == "ada@example.com"
    assert e2e.stored() == token
    code_event = next(e for e in events.events if e.kind == "device_code")
    assert code_event.url is not None
    assert code_event.url.startswith(f"{e2e.server.issuer}/device")
    assert code_event.expires_in
    assert code_event.expires_in > 0
    (record,) = e2e.wait_for_browser()
    assert record["final_title"] == "Sign-in Success"
    assert e2e.browser_records()[0]["mode"] == "device"


@pytest.mark.anyio
async def test_auto_flow_uses_the_device_code_where_no_browser_can_open(e2e: E2E) -> None:
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        e2e.delenv(name)
    seen: list[str] = []

    open_page = e2e.on_device_code("device")

    def on_event(event: LoginEvent) -> None:
        seen.append(event.kind)
        open_page(event)

    with anyio.fail_after(LIMIT):
        await login(on_event=on_event)
    assert "device_code" in seen
    assert "browser" not in seen
    assert await is_logged_in()


@pytest.mark.anyio
async def test_device_login_aborted_on_the_confirmation_page(e2e: E2E) -> None:
    on_event = e2e.on_device_code("device-deny")

    with anyio.fail_after(LIMIT), pytest.raises(LoginDeniedError) as info:
        await login(flow="device", on_event=on_event)
    assert info.value.error == "access_denied"
    assert e2e.stored() is None


# --------------------------------------------------------------------------------------
# TLS: the CA bundle as an argument, as an environment variable, and no CA at all.


@pytest.mark.anyio
async def test_ca_bundle_as_an_argument(e2e: E2E) -> None:
    e2e.delenv("ANACONDA_AUTH_SSL_VERIFY")
    with anyio.fail_after(LIMIT):
        token = await login(ssl_verify=e2e.server.ca_bundle)
        async with AsyncAuthClient(ssl_verify=e2e.server.ca_bundle) as client:
            assert (await client.account())["user"]["email"] == "ada@example.com"
    assert e2e.stored() == token


@pytest.mark.anyio
@pytest.mark.parametrize("variable", ["ANACONDA_AUTH_SSL_VERIFY", "ANACONDA_CLOUD_API_SSL_VERIFY"])
async def test_ca_bundle_from_an_environment_variable(e2e: E2E, variable: str) -> None:
    e2e.delenv("ANACONDA_AUTH_SSL_VERIFY")
    e2e.setenv(variable, e2e.server.ca_bundle)
    with anyio.fail_after(LIMIT):
        await login()
        async with AsyncAuthClient() as client:
            assert (await client.get("/api/account")).status_code == 200


@pytest.mark.anyio
async def test_default_trust_rejects_the_provider_certificate(e2e: E2E) -> None:
    from anaconda_auth_async.logins import provider as _oidc

    _oidc.clear_caches()  # as in a process that has not reached the provider before
    for name in ("ANACONDA_AUTH_SSL_VERIFY", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        e2e.delenv(name)
    with anyio.fail_after(LIMIT), pytest.raises(DiscoveryError) as info:
        await login(ssl_verify=True)
    message = str(info.value)
    assert f"https://{e2e.server.auth_domain}/.well-known/openid-configuration" in message
    assert "certificate verify failed" in message.lower().replace("_", " ")
    assert e2e.stored() is None
    assert e2e.browser_records() == []

    key = e2e.server.mint_key()["api_key"]
    with anyio.fail_after(LIMIT):
        async with AsyncAuthClient(ssl_verify=True, api_key=key) as client:
            with pytest.raises(httpx.ConnectError) as failed:
                await client.get("/api/account")
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in chain(failed.value))


# --------------------------------------------------------------------------------------
# What reaches the API: user agent, Api-Version, extra headers, Min-Api-Version.


class FooClient(AsyncAuthClient):
    """A service client as packages built on the SDK write it."""

    _user_agent = "anaconda-cloud-foo/1.0"
    _api_version = "2024.01.01"


@pytest.mark.anyio
async def test_user_agent_api_version_and_extra_headers_reach_the_api(e2e: E2E) -> None:
    key = e2e.server.mint_key()["api_key"]
    e2e.setenv("ANACONDA_AUTH_EXTRA_HEADERS", json.dumps({"X-From-Env": "env"}))
    with anyio.fail_after(LIMIT):
        async with FooClient(api_key=key) as client:
            await client.get("/api/account")
        async with AsyncAuthClient(
            api_key=key,
            user_agent="custom-agent/2",
            api_version="2025.02.02",
            extra_headers={"X-Extra": "arg", "User-Agent": "never-wins"},
        ) as client:
            await client.get("/api/account")
    first, second = api_requests(e2e, "/api/account")
    assert first["headers"]["user-agent"] == "anaconda-cloud-foo/1.0"
    assert first["headers"]["api-version"] == "2024.01.01"
    assert first["headers"]["x-from-env"] == "env"
    assert first["headers"]["authorization"] == f"Bearer {key}"
    assert second["headers"]["user-agent"] == "custom-agent/2"
    assert second["headers"]["api-version"] == "2025.02.02"
    assert second["headers"]["x-extra"] == "arg"
    assert "x-from-env" not in second["headers"]


def test_sync_client_headers_and_min_api_version_warning(e2e: E2E) -> None:
    from anaconda_auth_async.sync import BaseClient

    key = e2e.server.mint_key()["api_key"]
    e2e.server.set_min_api_version("2025.06.01")
    try:
        with (
            BaseClient(api_key=key, user_agent="sync-agent/1", api_version="2024.01.01") as client,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            assert client.get("/api/account").status_code == 200
    finally:
        e2e.server.set_min_api_version(None)
    assert any(
        issubclass(w.category, FutureWarning)
        and "2025.06.01" in str(w.message)
        and w.filename == __file__  # the line that sent the request, not httpx's hook
        for w in caught
    )
    (sent,) = api_requests(e2e, "/api/account")
    assert sent["headers"]["user-agent"] == "sync-agent/1"
    assert sent["headers"]["api-version"] == "2024.01.01"


@pytest.mark.anyio
async def test_login_requests_carry_the_sdk_user_agent(e2e: E2E) -> None:
    with anyio.fail_after(LIMIT):
        await login()
    (exchange,) = api_requests(e2e, "/api/iam/api-keys")
    assert exchange["headers"]["user-agent"].startswith("anaconda-auth-async/")
    token_requests = [r for r in e2e.server.requests(server="auth") if r["path"] == "/token"]
    assert token_requests
    assert all(
        r["headers"]["user-agent"].startswith("anaconda-auth-async/") for r in token_requests
    )
