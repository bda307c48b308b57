"""Settings: explicit arguments, environment, a `.env` file, defaults; pure data, no I/O.

Each setting reads a new ``ANACONDA_AUTH_*`` variable and, where anaconda-cloud-auth had
one, its documented ``ANACONDA_CLOUD_*`` name too, so existing environments keep working.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from ._exceptions import ConfigurationError

__all__ = ["AnacondaAuthSettings"]

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

LoginFlow = Literal["auto", "browser", "device", "password"]
TokenStorage = Literal["anaconda-keyring", "system"]


def _env(*names: str) -> Any:
    """The environment names of one setting, the new name first (it wins)."""
    return AliasChoices(*names)


class AnacondaAuthSettings(BaseSettings):
    """Every setting of anaconda-auth-async, read once from its sources.

    Sources, highest first: keyword arguments; ``ANACONDA_AUTH_*`` environment
    variables; the ``ANACONDA_CLOUD_*`` names of anaconda-cloud-auth; a ``.env`` file in
    the current working directory; the defaults. A bad value raises one
    `ConfigurationError` naming the setting, where it came from and what is expected.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        validate_default=False,
        frozen=True,
    )

    api_domain: str = Field(
        "anaconda.cloud",
        validation_alias=_env("ANACONDA_AUTH_API_DOMAIN", "ANACONDA_CLOUD_API_DOMAIN"),
        description="Host (and optional port) of the Anaconda API.",
    )
    auth_domain: str = Field(
        "id.anaconda.cloud",
        validation_alias=_env("ANACONDA_AUTH_AUTH_DOMAIN", "ANACONDA_CLOUD_AUTH_DOMAIN"),
        description="Host (and optional port) of the OpenID Connect provider.",
    )
    client_id: str = Field(
        "b4ad7f1d-c784-46b5-a9fe-106e50441f5a",
        validation_alias=_env("ANACONDA_AUTH_CLIENT_ID", "ANACONDA_CLOUD_AUTH_CLIENT_ID"),
        description="OAuth client id of this SDK at the provider.",
    )
    redirect_uri: str = Field(
        "http://127.0.0.1:8000/auth/oidc",
        validation_alias=_env("ANACONDA_AUTH_REDIRECT_URI", "ANACONDA_CLOUD_AUTH_REDIRECT_URI"),
        description="Loopback URI the browser is sent back to after login.",
    )
    openid_config_path: str = Field(
        "/.well-known/openid-configuration",
        validation_alias=_env(
            "ANACONDA_AUTH_OPENID_CONFIG_PATH", "ANACONDA_CLOUD_AUTH_OPENID_CONFIG_PATH"
        ),
        description="Path of the OpenID configuration document on the auth domain.",
    )
    api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_API_KEY", "ANACONDA_CLOUD_API_KEY"),
        description="API key to send instead of the stored one.",
    )
    extra_headers: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        repr=False,
        validation_alias=_env("ANACONDA_AUTH_EXTRA_HEADERS", "ANACONDA_CLOUD_API_EXTRA_HEADERS"),
        description="Headers added to every API request (a JSON object of strings).",
    )
    ssl_verify: Annotated[bool | str, NoDecode] = Field(
        True,
        validation_alias=_env(
            "ANACONDA_AUTH_SSL_VERIFY",
            "ANACONDA_CLOUD_API_SSL_VERIFY",
            "ANACONDA_CLOUD_AUTH_SSL_VERIFY",
            "ANACONDA_CLOUD_SSL_VERIFY",
        ),
        description="true, false, 'truststore', or the path of a CA bundle.",
    )
    proxy: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_PROXY"),
        description="Proxy URL for every request (else HTTP(S)_PROXY are honoured).",
    )
    client_cert: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_CLIENT_CERT"),
        description="Client certificate (PEM) for mutual TLS.",
    )
    client_cert_key: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_CLIENT_CERT_KEY"),
        description="Private key of the client certificate, if not in the same file.",
    )
    timeout: float = Field(
        30.0,
        gt=0,
        validation_alias=_env("ANACONDA_AUTH_TIMEOUT"),
        description="Seconds each network operation may take.",
    )
    login_timeout: float = Field(
        300.0,
        gt=0,
        validation_alias=_env("ANACONDA_AUTH_LOGIN_TIMEOUT"),
        description="Seconds an interactive login may take in all.",
    )
    storage_timeout: float = Field(
        10.0,
        gt=0,
        validation_alias=_env("ANACONDA_AUTH_STORAGE_TIMEOUT"),
        description="Seconds a keyring backend may take to answer.",
    )
    preferred_token_storage: TokenStorage = Field(
        "anaconda-keyring",
        validation_alias=_env("ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE"),
        description="'anaconda-keyring' (the file, as anaconda-cloud-auth) or 'system'.",
    )
    keyring_path: Path = Field(
        default_factory=lambda: Path("~/.anaconda/keyring").expanduser(),
        validation_alias=_env("ANACONDA_AUTH_KEYRING_PATH"),
        description="Path of the Anaconda file keyring.",
    )
    login_flow: LoginFlow = Field(
        "auto",
        validation_alias=_env("ANACONDA_AUTH_LOGIN_FLOW"),
        description="'auto', 'browser', 'device' or 'password' (deprecated).",
    )
    ephemeral_port: bool = Field(
        False,
        validation_alias=_env("ANACONDA_AUTH_EPHEMERAL_PORT"),
        description="Listen for the login redirect on a free port (RFC 8252 7.3).",
    )
    login_success_url: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_LOGIN_SUCCESS_URL"),
        description="Page the browser is sent to after a login (default on the API domain).",
    )
    login_error_url: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_LOGIN_ERROR_URL"),
        description="Page the browser is sent to after a failed login.",
    )

    _ENV_NAMES: ClassVar[dict[str, tuple[str, ...]]]

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except (ValidationError, SettingsError) as exc:
            raise ConfigurationError(_describe(exc, values)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``.env``; no secrets directory."""
        return init_settings, env_settings, dotenv_settings

    @field_validator("api_domain", "auth_domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value or "://" in value or "/" in value:
            raise ValueError("expected a host name with an optional port, like anaconda.cloud")
        return value

    @field_validator("extra_headers", mode="before")
    @classmethod
    def _parse_headers(cls, value: Any) -> Any:
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(
                    'expected a JSON object of strings, like {"X-Header": "value"}'
                ) from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError('expected a JSON object of strings, like {"X-Header": "value"}')
        return value

    @field_validator("ssl_verify", mode="before")
    @classmethod
    def _parse_ssl_verify(cls, value: Any) -> bool | str:
        return parse_ssl_verify(value)

    @field_validator("ephemeral_port", mode="before")
    @classmethod
    def _parse_bool(cls, value: Any) -> Any:
        return parse_bool(value)

    @field_validator("keyring_path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def well_known_url(self) -> str:
        """URL of the provider's OpenID configuration document."""
        return f"https://{self.auth_domain}/{self.openid_config_path.lstrip('/')}"

    @property
    def api_base_url(self) -> str:
        """Base URL of the Anaconda API."""
        return f"https://{self.api_domain}"

    @property
    def success_url(self) -> str:
        """Page shown in the browser after a successful login."""
        return self.login_success_url or f"https://{self.api_domain}/local-login-success"

    @property
    def error_url(self) -> str:
        """Page shown in the browser after a failed login."""
        return self.login_error_url or f"https://{self.api_domain}/local-login-error"


def parse_bool(value: Any) -> bool:
    """Read a boolean in any usual spelling: true/false, 1/0, yes/no, y/n, on/off, t/f."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected a boolean: true or false (or 1/0, yes/no, on/off)")


def parse_ssl_verify(value: Any) -> bool | str:
    """Read ``ssl_verify``: a boolean (in any usual spelling), 'truststore' or a CA bundle."""
    if isinstance(value, bool):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError("expected true, false, 'truststore' or the path of a CA bundle")
    word = value.strip().lower()
    if not word:
        raise ValueError(
            "the value is empty; expected true, false, 'truststore' or a CA bundle path"
        )
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if word == "truststore":
        return "truststore"
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(
            f"CA bundle {path} does not exist; expected true, false, 'truststore' "
            "or the path of a CA bundle file"
        )
    return str(path)


def _names(field: str) -> tuple[str, ...]:
    alias = AnacondaAuthSettings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(c) for c in alias.choices)
    return ()


def _source(field: str, init: dict[str, Any]) -> str:
    """Say where the value of `field` came from, for an error message."""
    if field in init:
        return f"argument {field}="
    environ = {k.upper() for k in os.environ}
    for name in _names(field):
        if name in init:
            return f"argument {name}="
        if name.upper() in environ:
            return f"environment variable {name}"
    env_file = Path(".env")
    if env_file.is_file():
        from dotenv import dotenv_values

        keys = {k.upper() for k in dotenv_values(env_file)}
        for name in _names(field):
            if name.upper() in keys:
                return f"{name} in {env_file.resolve()}"
    return "its default"


def _field_of(loc: tuple[int | str, ...]) -> str:
    head = str(loc[0]) if loc else ""
    if head in AnacondaAuthSettings.model_fields:
        return head
    for field in AnacondaAuthSettings.model_fields:
        if head in _names(field):
            return field
    return head


def _describe(exc: ValidationError | SettingsError, init: dict[str, Any]) -> str:
    """One line per bad setting, never echoing the value (it may be a secret)."""
    if isinstance(exc, SettingsError):
        field = next(
            (f for f in AnacondaAuthSettings.model_fields if f'"{f}"' in str(exc)), "a setting"
        )
        return f"Invalid setting {field} (from {_source(field, init)}): could not be parsed."
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        field = _field_of(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"Invalid setting {field} (from {_source(field, init)}): {message}.")
    return " ".join(parts).replace("..", ".")
