"""Security: a key is sent only to the API origin it belongs to (issue 13, finding 2).

Each test points a client at an attacker server on 127.0.0.1 and checks what reached it.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from attackers import attacker

from anaconda_auth_async import ConfigurationError, TokenInfo
from anaconda_auth_async.api_client.auth import AnacondaAuth
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

AUTH = "id.anaconda.cloud"


def store_with(key: str, api_domain: str | None = "anaconda.cloud") -> MemoryTokenStore:
    store = MemoryTokenStore()
    extra = {"api_domain": api_domain} if api_domain else {}
    store.save(TokenInfo(domain=AUTH, api_key=key, extra=extra))
    return store


@pytest.mark.anyio
@pytest.mark.parametrize("recorded", ["anaconda.cloud", None])
async def test_finding2_absolute_url_to_another_origin_gets_no_key(recorded: str | None) -> None:
    key = make_api_key()
    with attacker() as evil:
        async with AsyncAuthClient(store=store_with(key, recorded)) as client:
            response = await client.get(f"{evil.url}/steal")
        assert response.status_code == 200  # the request went out, without the key
        assert evil.seen.requests
        assert evil.seen.authorization == []


@pytest.mark.anyio
async def test_finding2_bare_httpx_client_with_anaconda_auth_to_another_host() -> None:
    key = make_api_key()
    with attacker() as evil:
        async with httpx.AsyncClient(auth=AnacondaAuth(store=store_with(key))) as client:
            await client.get(f"{evil.url}/steal")

        def blocking() -> None:
            with httpx.Client(auth=AnacondaAuth(api_key=key)) as sync_client:
                sync_client.get(f"{evil.url}/steal")

        await anyio.to_thread.run_sync(blocking)
        assert len(evil.seen.requests) == 2
        assert evil.seen.authorization == []


@pytest.mark.anyio
@pytest.mark.parametrize("recorded", ["anaconda.cloud", None])
async def test_finding2_base_url_elsewhere_is_refused_naming_both(recorded: str | None) -> None:
    key = make_api_key()
    with attacker() as evil:
        async with AsyncAuthClient(base_url=evil.url, store=store_with(key, recorded)) as client:
            with pytest.raises(ConfigurationError) as caught:
                await client.get("/api/account")
        message = str(caught.value)
        assert evil.host in message
        assert "https://anaconda.cloud" in message
        assert key not in message
        assert evil.seen.requests == []


def test_finding2_plain_http_to_a_network_host_never_carries_a_key() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    with (
        BaseClient(base_url="http://evil.example", api_key="k", transport=transport) as client,
        pytest.raises(ConfigurationError, match="only over https"),
    ):
        client.get("/api/account")
    with BaseClient(api_key="k", transport=transport) as client:
        client.get("http://anaconda.cloud/api/account")  # downgraded: same host, plain http
    assert [r.headers.get("Authorization") for r in sent] == [None]


@pytest.mark.anyio
async def test_finding2_configured_api_domain_other_than_the_keys_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = make_api_key()
    with attacker() as evil:
        monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", evil.host)
        async with AsyncAuthClient(store=store_with(key, "anaconda.cloud")) as client:
            with pytest.raises(ConfigurationError) as caught:
                await client.get("/api/account")
        assert evil.host in str(caught.value)
        assert "anaconda.cloud" in str(caught.value)
        assert evil.seen.requests == []


@pytest.mark.anyio
async def test_key_goes_to_the_api_domain_it_was_created_at_over_loopback_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = make_api_key()
    with attacker() as api:
        monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", api.host)
        async with AsyncAuthClient(store=store_with(key, api.host), base_url=api.url) as client:
            await client.get("/api/account")
        assert api.seen.authorization == [f"Bearer {key}"]


@pytest.mark.anyio
async def test_allowed_origins_send_the_key_to_more_origins_deliberately() -> None:
    key = make_api_key()
    with attacker() as other:
        async with AsyncAuthClient(store=store_with(key), allowed_origins=[other.url]) as client:
            await client.get(f"{other.url}/files")
        assert other.seen.authorization == [f"Bearer {key}"]


def test_allowed_origins_refuse_plain_http_to_a_network_host() -> None:
    with pytest.raises(ConfigurationError, match="allowed_origins"):
        AnacondaAuth(api_key="k", allowed_origins=["http://repo.example.com"])
    with pytest.raises(ConfigurationError, match="allowed_origins"):
        AnacondaAuth(api_key="k", allowed_origins=["repo.example.com"])


def test_api_domain_is_an_extra_field_old_readers_ignore() -> None:
    token = TokenInfo(domain=AUTH, api_key="k", extra={"api_domain": "api.example.test"})
    decoded = TokenInfo.decode(token.encode())
    assert decoded.api_domain == "api.example.test"
    assert decoded.to_dict()["api_domain"] == "api.example.test"  # survives a rewrite
    assert TokenInfo.decode(TokenInfo(domain=AUTH, api_key="k").encode()).api_domain is None


def test_origins_are_plain_tuples_with_explicit_ports() -> None:
    from anaconda_auth_async.network.origins import key_origins, origin_of, parse_origins

    https = ("https", b"anaconda.cloud", 443)
    assert origin_of(httpx.URL("https://anaconda.cloud/api")) == https
    assert origin_of(httpx.URL("https://Anaconda.Cloud:443/")) == https
    assert key_origins("https://anaconda.cloud") == {https}
    assert key_origins("http://anaconda.cloud") == frozenset()
    assert key_origins("https://[::1]:8443") == {("https", b"::1", 8443), ("http", b"::1", 8443)}
    assert parse_origins(["https://repo.example.com:8443"]) == {
        ("https", b"repo.example.com", 8443)
    }
