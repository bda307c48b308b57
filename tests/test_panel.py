"""The Panel OAuth provider: registered under ``anaconda_cloud``, endpoints on the auth domain."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest.importorskip("panel")

# Panel loads the ``panel.auth`` entry points (ours included) while importing
# panel.auth, so it must be imported before our module, as `panel serve` does.
import panel.auth  # noqa: F401
from panel.config import config

from anaconda_auth_async.panel import AnacondaCloudLoginHandler


def _handler() -> AnacondaCloudLoginHandler:
    # A tornado RequestHandler needs an application to be built; the endpoint
    # properties only read settings, so a bare instance is enough to test them.
    return AnacondaCloudLoginHandler.__new__(AnacondaCloudLoginHandler)


def test_registered_as_panel_provider() -> None:
    (entry,) = [e for e in entry_points(group="panel.auth") if e.name == "anaconda_cloud"]
    assert entry.load() is AnacondaCloudLoginHandler


def test_endpoints_default_to_production_auth_domain() -> None:
    handler = _handler()
    assert handler._OAUTH_AUTHORIZE_URL == "https://id.anaconda.cloud/oauth2/auth"
    assert handler._OAUTH_ACCESS_TOKEN_URL == "https://id.anaconda.cloud/oauth2/token"
    assert handler._OAUTH_USER_URL == "https://id.anaconda.cloud/oauth2/userinfo"
    assert handler._access_token_header == "Bearer {}"
    assert handler._USER_KEY == "email"


def test_auth_domain_from_seed_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_AUTH_DOMAIN", "id.example.test")
    assert _handler()._OAUTH_AUTHORIZE_URL == "https://id.example.test/oauth2/auth"


def test_auth_domain_from_panel_extra_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", "id.from-env.test")
    monkeypatch.setattr(config, "oauth_extra_params", {"auth-domain": "id.extra.test"})
    assert _handler()._OAUTH_ACCESS_TOKEN_URL == "https://id.extra.test/oauth2/token"
