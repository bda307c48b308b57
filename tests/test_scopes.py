"""The scopes of the key a login stores: what every Anaconda tool reading it needs.

anaconda-cloud-auth 0.6 asked for ``cloud:read cloud:write``; anaconda-auth 0.15 adds
``repo:read`` (its conda plugin sends the key to the package repository). The key is
shared, so our logins ask for the union, unless the ``api_key_scopes`` setting narrows it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError, TokenInfo
from anaconda_auth_async.logins.key_exchange import DEFAULT_SCOPES, api_key_request
from anaconda_auth_async.testing import (
    FakePlatform,
    MemoryTokenStore,
    make_api_key,
    use_platform,
    use_store,
)

UNION = ["cloud:read", "cloud:write", "repo:read"]


def test_the_default_is_the_union_of_what_every_tool_asks_for() -> None:
    assert list(DEFAULT_SCOPES) == UNION
    assert api_key_request(AnacondaAuthSettings())[1]["scopes"] == UNION


def test_a_setting_narrows_the_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY_SCOPES", "cloud:read, cloud:write")
    settings = AnacondaAuthSettings()
    assert settings.api_key_scopes == ("cloud:read", "cloud:write")
    assert api_key_request(settings)[1]["scopes"] == ["cloud:read", "cloud:write"]
    # an explicit request still wins over the setting
    assert api_key_request(settings, scopes=["repo:read"])[1]["scopes"] == ["repo:read"]


@pytest.mark.parametrize("value", ["", " , ", "cloud:read\x07"])
def test_a_scope_setting_that_names_nothing_usable_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY_SCOPES", value)
    with pytest.raises(ConfigurationError, match="ANACONDA_AUTH_API_KEY_SCOPES"):
        AnacondaAuthSettings()


def test_scopes_come_from_the_entry_then_the_keys_own_claim() -> None:
    recorded = TokenInfo(domain="d", api_key=make_api_key(), extra={"scopes": ["a", "b"]})
    assert recorded.scopes == ("a", "b")
    claimed = TokenInfo(domain="d", api_key=make_api_key(claims={"scopes": ["repo:read"]}))
    assert claimed.scopes == ("repo:read",)
    spaced = TokenInfo(domain="d", api_key=make_api_key(claims={"scope": "x y"}))
    assert spaced.scopes == ("x", "y")
    assert TokenInfo(domain="d", api_key=make_api_key()).scopes is None


def _run(*args: str) -> tuple[int, str, str]:
    result = run(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("setting", "expected"), [(None, UNION), ("cloud:read", ["cloud:read"])])
def test_a_login_asks_for_the_scopes_records_them_and_status_shows_them(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, setting: str | None, expected: list[str]
) -> None:
    if setting is not None:
        monkeypatch.setenv("ANACONDA_AUTH_API_KEY_SCOPES", setting)
    store = MemoryTokenStore()
    with use_platform(FakePlatform()), use_store(store):
        code, _, err = _run("login", "--device")
        assert code == 0, err
        stored = store.load("id.anaconda.cloud")
        assert stored is not None
        assert stored.extra["scopes"] == expected  # what the server answered it has
        code, out, err = _run("status", "--json")
        assert code == 0, err
        assert json.loads(out)["scopes"] == expected
        code, out, _ = _run("status")
        assert f"Scopes:      {', '.join(expected)}" in out
