"""~/.anaconda/config.toml ([plugin.auth], named sites, presets), anaconda-auth's setting
names, the one precedence order, unknown names, REQUESTS_CA_BUNDLE (docs/storage.md)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import anaconda_auth_async
from anaconda_auth_async import ConfigurationError, TokenInfo
from anaconda_auth_async.cli import cli
from anaconda_auth_async.settings.fields import AnacondaAuthSettings
from anaconda_auth_async.settings.unknown_names import warn_unknown_names
from anaconda_auth_async.sync import BaseClient
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key, use_store
from anaconda_auth_async.testkit.seal import with_environment

SITES = """\
[plugin.auth]
ssl_verify = false
client_id = "plugin-client"
future_key = "kept"

[sites.work]
domain = "work.example"
auth_domain_override = "id.work.example"
use_device_flow = true

[sites.play]
domain = "play.example"
"""


@pytest.fixture
def config(isolated_env: Path) -> Path:
    path = isolated_env / ".anaconda" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- [plugin.auth] ---------------------------------------------------------------------


def test_plugin_table_is_read_with_either_packages_names(config: Path) -> None:
    write(config, '[plugin.auth]\ndomain = "corp.example"\nssl_verify = false\n')
    settings = AnacondaAuthSettings()
    assert (settings.api_domain, settings.auth_domain) == ("corp.example", "corp.example")
    assert settings.ssl_verify is False
    assert settings.site is None
    where = settings.source_of("api_domain")
    assert where.kind == "config"
    assert str(where) == f"domain in [plugin.auth] of {config}, line 2"


def test_specific_names_beat_domain_within_one_table(config: Path) -> None:
    write(
        config,
        "[plugin.auth]\n"
        'domain = "corp.example"\n'
        'auth_domain_override = "login.corp.example"\n'
        'api_domain = "api.corp.example"\n',
    )
    settings = AnacondaAuthSettings()
    assert settings.api_domain == "api.corp.example"
    assert settings.auth_domain == "login.corp.example"


def test_anaconda_auth_values_are_translated(config: Path) -> None:
    write(
        config,
        "[plugin.auth]\n"
        "use_device_flow = false\n"
        'login_success_path = "/app/ok"\n'
        'proxy_servers = { http = "http://p:1", https = "http://p:2" }\n'
        "hash_hostname = false\n",
    )
    settings = AnacondaAuthSettings()
    assert settings.login_flow == "browser"
    assert settings.success_url == "https://anaconda.cloud/app/ok"
    assert settings.proxy == "http://p:2"


def test_proxy_servers_without_https_cannot_be_honoured(config: Path) -> None:
    write(config, '[plugin.auth]\nproxy_servers = { http = "http://p:1" }\n')
    with pytest.raises(ConfigurationError, match=r"proxy \(from proxy_servers in \[plugin.auth\]"):
        AnacondaAuthSettings()


@pytest.mark.parametrize("key", ["oidc_request_headers", "keyring"])
def test_unhonoured_anaconda_auth_keys_are_an_error_naming_file_and_line(
    config: Path, key: str
) -> None:
    write(config, f"[plugin.auth]\n\n{key} = {{ a = {{ b = 'c' }} }}\n")
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    message = str(caught.value)
    assert "\n" not in message
    assert f"{key} in [plugin.auth] of {config}, line 3" in message
    assert "cannot be honoured" in message


def test_malformed_file_is_one_line_naming_file_line_and_key(config: Path) -> None:
    write(config, "[plugin.auth]\nclient_id = 'x'\nssl_verify = fals\n")
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{config}, line 3, key ssl_verify: not valid TOML")


def test_bad_value_names_the_key_table_file_and_line(config: Path) -> None:
    write(config, "[plugin.auth]\n# a comment\ntimeout = -3\n")
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    assert f"timeout (from timeout in [plugin.auth] of {config}, line 3)" in str(caught.value)


def test_unknown_keys_are_kept_and_the_file_is_never_written(config: Path) -> None:
    write(config, SITES)
    before = config.read_bytes()
    AnacondaAuthSettings(site="play")
    anaconda_auth_async.sync.logout(site="work", store=MemoryTokenStore())
    assert config.read_bytes() == before


def test_config_path_follows_anaconda_config_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write(tmp_path / "elsewhere.toml", '[plugin.auth]\ndomain = "elsewhere.example"\n')
    monkeypatch.setenv("ANACONDA_CONFIG_TOML", str(other))
    assert AnacondaAuthSettings().api_domain == "elsewhere.example"


# --- sites -------------------------------------------------------------------------------


def test_first_site_is_the_default_and_its_table_beats_plugin_auth(config: Path) -> None:
    write(config, SITES)
    settings = AnacondaAuthSettings()
    assert settings.site == "work"
    assert settings.api_domain == "work.example"
    assert settings.auth_domain == "id.work.example"
    assert settings.login_flow == "device"
    assert settings.ssl_verify is False  # from [plugin.auth]
    assert settings.client_id == "plugin-client"
    assert str(settings.source_of("site")) == f"the first site in {config}"


def test_default_site_key_picks_the_site(config: Path) -> None:
    write(config, 'default_site = "play"\n' + SITES)
    settings = AnacondaAuthSettings()
    assert (settings.site, settings.api_domain) == ("play", "play.example")
    assert str(settings.source_of("site")) == f"default_site in {config}, line 1"


@pytest.mark.parametrize("name", ["ANACONDA_AUTH_SITE", "ANACONDA_DEFAULT_SITE"])
def test_environment_picks_the_site(
    config: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    write(config, SITES)
    monkeypatch.setenv(name, "play")
    settings = AnacondaAuthSettings()
    assert (settings.site, settings.api_domain, settings.login_flow) == (
        "play",
        "play.example",
        "auto",
    )
    assert str(settings.source_of("site")) == f"environment variable {name}"


def test_dotenv_picks_the_site(config: Path, isolated_env: Path) -> None:
    write(config, SITES)
    write(isolated_env / ".env", "ANACONDA_AUTH_SITE=play\n")
    settings = AnacondaAuthSettings()
    assert (settings.site, settings.api_domain) == ("play", "play.example")


def test_site_argument_and_with_overrides_reread_the_sources(config: Path) -> None:
    write(config, SITES)
    play = AnacondaAuthSettings(site="play")
    assert play.api_domain == "play.example"
    assert str(play.source_of("api_domain")) == f"domain in [sites.play] of {config}, line 12"
    moved = AnacondaAuthSettings(site="work", timeout=3).with_overrides(site="play")
    assert (moved.site, moved.auth_domain, moved.timeout) == ("play", "play.example", 3)


def test_a_domain_given_above_picks_the_site_with_that_domain(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config, SITES.replace("[sites.play]", "[sites.play]\nclient_id = 'play-client'"))
    monkeypatch.setenv("ANACONDA_AUTH_DOMAIN", "play.example")
    settings = AnacondaAuthSettings()
    assert (settings.site, settings.client_id) == ("play", "play-client")
    assert str(settings.source_of("site")) == "the site whose domain is play.example"


def test_a_site_can_be_named_by_its_domain(config: Path) -> None:
    write(config, SITES)
    settings = AnacondaAuthSettings(site="play.example")
    assert str(settings.source_of("api_domain")).startswith("domain in [sites.play]")


@pytest.mark.parametrize(
    ("preset", "api", "auth"),
    [
        ("anaconda.com", "anaconda.com", "anaconda.com"),
        ("anaconda.cloud", "anaconda.cloud", "id.anaconda.cloud"),
    ],
)
def test_presets_need_no_config_file(preset: str, api: str, auth: str) -> None:
    settings = AnacondaAuthSettings(site=preset)
    assert (settings.api_domain, settings.auth_domain) == (api, auth)
    assert str(settings.source_of("api_domain")) == f"the {preset} preset"


def test_unknown_site_lists_what_exists(config: Path) -> None:
    write(config, SITES)
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings(site="nope")
    assert str(caught.value) == (
        f"Unknown site 'nope': sites in {config}: work, play; "
        "presets: anaconda.com, anaconda.cloud."
    )


@pytest.mark.parametrize(("typed", "meant"), [("wrk", "work"), ("anaconda.con", "anaconda.com")])
def test_a_mistyped_site_gets_the_nearest_name(config: Path, typed: str, meant: str) -> None:
    write(config, SITES)
    with pytest.raises(ConfigurationError, match=f"did you mean '{meant}'"):
        AnacondaAuthSettings(site=typed)


# --- precedence ----------------------------------------------------------------------------


def test_precedence_argument_environment_dotenv_site_plugin_requests_default(
    config: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = write(isolated_env / "ca.pem", "not used\n")
    write(config, '[plugin.auth]\nclient_id = "plugin"\n[sites.s]\nclient_id = "site"\n')
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    assert AnacondaAuthSettings().client_id == "site"
    assert AnacondaAuthSettings().ssl_verify == str(ca)
    write(isolated_env / ".env", "ANACONDA_AUTH_CLIENT_ID=dotenv\nANACONDA_AUTH_SSL_VERIFY=true\n")
    assert AnacondaAuthSettings().client_id == "dotenv"
    assert AnacondaAuthSettings().ssl_verify is True  # our settings before REQUESTS_CA_BUNDLE
    monkeypatch.setenv("ANACONDA_CLOUD_AUTH_CLIENT_ID", "seed-env")
    assert AnacondaAuthSettings().client_id == "seed-env"
    monkeypatch.setenv("ANACONDA_AUTH_CLIENT_ID", "env")
    assert AnacondaAuthSettings().client_id == "env"
    assert AnacondaAuthSettings(client_id="arg").client_id == "arg"


def test_requests_ca_bundle_is_described(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = write(isolated_env / "ca.pem", "x\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    settings = AnacondaAuthSettings()
    assert str(settings.source_of("ssl_verify")) == "environment variable REQUESTS_CA_BUNDLE"


def test_anaconda_auth_domain_sets_both_unless_specific_names_are_given(
    monkeypatch: pytest.MonkeyPatch, config: Path
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_DOMAIN", "anaconda.com")
    settings = AnacondaAuthSettings()
    assert (settings.api_domain, settings.auth_domain) == ("anaconda.com", "anaconda.com")
    assert str(settings.source_of("auth_domain")) == "environment variable ANACONDA_AUTH_DOMAIN"
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN_OVERRIDE", "id.example.com")
    assert AnacondaAuthSettings().auth_domain == "id.example.com"
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", "ours.example.com")
    assert AnacondaAuthSettings().auth_domain == "ours.example.com"
    # a higher source's general name beats a lower source's specific one
    write(config, '[plugin.auth]\napi_domain = "from-file.example"\n')
    assert AnacondaAuthSettings().api_domain == "anaconda.com"


@pytest.mark.parametrize(("raw", "flow"), [("true", "device"), ("0", "browser")])
def test_use_device_flow(monkeypatch: pytest.MonkeyPatch, raw: str, flow: str) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_USE_DEVICE_FLOW", raw)
    assert AnacondaAuthSettings().login_flow == flow


# --- unknown names ---------------------------------------------------------------------------


def test_unknown_names_warn_once_with_the_closest_known_name(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMIAN", "x")
    write(isolated_env / ".env", "ANACONDA_CLOUD_API_KYE=y\nANACONDA_AUTH_HASH_HOSTNAME=1\n")
    with pytest.warns(UserWarning, match="is not a setting of anaconda-auth-async") as caught:
        AnacondaAuthSettings()
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert "ANACONDA_AUTH_API_DOMIAN (in the environment)" in messages[0]
    assert messages[0].endswith("did you mean ANACONDA_AUTH_API_DOMAIN?")
    assert "ANACONDA_CLOUD_API_KYE" in messages[1]
    assert messages[1].endswith("did you mean ANACONDA_CLOUD_API_KEY?")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AnacondaAuthSettings()  # once per process


def test_known_names_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unknown_names(
            settings_cls=AnacondaAuthSettings,
            environ={
                "ANACONDA_AUTH_DOMAIN": "x",
                "ANACONDA_CLOUD_API_DOMAIN": "x",
                "ANACONDA_AUTH_KEYRING_PATH": "x",
                "ANACONDA_AUTH_ENV_MANAGER_CHANNEL": "x",
                "ANACONDA_AUTH_EXTRA_HEADERS__X_ONE": "x",
                "ANACONDA_CONFIG_TOML": "x",
                "OTHER": "x",
            },
        )


def test_unhonoured_environment_name_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="ANACONDA_AUTH_OIDC_REQUEST_HEADERS"):
        warn_unknown_names(
            {"ANACONDA_AUTH_OIDC_REQUEST_HEADERS": "{}"}, settings_cls=AnacondaAuthSettings
        )


# --- site= on the API and --at on the command line ---------------------------------------------


@pytest.mark.anyio
async def test_site_on_login_logout_is_logged_in_and_clients(config: Path) -> None:
    write(config, SITES)
    key = make_api_key()
    store = MemoryTokenStore({"p": TokenInfo(domain="play.example", api_key=key)})
    assert await anaconda_auth_async.is_logged_in(site="play", store=store)
    assert not await anaconda_auth_async.is_logged_in(store=store)  # default site: work
    auth = anaconda_auth_async.AnacondaAuth(site="play", store=store)
    assert auth.domain == "play.example"
    # use_store seals the config file too; this test names its own inside the kit
    with use_store(store), with_environment({"ANACONDA_CONFIG_TOML": str(config)}):
        async with anaconda_auth_async.AsyncAuthClient(site="play") as client:
            assert str(client.base_url) == "https://play.example"
        with BaseClient(site="work") as sync_client:
            assert str(sync_client.base_url) == "https://work.example"
    assert await anaconda_auth_async.logout(site="play", store=store)
    assert store.domains == []


@pytest.mark.parametrize("command", ["login", "logout", "whoami", "api-key", "status"])
def test_every_command_takes_at(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert "--at NAME" in result.output


def test_status_names_the_site_and_where_each_setting_came_from(config: Path) -> None:
    write(config, SITES)
    store = MemoryTokenStore({"p": TokenInfo(domain="play.example", api_key=make_api_key())})
    with use_store(store), with_environment({"ANACONDA_CONFIG_TOML": str(config)}):
        result = CliRunner().invoke(cli, ["status", "--at", "play"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Site:        play" in lines
    assert any(line.startswith("Key from:") and "stored as play.example" in line for line in lines)
    # (the kit's own settings widen the column: compared word by word)
    assert ["site", "play", "(from", "--at)"] in [line.split() for line in lines]
    assert any(
        f"(from domain in [sites.play] of {config}, line 12)" in line
        and line.lstrip().startswith("api_domain")
        for line in lines
    )
    bad = CliRunner().invoke(cli, ["logout", "--at", "nope"])
    assert bad.exit_code == 6
    assert "Unknown site 'nope'" in bad.output


@pytest.mark.anyio
async def test_a_key_in_config_toml_is_said_to_come_from_there(config: Path) -> None:
    from anaconda_auth_async.logins.session import current_token

    key = make_api_key()
    write(config, f'[plugin.auth]\napi_key = "{key}"\n')
    token, source = await current_token(AnacondaAuthSettings())
    assert token is not None
    assert token.api_key == key
    assert source == f"api_key in [plugin.auth] of {config}, line 2"


def test_status_says_a_key_came_from_config_toml(config: Path) -> None:
    key = make_api_key()
    write(config, f'[plugin.auth]\napi_key = "{key}"\n')
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert f"Key from:    api_key in [plugin.auth] of {config}, line 2" in result.output
    assert key not in result.output
