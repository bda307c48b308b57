"""Settings: every environment name (new and anaconda-cloud-auth's), the `.env` file, the
order of sources, booleans, one-line errors naming setting and source, and a secret API key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices

from anaconda_auth_async import ConfigurationError
from anaconda_auth_async.settings.fields import AnacondaAuthSettings

SECRET = "sk-super-secret-api-key"

# field -> (its environment names, new name first; a raw value; the value it gives)
NAMES: dict[str, tuple[tuple[str, ...], str, Any]] = {
    "site": (("ANACONDA_AUTH_SITE", "ANACONDA_DEFAULT_SITE"), "anaconda.com", "anaconda.com"),
    "api_domain": (
        (
            "ANACONDA_AUTH_API_DOMAIN",
            "ANACONDA_CLOUD_API_DOMAIN",
            "ANACONDA_AUTH_DOMAIN",
            "ANACONDA_CLOUD_DOMAIN",
        ),
        "api.example.com",
        "api.example.com",
    ),
    "auth_domain": (
        (
            "ANACONDA_AUTH_AUTH_DOMAIN",
            "ANACONDA_CLOUD_AUTH_DOMAIN",
            "ANACONDA_AUTH_AUTH_DOMAIN_OVERRIDE",
            "ANACONDA_CLOUD_AUTH_DOMAIN_OVERRIDE",
            "ANACONDA_AUTH_DOMAIN",
            "ANACONDA_CLOUD_DOMAIN",
        ),
        "id.example.com:8443",
        "id.example.com:8443",
    ),
    "client_id": (
        ("ANACONDA_AUTH_CLIENT_ID", "ANACONDA_CLOUD_AUTH_CLIENT_ID"),
        "client-123",
        "client-123",
    ),
    "redirect_uri": (
        ("ANACONDA_AUTH_REDIRECT_URI", "ANACONDA_CLOUD_AUTH_REDIRECT_URI"),
        "http://127.0.0.1:9000/cb",
        "http://127.0.0.1:9000/cb",
    ),
    "openid_config_path": (
        ("ANACONDA_AUTH_OPENID_CONFIG_PATH", "ANACONDA_CLOUD_AUTH_OPENID_CONFIG_PATH"),
        "custom/openid",
        "custom/openid",
    ),
    "api_key": (("ANACONDA_AUTH_API_KEY", "ANACONDA_CLOUD_API_KEY"), SECRET, SECRET),
    "api_key_file": (
        ("ANACONDA_AUTH_API_KEY_FILE", "ANACONDA_CLOUD_API_KEY_FILE"),
        "/run/secrets/key",
        Path("/run/secrets/key"),
    ),
    "api_key_scopes": (
        ("ANACONDA_AUTH_API_KEY_SCOPES",),
        "cloud:read,cloud:write",
        ("cloud:read", "cloud:write"),
    ),
    "extra_headers": (
        ("ANACONDA_AUTH_EXTRA_HEADERS", "ANACONDA_CLOUD_API_EXTRA_HEADERS"),
        '{"X-Team": "blue"}',
        {"X-Team": "blue"},
    ),
    "ssl_verify": (
        (
            "ANACONDA_AUTH_SSL_VERIFY",
            "ANACONDA_CLOUD_API_SSL_VERIFY",
            "ANACONDA_CLOUD_AUTH_SSL_VERIFY",
            "ANACONDA_CLOUD_SSL_VERIFY",
        ),
        "false",
        False,
    ),
    "proxy": (
        ("ANACONDA_AUTH_PROXY", "ANACONDA_AUTH_PROXY_SERVERS"),
        "http://proxy.example:3128",
        "http://proxy.example:3128",
    ),
    "client_cert": (("ANACONDA_AUTH_CLIENT_CERT",), "/etc/cert.pem", "/etc/cert.pem"),
    "client_cert_key": (("ANACONDA_AUTH_CLIENT_CERT_KEY",), "/etc/key.pem", "/etc/key.pem"),
    "timeout": (("ANACONDA_AUTH_TIMEOUT",), "12.5", 12.5),
    "login_timeout": (("ANACONDA_AUTH_LOGIN_TIMEOUT",), "60", 60.0),
    "storage_timeout": (("ANACONDA_AUTH_STORAGE_TIMEOUT",), "2", 2.0),
    "preferred_token_storage": (("ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE",), "system", "system"),
    "keyring_path": (("ANACONDA_AUTH_KEYRING_PATH",), "/srv/keyring", Path("/srv/keyring")),
    "login_flow": (
        ("ANACONDA_AUTH_LOGIN_FLOW", "ANACONDA_AUTH_USE_DEVICE_FLOW"),
        "device",
        "device",
    ),
    "ephemeral_port": (("ANACONDA_AUTH_EPHEMERAL_PORT",), "yes", True),
    "login_success_url": (
        ("ANACONDA_AUTH_LOGIN_SUCCESS_URL",),
        "https://ok.example",
        "https://ok.example",
    ),
    "login_error_url": (
        ("ANACONDA_AUTH_LOGIN_ERROR_URL",),
        "https://err.example",
        "https://err.example",
    ),
    "login_success_path": (("ANACONDA_AUTH_LOGIN_SUCCESS_PATH",), "/app/ok", "/app/ok"),
    "login_error_path": (("ANACONDA_AUTH_LOGIN_ERROR_PATH",), "/app/err", "/app/err"),
}

CASES = [
    pytest.param(field, name, raw, expected, id=name)
    for field, (names, raw, expected) in NAMES.items()
    for name in names
]


def _value(settings: AnacondaAuthSettings, field: str) -> Any:
    value = getattr(settings, field)
    return value.get_secret_value() if field == "api_key" else value


def test_the_table_covers_every_setting_and_name() -> None:
    fields = AnacondaAuthSettings.model_fields
    assert set(NAMES) == set(fields)
    for field, (names, _, _) in NAMES.items():
        alias = fields[field].validation_alias
        assert isinstance(alias, AliasChoices)
        assert tuple(alias.choices) == names


def test_seed_names_are_all_read() -> None:
    seed_names = {name for names, _, _ in NAMES.values() for name in names}
    assert {
        "ANACONDA_CLOUD_API_DOMAIN",
        "ANACONDA_CLOUD_API_KEY",
        "ANACONDA_CLOUD_API_EXTRA_HEADERS",
        "ANACONDA_CLOUD_AUTH_DOMAIN",
        "ANACONDA_CLOUD_AUTH_CLIENT_ID",
    } <= seed_names


@pytest.mark.parametrize(("field", "name", "raw", "expected"), CASES)
def test_every_environment_name(
    monkeypatch: pytest.MonkeyPatch, field: str, name: str, raw: str, expected: Any
) -> None:
    monkeypatch.setenv(name, raw)
    assert _value(AnacondaAuthSettings(), field) == expected


@pytest.mark.parametrize(("field", "name", "raw", "expected"), CASES)
def test_every_name_in_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
    field: str,
    name: str,
    raw: str,
    expected: Any,
) -> None:
    monkeypatch.delenv("ANACONDA_AUTH_KEYRING_PATH")
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "all")  # guarded ones too (see security)
    (isolated_env / ".env").write_text(f"{name}='{raw}'\n# a comment\nOTHER_TOOL=1\n")
    assert _value(AnacondaAuthSettings(), field) == expected


def test_defaults_are_the_seeds(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    monkeypatch.delenv("ANACONDA_AUTH_KEYRING_PATH")
    settings = AnacondaAuthSettings()
    assert settings.api_domain == "anaconda.cloud"
    assert settings.auth_domain == "id.anaconda.cloud"
    assert settings.client_id == "b4ad7f1d-c784-46b5-a9fe-106e50441f5a"
    assert settings.redirect_uri == "http://127.0.0.1:8000/auth/oidc"
    assert settings.api_key is None
    assert settings.ssl_verify is True
    assert settings.extra_headers == {}
    assert settings.preferred_token_storage == "anaconda-keyring"
    assert settings.keyring_path == isolated_env / ".anaconda" / "keyring"
    assert settings.well_known_url == "https://id.anaconda.cloud/.well-known/openid-configuration"
    assert settings.api_base_url == "https://anaconda.cloud"
    assert settings.success_url == "https://anaconda.cloud/local-login-success"
    assert settings.error_url == "https://anaconda.cloud/local-login-error"


def test_order_arguments_new_env_seed_env_dotenv_default(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    assert AnacondaAuthSettings().api_domain == "anaconda.cloud"
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "api_domain")
    (isolated_env / ".env").write_text("ANACONDA_CLOUD_API_DOMAIN=seed-dotenv.example\n")
    assert AnacondaAuthSettings().api_domain == "seed-dotenv.example"
    (isolated_env / ".env").write_text(
        "ANACONDA_CLOUD_API_DOMAIN=seed-dotenv.example\nANACONDA_AUTH_API_DOMAIN=dotenv.example\n"
    )
    assert AnacondaAuthSettings().api_domain == "dotenv.example"
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "seed-env.example")
    assert AnacondaAuthSettings().api_domain == "seed-env.example"
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", "env.example")
    assert AnacondaAuthSettings().api_domain == "env.example"
    assert AnacondaAuthSettings(api_domain="arg.example").api_domain == "arg.example"


TRUE = ["true", "True", "TRUE", "1", "yes", "Yes", "y", "on", "ON", "t", " true "]
FALSE = ["false", "False", "FALSE", "0", "no", "NO", "n", "off", "Off", "f", " false\n"]


@pytest.mark.parametrize(
    ("raw", "expected"), [(v, True) for v in TRUE] + [(v, False) for v in FALSE]
)
@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("ephemeral_port", "ANACONDA_AUTH_EPHEMERAL_PORT"),
        ("ssl_verify", "ANACONDA_AUTH_SSL_VERIFY"),
        ("ssl_verify", "ANACONDA_CLOUD_API_SSL_VERIFY"),
    ],
)
def test_booleans_in_every_usual_spelling(
    monkeypatch: pytest.MonkeyPatch, field: str, name: str, raw: str, expected: bool
) -> None:
    monkeypatch.setenv(name, raw)
    assert getattr(AnacondaAuthSettings(), field) is expected
    assert getattr(AnacondaAuthSettings(**{field: raw}), field) is expected


def test_ssl_verify_takes_a_ca_bundle_or_truststore(isolated_env: Path) -> None:
    bundle = isolated_env / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert AnacondaAuthSettings(ssl_verify=str(bundle)).ssl_verify == str(bundle)
    assert AnacondaAuthSettings(ssl_verify=bundle).ssl_verify == str(bundle)
    assert AnacondaAuthSettings(ssl_verify="truststore").ssl_verify == "truststore"


BAD = [
    pytest.param("extra_headers", "ANACONDA_CLOUD_API_EXTRA_HEADERS", '{"X-A": ', id="bad-json"),
    pytest.param(
        "extra_headers", "ANACONDA_AUTH_EXTRA_HEADERS", '["X-A"]', id="headers-not-object"
    ),
    pytest.param("extra_headers", "ANACONDA_AUTH_EXTRA_HEADERS", '{"X-A": 1}', id="header-not-str"),
    pytest.param("ssl_verify", "ANACONDA_AUTH_SSL_VERIFY", "/no/such/ca.pem", id="missing-ca"),
    pytest.param("ssl_verify", "ANACONDA_CLOUD_API_SSL_VERIFY", "", id="empty-ssl-verify"),
    pytest.param("ephemeral_port", "ANACONDA_AUTH_EPHEMERAL_PORT", "maybe", id="not-a-boolean"),
    pytest.param("timeout", "ANACONDA_AUTH_TIMEOUT", "soon", id="not-a-number"),
    pytest.param("timeout", "ANACONDA_AUTH_TIMEOUT", "-1", id="not-positive"),
    pytest.param(
        "api_domain", "ANACONDA_CLOUD_API_DOMAIN", "https://x.example/", id="url-as-domain"
    ),
    pytest.param("login_flow", "ANACONDA_AUTH_LOGIN_FLOW", "magic", id="unknown-flow"),
]


def settings_error(**arguments: Any) -> ConfigurationError:
    """The error AnacondaAuthSettings(**arguments) raises: one line, without SECRET."""
    with pytest.raises(ConfigurationError) as info:
        AnacondaAuthSettings(**arguments)
    message = str(info.value)
    assert "\n" not in message
    assert SECRET not in message
    return info.value


@pytest.mark.parametrize(("field", "name", "raw"), BAD)
def test_bad_environment_value_is_one_line_naming_setting_and_source(
    monkeypatch: pytest.MonkeyPatch, field: str, name: str, raw: str
) -> None:
    monkeypatch.setenv(name, raw)
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", SECRET)
    error = settings_error()
    assert f"Invalid setting {field}" in str(error)
    assert f"environment variable {name}" in str(error)
    assert error.__suppress_context__  # pydantic's error (it shows the input) is hidden
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(("field", "name", "raw"), BAD)
def test_bad_dotenv_value_names_the_file(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, field: str, name: str, raw: str
) -> None:
    (isolated_env / ".env").write_text(f"{name}='{raw}'\nANACONDA_AUTH_API_KEY={SECRET}\n")
    message = str(settings_error())
    assert f"Invalid setting {field}" in message
    assert f"{name} in {isolated_env / '.env'}" in message


@pytest.mark.parametrize(("field", "name", "raw"), BAD)
def test_bad_argument_names_the_argument(field: str, name: str, raw: str) -> None:
    assert f"Invalid setting {field} (from argument {field}=)" in str(
        settings_error(**{field: raw}, api_key=SECRET)
    )


def test_two_bad_values_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "soon")
    monkeypatch.setenv("ANACONDA_AUTH_EPHEMERAL_PORT", "maybe")
    with pytest.raises(ConfigurationError) as info:
        AnacondaAuthSettings()
    assert "\n" not in str(info.value)
    assert "timeout" in str(info.value)
    assert "ephemeral_port" in str(info.value)


def test_the_api_key_never_shows(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", SECRET)
    settings = AnacondaAuthSettings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in str(settings.model_dump())
    for bad in ([SECRET], {"key": SECRET}, 12):
        with pytest.raises(ConfigurationError) as info:
            AnacondaAuthSettings(api_key=bad)
        assert SECRET not in str(info.value)
        assert "api_key" in str(info.value)


def test_extra_headers_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", '{"X-Gateway-Key": "hidden-value"}')
    settings = AnacondaAuthSettings()
    assert settings.extra_headers == {"X-Gateway-Key": "hidden-value"}
    assert "hidden-value" not in repr(settings)


def test_settings_are_frozen_data() -> None:
    settings = AnacondaAuthSettings()
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's frozen-instance error
        settings.api_domain = "other.example"  # type: ignore[misc]


def test_keyring_path_expands_the_home(isolated_env: Path) -> None:
    assert AnacondaAuthSettings(keyring_path="~/k").keyring_path == isolated_env / "k"


@pytest.mark.parametrize(
    "name", ["ANACONDA_AUTH_KEYRING_PATH", "ANACONDA_AUTH_SSL_VERIFY", "ANACONDA_CONFIG_TOML"]
)
def test_a_home_no_user_has_is_one_clear_error(
    name: str, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    # pathlib raises RuntimeError for ~nobody; it reached the CLI as "Unexpected error".
    from cli_runner import run

    monkeypatch.setenv(name, "~no-such-user-here/file")
    expected = "~no-such-user-here names no home directory this system knows"
    with pytest.raises(ConfigurationError, match=expected):
        AnacondaAuthSettings()
    result = run("whoami")  # sends a request: a bad ssl_verify stops it too
    assert result.exit_code == 6, result.stderr
    assert result.stderr.startswith("Error: ")
    assert expected in result.stderr
    assert "Unexpected" not in result.stderr


# --- with_overrides: the one validated way to apply arguments ---------------------------


def test_with_overrides_validates_like_the_constructor() -> None:
    settings = AnacondaAuthSettings(api_domain="api.example.test")
    with pytest.raises(ConfigurationError, match=r"api_domain \(from argument api_domain=\)"):
        settings.with_overrides(api_domain="https://api.example.test/")
    with pytest.raises(ConfigurationError, match="extra_headers") as caught:
        settings.with_overrides(extra_headers='{"X-Token": "s3cret"')
    assert "s3cret" not in str(caught.value)
    with pytest.raises(TypeError, match="no_such_setting"):
        settings.with_overrides(no_such_setting=1)


def test_the_typed_overrides_name_every_setting_and_nothing_else() -> None:
    # with_overrides, resolve_settings and the constructor are typed by SettingsOverrides.
    from typing import get_type_hints

    from anaconda_auth_async.settings.fields import SettingsOverrides

    assert list(get_type_hints(SettingsOverrides)) == list(AnacondaAuthSettings.model_fields)


def test_with_overrides_keeps_the_rest_and_ignores_none(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AnacondaAuthSettings(api_domain="api.example.test", timeout=5)
    assert settings.with_overrides(api_domain=None, ssl_verify=None) is settings
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "99")  # not read again: the copy keeps 5
    copy = settings.with_overrides(auth_domain="id.example.test", extra_headers='{"X-A": "1"}')
    assert (copy.api_domain, copy.auth_domain, copy.timeout) == (
        "api.example.test",
        "id.example.test",
        5,
    )
    assert copy.extra_headers == {"X-A": "1"}
    assert settings.auth_domain == "id.anaconda.cloud"  # the original is untouched
    assert type(copy) is AnacondaAuthSettings


# --- setting_source: where each setting came from --------------------------------------


def test_setting_source_asks_the_declared_sources_in_order(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anaconda_auth_async.settings.sources import SettingSource, setting_source

    def source_of(field: str, **init: str) -> SettingSource:
        return setting_source(field, init=init, settings_cls=AnacondaAuthSettings)

    assert source_of("api_domain").kind == "default"
    assert str(source_of("api_domain")) == "its default"
    (isolated_env / ".env").write_text("ANACONDA_CLOUD_API_DOMAIN=dotenv.example.test\n")
    source = source_of("api_domain")
    assert (source.kind, source.value) == ("dotenv", "dotenv.example.test")
    assert str(source) == f"ANACONDA_CLOUD_API_DOMAIN in {(isolated_env / '.env').resolve()}"
    monkeypatch.setenv("anaconda_cloud_api_domain", "env.example.test")  # any case
    source = source_of("api_domain")
    assert (source.kind, str(source)) == (
        "environment",
        "environment variable ANACONDA_CLOUD_API_DOMAIN",
    )
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", "new.example.test")
    assert source_of("api_domain").value == "new.example.test"
    source = source_of("api_domain", api_domain="arg.example.test")
    assert (source.kind, str(source), source.value) == (
        "argument",
        "argument api_domain=",
        "arg.example.test",
    )


def test_source_of_remembers_arguments_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", "id.env.test")
    settings = AnacondaAuthSettings(api_domain="api.arg.test")
    assert str(settings.source_of("api_domain")) == "argument api_domain="
    assert (
        str(settings.source_of("auth_domain")) == "environment variable ANACONDA_AUTH_AUTH_DOMAIN"
    )
    copy = settings.with_overrides(auth_domain="id.override.test")
    assert copy.source_of("auth_domain").kind == "argument"
    assert copy.source_of("timeout").kind == "default"  # given to the copy, but not by a caller


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ('{"Bad Name": "x"}', "'Bad Name' is not a valid header name"),
        ('{"X-Ok:": "x"}', "is not a valid header name"),
        ('{"X-Ok": "a\\r\\nInjected: yes"}', "contains a line break"),
        ('{"authorization": "Bearer x"}', "authorization may not be set here"),
        ('{"Authorization": "Bearer x"}', "ANACONDA_AUTH_API_KEY"),
    ],
)
def test_extra_headers_that_cannot_be_sent_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, headers: str, expected: str
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", headers)
    with pytest.raises(ConfigurationError, match=re.escape(expected)) as caught:
        AnacondaAuthSettings()
    assert caught.value.settings == ("extra_headers",)
    assert "Bearer x" not in str(caught.value)


def test_extra_headers_argument_is_checked_too() -> None:
    with pytest.raises(ConfigurationError, match="Authorization may not be set"):
        AnacondaAuthSettings(extra_headers={"Authorization": "Bearer x"})


def test_a_ca_directory_is_accepted(tmp_path: Path) -> None:
    assert AnacondaAuthSettings(ssl_verify=str(tmp_path)).ssl_verify == str(tmp_path)
    with pytest.raises(ConfigurationError, match=r"does not exist.*CA directory") as caught:
        AnacondaAuthSettings(ssl_verify=str(tmp_path / "missing.pem"))
    assert caught.value.settings == ("ssl_verify",)
