"""Domains with a path, as anaconda-cloud-auth 0.6 accepted them.

0.6 put the auth domain after ``https://`` as it was, so ``anaconda.cloud/api/iam`` (an
OpenID issuer with a path) gave the discovery URL
``https://anaconda.cloud/api/iam/.well-known/openid-configuration``; its own tests and
integration setup used that form. The API domain likewise: ``https://<api domain>``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError, TokenInfo, sync
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, make_api_key


def test_the_seeds_auth_domain_with_a_path_is_accepted_and_discovered_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_AUTH_DOMAIN", "anaconda.cloud/api/iam")
    settings = AnacondaAuthSettings()
    assert settings.auth_domain == "anaconda.cloud/api/iam"
    assert settings.well_known_url == (
        "https://anaconda.cloud/api/iam/.well-known/openid-configuration"
    )
    with sync.BaseClient() as client:  # 0.6's integration setup: a client, no error
        assert client.settings.auth_domain == "anaconda.cloud/api/iam"


def test_an_api_domain_with_a_path_is_the_base_of_every_request() -> None:
    key = make_api_key()
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("Authorization")))
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    with sync.BaseClient(domain="api.example.test/v2", api_key=key, transport=transport) as c:
        c.get("api/account")
    assert seen == [("https://api.example.test/v2/api/account", f"Bearer {key}")]


@pytest.mark.parametrize(
    "value", ["https://anaconda.cloud/api", "/api/iam", "host/a?b", "host/a b", "user@host/x"]
)
def test_what_is_not_a_domain_and_path_is_still_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="optional port and path"):
        AnacondaAuthSettings(auth_domain=value)


@pytest.mark.anyio
async def test_a_login_at_an_issuer_with_a_path_is_stored_under_it_and_sent(
    isolated_env: Path,
) -> None:
    import anaconda_auth_async

    platform = FakePlatform(auth_domain="id.example.test/api/iam", api_domain="api.example.test")
    store = MemoryTokenStore()
    settings = platform.settings()
    token = await anaconda_auth_async.login(
        settings=settings, store=store, flow="device", quiet=True, transport=platform.transport
    )
    assert token.api_key in platform.minted
    discovery = platform.requests[0].url
    assert str(discovery) == ("https://id.example.test/api/iam/.well-known/openid-configuration")
    stored = store.load("id.example.test/api/iam")  # 0.6's name: its auth domain
    assert isinstance(stored, TokenInfo)
    assert stored.api_key == token.api_key
    async with anaconda_auth_async.AsyncAuthClient(
        settings=settings, store=store, transport=platform.transport
    ) as client:
        response = await client.get("/api/account")
    assert response.request.headers["Authorization"] == f"Bearer {token.api_key}"
