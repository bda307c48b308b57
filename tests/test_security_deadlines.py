"""Security: every wait is bounded and the process always exits (issue 13, findings 3, 5).

A hung keyring is a FIFO in place of the keyring file (opening it blocks forever); a
slow-drip server trickles its body one byte at a time on 127.0.0.1. Subprocesses prove
that the whole program exits, not only that an exception is raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import httpx
import pytest
from attackers import attacker

from anaconda_auth_async import AnacondaAuthSettings, StorageError, TokenInfo
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore

STORAGE_TIMEOUT = "1"
# Far above storage timeout + a few seconds: only a process that never exits reaches it.
HANG = 60


@pytest.fixture
def hung_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a program whose keyring file never answers."""
    fifo = tmp_path / "keyring"
    os.mkfifo(fifo, 0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANACONDA_")}
    env.update(
        ANACONDA_AUTH_KEYRING_PATH=str(fifo),
        ANACONDA_AUTH_STORAGE_TIMEOUT=STORAGE_TIMEOUT,
        ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE="anaconda-keyring",
    )
    monkeypatch.setenv("ANACONDA_AUTH_KEYRING_PATH", str(fifo))
    monkeypatch.setenv("ANACONDA_AUTH_STORAGE_TIMEOUT", STORAGE_TIMEOUT)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, env=env, cwd=cwd, capture_output=True, text=True, timeout=HANG, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args[-1][:60]!r} never exited after the keyring hung")


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_finding3_cli_exits_when_the_keyring_hangs(
    hung_keyring: dict[str, str], tmp_path: Path
) -> None:
    done = run(
        python("from anaconda_auth_async.cli import main; main(['status'])"), hung_keyring, tmp_path
    )
    assert done.returncode != 0
    assert "did not answer within 1 seconds" in done.stderr


_ASYNC_APP = """
    import anyio, anaconda_auth_async as aaa
    try:
        anyio.run(aaa.is_logged_in)
    except aaa.StorageError as exc:
        print("StorageError:", exc)
"""
_SYNC_SCRIPT = """
    from anaconda_auth_async import StorageError
    from anaconda_auth_async.sync import BaseClient
    try:
        BaseClient().get("/api/account")
    except StorageError as exc:
        print("StorageError:", exc)
"""


@pytest.mark.parametrize("code", [_ASYNC_APP, _SYNC_SCRIPT], ids=["async-app", "sync-script"])
def test_finding3_programs_exit_when_the_keyring_hangs(
    hung_keyring: dict[str, str], tmp_path: Path, code: str
) -> None:
    done = run(python(code), hung_keyring, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "StorageError: " in done.stdout
    assert "did not answer within 1 seconds" in done.stdout


def test_sync_load_is_bounded_in_process(hung_keyring: dict[str, str]) -> None:
    store = KeyringTokenStore(AnacondaAuthSettings())
    with pytest.raises(StorageError, match="ANACONDA_AUTH_STORAGE_TIMEOUT"):
        store.load_within("id.anaconda.cloud")


@pytest.mark.anyio
async def test_async_load_is_bounded_and_errors_pass_through(
    hung_keyring: dict[str, str],
) -> None:
    with pytest.raises(StorageError, match="did not answer"):
        await KeyringTokenStore(AnacondaAuthSettings()).aload("id.anaconda.cloud")

    class Broken(KeyringTokenStore):
        def load(self, domain: str) -> TokenInfo | None:
            raise StorageError("broken on purpose")

    with pytest.raises(StorageError, match="on purpose"):
        await Broken(AnacondaAuthSettings()).aload("x")


# --- slow-drip servers (finding 5) ----------------------------------------------------

DRIP = 0.2  # seconds per byte: the 4 KB answer would take a quarter of an hour
LIMIT = 20  # the test's own bound; the SDK's timeout setting below is 1 second


def drip_settings(**values: object) -> AnacondaAuthSettings:
    return AnacondaAuthSettings(timeout=1, **values)


class ToPlainHttp(httpx.AsyncBaseTransport):
    """Sends an https request to the same host and port over plain http (the attacker)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_finding5_slow_drip_jwks_and_token_answers_are_cut_off() -> None:
    from anaconda_auth_async.foundation.errors import DiscoveryError, LoginError
    from anaconda_auth_async.logins.flows.token_request import post_token_request
    from anaconda_auth_async.logins.provider import ProviderMetadata, fetch_jwks
    from anaconda_auth_async.network.transport import async_http_client

    with attacker(drip=DRIP) as slow:
        metadata = ProviderMetadata(
            issuer="https://id.example.test",
            authorization_endpoint="https://id.example.test/auth",
            token_endpoint=f"{slow.url}/token",
            jwks_uri=f"{slow.url}/jwks",
            device_authorization_endpoint=None,
            id_token_signing_alg_values_supported=("RS256",),
            raw={},
        )
        with anyio.fail_after(LIMIT):
            async with async_http_client(drip_settings()) as http:
                with pytest.raises(DiscoveryError, match="no complete answer within 1 seconds"):
                    await fetch_jwks(http, metadata)
                with pytest.raises(LoginError, match="no complete answer within 1 seconds"):
                    await post_token_request(http, metadata.token_endpoint, "grant_type=x")


@pytest.mark.anyio
async def test_finding5_slow_drip_api_key_exchange_is_cut_off() -> None:
    from anaconda_auth_async.foundation.errors import APIKeyExchangeError
    from anaconda_auth_async.logins.key_exchange import mint_api_key
    from anaconda_auth_async.network.transport import async_http_client

    with attacker(drip=DRIP, status=201) as slow:
        settings = drip_settings(api_domain=slow.host)
        with anyio.fail_after(LIMIT):
            async with async_http_client(settings, transport=ToPlainHttp()) as http:
                with pytest.raises(APIKeyExchangeError, match="no complete answer"):
                    await mint_api_key(http, settings, "access-token")


@pytest.mark.anyio
async def test_finding5_slow_drip_account_is_cut_off_async_and_sync() -> None:
    with attacker(drip=DRIP) as slow:
        settings = drip_settings(api_domain=slow.host)
        with anyio.fail_after(LIMIT):
            async with AsyncAuthClient(settings=settings, base_url=slow.url, api_key="k") as c:
                with pytest.raises(httpx.TimeoutException, match="no complete answer"):
                    await c.account()

            def blocking() -> None:
                with (
                    BaseClient(settings=settings, base_url=slow.url, api_key="k") as client,
                    pytest.raises(httpx.TimeoutException, match="no complete answer"),
                ):
                    client.account  # noqa: B018 - the property sends the request

            await anyio.to_thread.run_sync(blocking, abandon_on_cancel=True)


@pytest.mark.anyio
async def test_the_clients_own_timeout_bounds_the_account_helpers() -> None:
    # The settings allow 30 seconds; the client's timeout=1 is what cuts the drip off.
    with attacker(drip=DRIP) as slow:
        settings = AnacondaAuthSettings(api_domain=slow.host)
        with anyio.fail_after(LIMIT):
            async with AsyncAuthClient(
                settings=settings, base_url=slow.url, api_key="k", timeout=1
            ) as c:
                with pytest.raises(httpx.TimeoutException, match=r"1 seconds \(the client's"):
                    await c.account()

            def blocking() -> None:
                with (
                    BaseClient(settings=settings, base_url=slow.url, api_key="k", timeout=1) as b,
                    pytest.raises(httpx.TimeoutException, match=r"1 seconds \(the client's"),
                ):
                    b.account  # noqa: B018 - the property sends the request

            await anyio.to_thread.run_sync(blocking, abandon_on_cancel=True)


@pytest.mark.anyio
async def test_a_longer_client_timeout_lets_a_slow_account_answer_finish() -> None:
    # ~1.5 s to answer in all: past the 0.5 s timeout setting, within the client's 10 s.
    answer = b'{"user": {"email": "slow@example.test"}}'
    with attacker(drip=1.5 / len(answer), body=answer) as slow:
        settings = AnacondaAuthSettings(api_domain=slow.host, timeout=0.5)
        with anyio.fail_after(LIMIT):
            async with AsyncAuthClient(
                settings=settings, base_url=slow.url, api_key="k", timeout=10
            ) as c:
                assert await c.email() == "slow@example.test"

            def blocking() -> str:
                with BaseClient(settings=settings, base_url=slow.url, api_key="k", timeout=10) as b:
                    return b.email

            assert await anyio.to_thread.run_sync(blocking) == "slow@example.test"
            # The settings' own limit still applies to a client not given one.
            async with AsyncAuthClient(settings=settings, base_url=slow.url, api_key="k") as c:
                with pytest.raises(httpx.TimeoutException, match=r"ANACONDA_AUTH_TIMEOUT"):
                    await c.account()
