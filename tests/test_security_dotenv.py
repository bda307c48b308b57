"""Security: a `.env` file cannot lower security silently (issue 13, finding 1).

The attack: a cloned repository's `.env` points the API domain at an attacker's HTTPS
server on 127.0.0.1 and turns off certificate checks; `anaconda-auth whoami` must not send
the stored key there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attackers import attacker
from click.testing import CliRunner

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError, TokenInfo
from anaconda_auth_async.cli import cli
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore
from anaconda_auth_async.testing import make_api_key


def store_legacy_key(key: str) -> None:
    """A key as anaconda-cloud-auth stored it: no record of the API domain."""
    KeyringTokenStore(AnacondaAuthSettings()).save(
        TokenInfo(domain="id.anaconda.cloud", api_key=key)
    )


def test_finding1_dotenv_cannot_send_the_stored_key_to_another_host(
    isolated_env: Path, tmp_path: Path
) -> None:
    key = make_api_key()
    store_legacy_key(key)
    with attacker(tls=tmp_path / "tls") as evil:
        (isolated_env / ".env").write_text(
            f"ANACONDA_CLOUD_API_DOMAIN={evil.host}\nANACONDA_CLOUD_SSL_VERIFY=false\n"
        )
        result = CliRunner().invoke(cli, ["whoami"])
        assert evil.seen.requests == []
    assert result.exit_code == 6, result.output  # a configuration error
    assert str(isolated_env / ".env") in result.output
    assert "api_domain" in result.output or "ssl_verify" in result.output
    assert key not in result.output


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("ANACONDA_AUTH_API_DOMAIN=evil.example", "api_domain"),
        ("ANACONDA_CLOUD_AUTH_DOMAIN=evil.example", "auth_domain"),
        ("ANACONDA_AUTH_SSL_VERIFY=false", "ssl_verify"),
        ("ANACONDA_CLOUD_API_SSL_VERIFY=0", "ssl_verify"),
        ("ANACONDA_AUTH_SSL_VERIFY={ca}", "ssl_verify"),
        ("ANACONDA_AUTH_PROXY=http://evil.example:3128", "proxy"),
        ("ANACONDA_AUTH_KEYRING_PATH=./keys", "keyring_path"),
        ("ANACONDA_AUTH_LOGIN_SUCCESS_URL=https://evil.example/", "login_success_url"),
    ],
)
def test_weakening_settings_from_dotenv_are_refused_naming_file_and_setting(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, line: str, field: str
) -> None:
    monkeypatch.delenv("ANACONDA_AUTH_KEYRING_PATH")
    ca = isolated_env / "ca.pem"
    ca.write_text("not checked here\n")
    (isolated_env / ".env").write_text(line.format(ca=ca) + "\n")
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    assert field in str(caught.value)
    assert str(isolated_env / ".env") in str(caught.value)
    assert "ANACONDA_AUTH_ALLOW_DOTENV" in str(caught.value)
    # A deliberate act allows it: the environment variable, or the argument.
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", f"timeout, {field}")
    AnacondaAuthSettings()
    monkeypatch.delenv("ANACONDA_AUTH_ALLOW_DOTENV")
    AnacondaAuthSettings(allow_dotenv=[field])


def test_dotenv_may_still_set_harmless_and_safe_values(isolated_env: Path) -> None:
    (isolated_env / ".env").write_text(
        "ANACONDA_AUTH_TIMEOUT=7\nANACONDA_AUTH_SSL_VERIFY=true\n"
        "ANACONDA_AUTH_API_DOMAIN=anaconda.cloud\nANACONDA_AUTH_SSL_VERIFY=truststore\n"
    )
    settings = AnacondaAuthSettings()
    assert settings.timeout == 7
    assert settings.ssl_verify == "truststore"


def test_allow_list_is_never_read_from_the_dotenv_itself(isolated_env: Path) -> None:
    (isolated_env / ".env").write_text(
        "ANACONDA_AUTH_ALLOW_DOTENV=all\nANACONDA_AUTH_SSL_VERIFY=false\n"
    )
    with pytest.raises(ConfigurationError, match="ssl_verify"):
        AnacondaAuthSettings()


def test_environment_and_arguments_still_weaken_deliberately(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / ".env").write_text("ANACONDA_AUTH_SSL_VERIFY=false\n")
    monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", "false")
    assert AnacondaAuthSettings().ssl_verify is False
    monkeypatch.delenv("ANACONDA_AUTH_SSL_VERIFY")
    assert AnacondaAuthSettings(ssl_verify=False).ssl_verify is False


def test_a_dotenv_file_that_is_not_utf8_is_one_configuration_error(isolated_env: Path) -> None:
    (isolated_env / ".env").write_bytes(b"\xff\xfe ANACONDA_AUTH_TIMEOUT=3\n")
    with pytest.raises(ConfigurationError, match=r"\.env: it is not UTF-8 text; fix or remove it"):
        AnacondaAuthSettings()


def test_a_site_argument_keeps_the_dotenv_allowance_of_the_settings(isolated_env: Path) -> None:
    # with_overrides(site=...) reads every source again; it must do so under the same
    # allow_dotenv the settings were built with (a client given site= used to refuse it).
    from anaconda_auth_async import AsyncAuthClient
    from anaconda_auth_async.sync import BaseClient

    (isolated_env / ".env").write_text("ANACONDA_AUTH_API_DOMAIN=api.example.test\n")
    settings = AnacondaAuthSettings(allow_dotenv=["api_domain"])
    assert settings.api_domain == "api.example.test"
    moved = settings.with_overrides(site="anaconda.com")
    assert (moved.site, moved.api_domain) == ("anaconda.com", "api.example.test")
    assert moved.with_overrides(timeout=5).with_overrides(site="anaconda.cloud").api_domain == (
        "api.example.test"
    )
    with BaseClient(settings=settings, site="anaconda.com", api_key="k") as client:
        assert client.settings.api_domain == "api.example.test"
    client_async = AsyncAuthClient(settings=settings, site="anaconda.com", api_key="k")
    assert str(client_async.base_url) == "https://api.example.test"
    # Settings built without the allowance still refuse that .env under any site.
    with pytest.raises(ConfigurationError, match="api_domain"):
        AnacondaAuthSettings(site="anaconda.com")
