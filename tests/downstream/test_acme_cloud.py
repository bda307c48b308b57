"""The downstream example's tests: only `anaconda_auth_async.testing` and its fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from acme_cloud import AcmeClient, greeting, projects

from anaconda_auth_async import LoginRequiredError, TokenInfo
from anaconda_auth_async.sync import login
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore


def test_a_logged_in_user_is_greeted_without_a_login(
    anaconda_logged_in: TokenInfo, anaconda_platform: FakePlatform
) -> None:
    assert greeting() == "Hello, Test User!"
    assert not [r for r in anaconda_platform.requests if r.url.path == "/oauth2/token"]


def test_a_login_runs_when_nobody_is_logged_in(
    anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> None:
    assert greeting(open_browser=anaconda_platform.open_browser) == "Hello, Test User!"
    stored = anaconda_store.load(anaconda_platform.auth_domain)
    assert stored is not None
    assert stored.api_key in anaconda_platform.minted
    assert stored.username == "test-user"


def test_the_client_sends_its_user_agent_and_api_version(
    anaconda_logged_in: TokenInfo, anaconda_platform: FakePlatform
) -> None:
    anaconda_platform.route("GET", "/api/acme/projects", json={"projects": ["rocket"]})
    assert projects() == ["rocket"]
    sent = anaconda_platform.requests[-1]
    assert sent.headers["User-Agent"] == "acme-cloud/1.0"
    assert sent.headers["Api-Version"] == "2024.01.01"
    assert sent.headers["Authorization"] == f"Bearer {anaconda_logged_in.api_key}"


def test_a_revoked_key_asks_for_a_login(
    anaconda_logged_in: TokenInfo, anaconda_platform: FakePlatform
) -> None:
    assert anaconda_logged_in.api_key is not None
    anaconda_platform.revoke(anaconda_logged_in.api_key)
    with pytest.raises(LoginRequiredError, match="invalid or has been revoked"):
        projects()


def test_a_forbidden_path_is_an_http_error(
    anaconda_logged_in: TokenInfo, anaconda_platform: FakePlatform
) -> None:
    anaconda_platform.forbid("/api/acme/projects")
    with AcmeClient() as client:
        assert client.get("/api/acme/projects").status_code == 403


def test_a_device_code_login_completes_without_a_person(
    anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> None:
    token = login(flow="device", quiet=True)
    assert token.api_key in anaconda_platform.minted
    with AcmeClient() as client:
        assert client.email == "test@example.com"


def test_a_key_for_a_machine_is_minted_through_the_platform(
    anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> None:
    from anaconda_auth_async.sync import create_api_key

    key = create_api_key(open_browser=anaconda_platform.open_browser, quiet=True)
    assert key.api_key in anaconda_platform.minted
    assert anaconda_store.load(anaconda_platform.auth_domain) is None  # nothing stored


@pytest.fixture
def developer_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's or CI's own Anaconda settings, set before the platform fixture."""
    monkeypatch.setenv("ANACONDA_AUTH_CLIENT_ID", "someone-elses-client")
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "api.elsewhere.example")
    config = tmp_path / "config.toml"
    config.write_text('[plugin.auth]\nclient_id = "from-config"\n')
    monkeypatch.setenv("ANACONDA_CONFIG_TOML", str(config))


def test_the_developers_own_settings_do_not_leak_into_the_fake_platform(
    developer_settings: None, anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> None:
    assert greeting(open_browser=anaconda_platform.open_browser) == "Hello, Test User!"
    assert anaconda_store.load(anaconda_platform.auth_domain) is not None


# --- nothing the kit enables reaches the developer's own login ---------------------------
# (tests/test_downstream_sealed.py runs this file in a subprocess, with a real-looking
# ~/.anaconda/keyring in HOME and none of the repository's own fixtures, and checks that
# the file is byte for byte what it was.)


def test_the_platform_alone_never_finds_the_developers_key(
    anaconda_platform: FakePlatform,
) -> None:
    from anaconda_auth_async.sync import is_logged_in, logout

    assert not is_logged_in()
    with pytest.raises(LoginRequiredError):
        projects()
    token = login(flow="device", quiet=True)  # no key found: a login, stored in the kit's file
    assert token.api_key in anaconda_platform.minted
    assert login(quiet=True).api_key == token.api_key  # that key, not another
    assert logout() is True


def test_a_forced_login_and_a_logout_everywhere_stay_in_the_kit(
    anaconda_logged_in: TokenInfo, anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> None:
    from anaconda_auth_async.sync import logout

    token = login(force=True, flow="device", quiet=True)
    assert token.api_key != anaconda_logged_in.api_key
    assert logout(all_sites=True) is True
    assert anaconda_store.domains == []


def test_a_rejected_key_is_recorded_in_the_kit(anaconda_platform: FakePlatform) -> None:
    from anaconda_auth_async.sync import is_logged_in

    key = login(flow="device", quiet=True).api_key
    assert key is not None
    anaconda_platform.revoke(key)
    with pytest.raises(LoginRequiredError):
        projects()  # a 401: the rejection is written to the kit's keyring file
    assert not is_logged_in()
    sent = [r for r in anaconda_platform.requests if r.url.path == "/api/acme/projects"]
    assert sent[-1].headers["Authorization"] == f"Bearer {key}"  # a copy, as it was sent


def test_the_store_alone_and_the_command_line(anaconda_store: MemoryTokenStore) -> None:
    import subprocess
    import sys

    from click.testing import CliRunner

    from anaconda_auth_async.cli import cli
    from anaconda_auth_async.sync import logout

    assert logout(all_sites=True) is False  # nothing in the test's store
    result = CliRunner().invoke(cli, ["logout", "--all"])
    assert result.exit_code == 0, result.output
    assert "There were no stored API keys." in result.output
    # The installed command, started by the test: the environment keeps it in the kit too.
    command = [sys.executable, "-m", "anaconda_auth_async", "logout", "--all"]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr


def test_use_platform_and_use_store_without_the_plugin() -> None:
    from anaconda_auth_async.sync import logout
    from anaconda_auth_async.testing import use_platform, use_store

    platform = FakePlatform()
    with use_platform(platform):  # alone: its own temporary keyring, a free port
        token = login(flow="browser", open_browser=platform.open_browser, quiet=True)
        assert token.api_key in platform.minted
        assert logout(all_sites=True) is True
    with use_store(MemoryTokenStore()), use_platform(platform):
        login(flow="browser", open_browser=platform.open_browser, quiet=True)
        assert logout(all_sites=True) is True
