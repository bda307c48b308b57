"""The Panel OAuth provider: registered as ``anaconda_cloud``, endpoints from discovery."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from importlib.metadata import entry_points

import pytest
from processes import python

pytest.importorskip("panel")

from panel.config import config

from anaconda_auth_async.panel import AnacondaCloudLoginHandler
from anaconda_auth_async.testing import FakePlatform, use_platform

ISSUER = "https://id.example.test"


def _handler() -> AnacondaCloudLoginHandler:
    # A tornado RequestHandler needs an application to be built; the endpoint
    # properties only read the discovered document, so a bare instance is enough.
    return AnacondaCloudLoginHandler.__new__(AnacondaCloudLoginHandler)


@pytest.fixture
def provider() -> Iterator[Callable[[str], FakePlatform]]:
    """Serve a fake provider at an auth domain, its discovery naming endpoints of its own."""
    with ExitStack() as stack:

        def at(auth_domain: str) -> FakePlatform:
            platform = FakePlatform(auth_domain=auth_domain)
            issuer = platform.issuer
            document = {
                "authorization_endpoint": f"{issuer}/authorize-here",
                "token_endpoint": f"{issuer}/token-here",
                "userinfo_endpoint": f"{issuer}/me",
            }
            platform.script("discovery", document)
            stack.enter_context(use_platform(platform))
            return platform

        yield at


@pytest.mark.parametrize("name", ["anaconda_cloud", "anaconda_auth_async"])
def test_registered_as_panel_provider(name: str) -> None:
    # anaconda-cloud-auth registers anaconda_cloud too (Panel keeps whichever it reads
    # last), so the provider also has a name of its own.
    ours = [e for e in entry_points(group="panel.auth") if e.value.startswith("anaconda_auth")]
    (entry,) = [e for e in ours if e.name == name]
    assert entry.load() is AnacondaCloudLoginHandler


@pytest.mark.parametrize("first", ["anaconda_auth_async.panel", "panel.auth"])
def test_imports_in_either_order_in_a_fresh_interpreter(first: str) -> None:
    script = (
        f"import {first}\n"
        "import panel.auth\n"
        "from anaconda_auth_async.panel import AnacondaCloudLoginHandler as H\n"
        "assert panel.auth.AUTH_PROVIDERS['anaconda_cloud'] is H\n"
        "assert panel.auth.AUTH_PROVIDERS['anaconda_auth_async'] is H\n"
    )
    python(script)


@pytest.mark.anyio
async def test_endpoints_come_from_the_discovery_document(
    provider: Callable[[str], FakePlatform], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", "id.example.test")
    platform = provider("id.example.test")
    handler = _handler()
    await handler._discover()
    assert [str(r.url) for r in platform.requests] == [f"{ISSUER}/.well-known/openid-configuration"]
    assert f"{ISSUER}/authorize-here" == handler._OAUTH_AUTHORIZE_URL
    assert f"{ISSUER}/token-here" == handler._OAUTH_ACCESS_TOKEN_URL
    assert f"{ISSUER}/me" == handler._OAUTH_USER_URL
    assert handler._access_token_header == "Bearer {}"
    assert handler._USER_KEY == "email"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("variable", "value", "extra_params", "domain"),
    [
        pytest.param(
            "ANACONDA_CLOUD_AUTH_DOMAIN", "id.seed.test", {}, "id.seed.test", id="seed-env-var"
        ),
        pytest.param(
            "ANACONDA_AUTH_AUTH_DOMAIN",
            "id.from-env.test",
            {"auth-domain": "id.extra.test"},
            "id.extra.test",
            id="panel-extra-params-over-env-var",
        ),
    ],
)
async def test_auth_domain_comes_from(
    provider: Callable[[str], FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    extra_params: dict[str, str],
    domain: str,
) -> None:
    monkeypatch.setenv(variable, value)
    provider(domain)
    monkeypatch.setattr(config, "oauth_extra_params", extra_params)
    handler = _handler()
    await handler._discover()
    assert f"https://{domain}/authorize-here" == handler._OAUTH_AUTHORIZE_URL
    assert f"https://{domain}/token-here" == handler._OAUTH_ACCESS_TOKEN_URL


def test_no_endpoint_before_discovery() -> None:
    with pytest.raises(RuntimeError, match="read in get"):
        _ = _handler()._OAUTH_AUTHORIZE_URL


def test_panels_requests_use_the_sdks_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AnacondaCloudLoginHandler, "_http", {})
    client = _handler().get_auth_http_client()
    assert isinstance(client.defaults["ssl_options"], ssl.SSLContext)
    monkeypatch.setattr(AnacondaCloudLoginHandler, "_http", {})
    monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", "false")
    options = _handler().get_auth_http_client().defaults["ssl_options"]
    assert options.verify_mode == ssl.CERT_NONE
