"""anaconda-auth 0.15's client arguments: the same meaning here, or a TypeError saying what
to pass instead (docs/migration/anaconda-auth.md lists each)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from certificates import self_signed
from test_transport import pool_context

from anaconda_auth_async import AsyncAuthClient, TokenInfo
from anaconda_auth_async.network.transport import transport_config
from anaconda_auth_async.sync import BaseClient
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

CLIENTS = [BaseClient, AsyncAuthClient]


@pytest.mark.parametrize("cls", CLIENTS)
def test_proxy_servers_mapping_is_the_proxy(cls: type[BaseClient]) -> None:
    client = cls(proxy_servers={"https": "http://proxy.example:3128", "http": "http://x:1"})
    assert client.settings.proxy == "http://proxy.example:3128"
    assert client.settings.source_of("proxy").kind == "argument"


@pytest.mark.parametrize("cls", CLIENTS)
def test_proxy_servers_without_an_https_entry_is_refused(cls: type[BaseClient]) -> None:
    from anaconda_auth_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="https"):
        cls(proxy_servers={"http": "http://proxy.example:3128"})


def test_client_cert_and_key_are_the_mutual_tls_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "mine", ca=True)
    with BaseClient(client_cert=str(cert), client_cert_key=str(key)) as client:
        assert (client.settings.client_cert, client.settings.client_cert_key) == (
            str(cert),
            str(key),
        )
        config = transport_config(client.settings)
        assert config.cert == (str(cert), str(key))
        assert pool_context(client) is config.verify  # loaded into the context used


def test_auth_domain_override_is_the_auth_domain_and_its_stored_key_is_sent() -> None:
    key = make_api_key()
    store = MemoryTokenStore(
        {"x": TokenInfo(domain="id.example.com", api_key=key, extra={"api_domain": "example.com"})}
    )
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json={})

    with BaseClient(
        domain="example.com",
        auth_domain_override="id.example.com",
        store=store,
        transport=httpx.MockTransport(handler),
    ) as client:
        assert client.settings.auth_domain == "id.example.com"
        client.get("/api/account")
    assert seen == [f"Bearer {key}"]


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("value", [True, False])
def test_hash_hostname_is_refused_naming_what_to_do(cls: type[BaseClient], value: bool) -> None:
    with pytest.raises(TypeError) as caught:
        cls(hash_hostname=value)  # type: ignore[call-arg]
    message = str(caught.value)
    assert message.startswith(f"{cls.__name__}() does not take anaconda-auth's argument")
    assert "hash_hostname=" in message
    assert "sends no host name" in message
    assert "extra_headers=" in message
