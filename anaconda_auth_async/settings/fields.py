"""Settings: arguments, environment, `.env`, ``~/.anaconda/config.toml``, defaults.

Each setting reads a new ``ANACONDA_AUTH_*`` variable and, where anaconda-cloud-auth or
anaconda-auth had one, their names too (``ANACONDA_CLOUD_API_DOMAIN``,
``ANACONDA_AUTH_DOMAIN``, ``ANACONDA_AUTH_USE_DEVICE_FLOW``, ...), so existing
environments keep working; within one source the more specific name wins. Below ``.env``
come the selected site of config.toml and its ``[plugin.auth]`` (`config_file`), then
``REQUESTS_CA_BUNDLE`` for ``ssl_verify``. The one precedence table is in
``docs/storage.md``. An ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name that no setting
reads gets one warning naming the closest known name (`warn_unknown_names`).

Two things have one owner here: `AnacondaAuthSettings.with_overrides` is the one way to
apply arguments to settings (validated, like the constructor), and `setting_source` is the
one answer to "where did this setting come from", found by asking the sources that
`AnacondaAuthSettings.settings_customise_sources` declares, in their order.

Over 400 lines on purpose: the settings class, its sources (environment, ``.env``,
``config.toml``) and `setting_source` must agree on one declaration of every setting, so
they live together.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources import PydanticBaseEnvSettingsSource
from typing_extensions import Self

from ..foundation.errors import ConfigurationError
from ..foundation.public_names import publish
from ..foundation.safe_text import json_object, one_line
from .config_file import IGNORED, UNHONOURED, PluginTableSource, SiteSource

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "GUARDED",
    "SECRET_SETTINGS",
    "AnacondaAuthSettings",
    "SettingSource",
    "SettingsOverrides",
    "resolve_settings",
    "setting_source",
]

SECRET_SETTINGS = frozenset({"api_key", "extra_headers", "client_cert_key"})
"""Settings whose value is never shown (status, doctor), only where it came from."""

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

LoginFlow = Literal["auto", "browser", "device", "password"]
TokenStorage = Literal["anaconda-keyring", "system"]


class SettingsOverrides(TypedDict, total=False):
    """The settings as keyword arguments, field by field (`AnacondaAuthSettings`'s fields).

    Each accepts what the field's validator reads (a JSON string for `extra_headers`, a
    path as text, ...). ``None`` means "keep this setting" in `with_overrides` and
    `resolve_settings`; given to the constructor, ``None`` is valid only where the
    setting may be empty (`site`, `api_key`, `proxy`, ...). A test keeps the keys equal
    to the fields.
    """

    site: str | None
    api_domain: str | None
    auth_domain: str | None
    client_id: str | None
    redirect_uri: str | None
    openid_config_path: str | None
    api_key: SecretStr | str | None
    api_key_file: Path | str | None
    api_key_scopes: Sequence[str] | str | None
    extra_headers: Mapping[str, str] | str | None
    ssl_verify: bool | str | None
    proxy: Mapping[str, str] | str | None
    client_cert: str | None
    client_cert_key: str | None
    timeout: float | None
    login_timeout: float | None
    storage_timeout: float | None
    preferred_token_storage: TokenStorage | None
    keyring_path: Path | str | None
    login_flow: LoginFlow | bool | None
    ephemeral_port: bool | str | None
    login_success_url: str | None
    login_error_url: str | None
    login_success_path: str | None
    login_error_path: str | None


def _env(*names: str) -> AliasChoices:
    """The environment names of one setting, the new name first (it wins)."""
    return AliasChoices(*names)


class AnacondaAuthSettings(BaseSettings):
    """Every setting of anaconda-auth-async, read once from its sources.

    Sources, highest first: keyword arguments; ``ANACONDA_AUTH_*`` environment
    variables (ours, then anaconda-auth's names); the ``ANACONDA_CLOUD_*`` names of
    anaconda-cloud-auth; a ``.env`` file in the current working directory; the selected
    site of ``~/.anaconda/config.toml`` (``[sites.NAME]`` or a preset); its
    ``[plugin.auth]`` table; ``REQUESTS_CA_BUNDLE`` (``ssl_verify`` only); the defaults.
    A bad value raises one `ConfigurationError` naming the setting, where it came from
    and what is expected.

    A ``.env`` file (perhaps in a cloned repository) cannot weaken security: a setting in
    `GUARDED` taken from it with a non-default value (``ssl_verify`` other than true or
    ``truststore``, another API or auth domain, a proxy, ...) raises `ConfigurationError`
    naming the file and the setting, unless it is allowed deliberately: by name in the
    ``ANACONDA_AUTH_ALLOW_DOTENV`` environment variable (comma-separated, never read from
    a ``.env``), or in the `allow_dotenv` argument.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        validate_default=False,
        frozen=True,
    )

    site: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_SITE", "ANACONDA_DEFAULT_SITE"),
        description="Named site of ~/.anaconda/config.toml ([sites.NAME]) or a preset "
        "(anaconda.com, anaconda.cloud); default: its default_site, else its first site.",
    )
    api_domain: str = Field(
        "anaconda.cloud",
        validation_alias=_env(
            "ANACONDA_AUTH_API_DOMAIN",
            "ANACONDA_CLOUD_API_DOMAIN",
            "ANACONDA_AUTH_DOMAIN",
            "ANACONDA_CLOUD_DOMAIN",
        ),
        description="Host (optional port and path) of the Anaconda API "
        "(anaconda-auth's ANACONDA_AUTH_DOMAIN sets it too).",
    )
    auth_domain: str = Field(
        "id.anaconda.cloud",
        validation_alias=_env(
            "ANACONDA_AUTH_AUTH_DOMAIN",
            "ANACONDA_CLOUD_AUTH_DOMAIN",
            "ANACONDA_AUTH_AUTH_DOMAIN_OVERRIDE",
            "ANACONDA_CLOUD_AUTH_DOMAIN_OVERRIDE",
            "ANACONDA_AUTH_DOMAIN",
            "ANACONDA_CLOUD_DOMAIN",
        ),
        description="Host (optional port and path: the issuer) of the OpenID Connect provider "
        "(anaconda-auth's ANACONDA_AUTH_AUTH_DOMAIN_OVERRIDE, else ANACONDA_AUTH_DOMAIN).",
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
    api_key_file: Path | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_API_KEY_FILE", "ANACONDA_CLOUD_API_KEY_FILE"),
        description="File holding the API key to send (Docker/Kubernetes secrets); "
        "read once, when first needed.",
    )
    api_key_scopes: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_API_KEY_SCOPES"),
        description="Scopes of the API key a login creates (comma-separated); default: "
        "cloud:read, cloud:write and repo:read, what every Anaconda tool reading it needs.",
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
    proxy: Annotated[str | None, NoDecode] = Field(
        None,
        repr=False,  # its URL may carry a password
        validation_alias=_env("ANACONDA_AUTH_PROXY", "ANACONDA_AUTH_PROXY_SERVERS"),
        description="Proxy URL for every request (else HTTP(S)_PROXY are honoured); "
        "anaconda-auth's proxy_servers gives its https entry.",
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
        validation_alias=_env("ANACONDA_AUTH_LOGIN_FLOW", "ANACONDA_AUTH_USE_DEVICE_FLOW"),
        description="'auto', 'browser', 'device' or 'password' (deprecated); "
        "anaconda-auth's use_device_flow true/false means device/browser.",
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
    login_success_path: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_LOGIN_SUCCESS_PATH"),
        description="anaconda-auth's name: login_success_url as a path on the API domain.",
    )
    login_error_path: str | None = Field(
        None,
        validation_alias=_env("ANACONDA_AUTH_LOGIN_ERROR_PATH"),
        description="anaconda-auth's name: login_error_url as a path on the API domain.",
    )

    # The fields given as arguments (to the constructor or `with_overrides`), for `source_of`.
    _arguments: frozenset[str] = PrivateAttr(default=frozenset())
    # The constructor's allow_dotenv, which every copy `with_overrides` makes keeps.
    _allow_dotenv: frozenset[str] = PrivateAttr(default=frozenset())

    def __init__(
        self, *, allow_dotenv: Iterable[str] = (), **values: Unpack[SettingsOverrides]
    ) -> None:
        try:
            warn_unknown_names()
            super().__init__(**values)
        except (ValidationError, SettingsError) as exc:
            raise ConfigurationError(
                _error_message(exc, values), settings=_error_fields(exc)
            ) from None
        except UnicodeDecodeError:
            env_file = Path(".env")
            if not env_file.is_file():
                raise
            raise ConfigurationError(
                f"Cannot read {env_file.resolve()}: it is not UTF-8 text; fix or remove it."
            ) from None
        self._arguments = frozenset(_field_of((name,)) for name in values)
        self._allow_dotenv = frozenset(str(name) for name in allow_dotenv)
        _refuse_weakening_dotenv(self, values, self._allow_dotenv)

    def with_overrides(self, **changes: Unpack[SettingsOverrides]) -> Self:
        """A copy with `changes` applied and validated as the constructor validates them.

        Keys are field names; a ``None`` value means "keep this setting" (so optional
        arguments pass straight through). Returns ``self`` when nothing changes. A bad value
        raises `ConfigurationError` naming the argument, as the constructor does; an unknown
        name raises `TypeError`. The copy keeps everything this object was built with: its
        arguments, and the constructor's `allow_dotenv` (another `site` reads every source
        again, under the same allowances).
        """
        given: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
        if not given:
            return self
        fields = type(self).model_fields
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise TypeError(f"Unknown setting(s): {', '.join(unknown)}.")
        if "site" in given and given["site"] != self.site:
            # Another site: read every source again, keeping only the arguments given.
            names = self._arguments - set(given)
        else:
            # Every field is given, so no source below the arguments can change a value.
            names = frozenset(fields) - set(given)
        values: dict[str, Any] = {name: getattr(self, name) for name in names}
        copy = type(self)(allow_dotenv=self._allow_dotenv, **values, **given)
        copy._arguments = self._arguments | frozenset(given)
        return copy

    def source_of(self, field: str) -> SettingSource:
        """Where this object's value of `field` came from (see `setting_source`)."""
        if field in self._arguments:
            return SettingSource("argument", f"argument {field}=", getattr(self, field))
        # The arguments given still decide what the sources below them do (the site).
        init = {name: getattr(self, name) for name in self._arguments}
        return setting_source(field, init=init, settings_cls=type(self))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, environment, ``.env``, the config.toml site and ``[plugin.auth]``,
        then ``REQUESTS_CA_BUNDLE``; no secrets directory."""
        if isinstance(dotenv_settings, DotEnvSettingsSource):
            dotenv_settings = LiteralDotEnvSource(
                settings_cls,
                env_file=dotenv_settings.env_file,
                env_file_encoding=dotenv_settings.env_file_encoding,
            )
        above = (init_settings, env_settings, dotenv_settings)
        return (
            *above,
            SiteSource(settings_cls, above),
            PluginTableSource(settings_cls),
            RequestsCABundleSource(settings_cls),
        )

    @field_validator("login_flow", mode="before")
    @classmethod
    def _use_device_flow(cls, value: Any) -> Any:
        # anaconda-auth's use_device_flow: true is the device flow, false the browser's.
        try:
            return "device" if parse_bool(value) else "browser"
        except ValueError:
            return value

    @field_validator("proxy", mode="before")
    @classmethod
    def _proxy_servers(cls, value: Any) -> Any:
        return parse_proxy(value)

    @field_validator("api_domain", "auth_domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        # anaconda-cloud-auth 0.6 accepted a path (an OpenID issuer may have one:
        # anaconda.cloud/api/iam) and put the value after https:// as it is; so do we.
        value = value.strip().rstrip("/")
        host = value.split("/", 1)[0]
        if (
            not host
            or "://" in value
            or any(c in value for c in "?#@\\")
            or any(c.isspace() or not c.isprintable() for c in value)
        ):
            raise ValueError(
                "expected a host name with an optional port and path, like anaconda.cloud "
                "or anaconda.cloud/api/iam"
            )
        return value

    @field_validator("extra_headers", mode="before")
    @classmethod
    def _parse_headers(cls, value: Any) -> Any:
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            value = json_object(value)  # bounded: deep nesting is no RecursionError
            if value is None:
                raise ValueError('expected a JSON object of strings, like {"X-Header": "value"}')
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError('expected a JSON object of strings, like {"X-Header": "value"}')
        for name, text in value.items():
            check_extra_header(name, text)
        return value

    @field_validator("api_key_scopes", mode="before")
    @classmethod
    def _parse_scopes(cls, value: Any) -> Any:
        if value is None:
            return None
        parts = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(parts, list | tuple) or not all(isinstance(p, str) for p in parts):
            raise ValueError("expected scopes separated by commas, like cloud:read,cloud:write")
        scopes = tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
        if not scopes:
            raise ValueError(
                "expected at least one scope, like cloud:read (unset it for the defaults)"
            )
        if any(not p.isprintable() or " " in p for p in scopes):
            raise ValueError("a scope may not hold spaces or control characters")
        return scopes

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
        path = "/" + (self.login_success_path or "local-login-success").lstrip("/")
        return self.login_success_url or f"https://{self.api_domain}{path}"

    @property
    def error_url(self) -> str:
        """Page shown in the browser after a failed login."""
        path = "/" + (self.login_error_path or "local-login-error").lstrip("/")
        return self.login_error_url or f"https://{self.api_domain}{path}"


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_RESERVED_HEADERS = frozenset({"authorization"})


def check_extra_header(name: str, value: str) -> None:
    """Raise `ValueError` unless `name: value` may be sent as an extra header.

    The name must be an HTTP token and the value free of line breaks and NUL (else httpx
    fails at the first request, looking like a network error); ``Authorization`` is the
    SDK's: the API key goes there, and a fixed one would be sent to every host.
    """
    if not _HEADER_NAME.fullmatch(name):
        shown = "".join(c if c.isprintable() else "?" for c in name)[:40]
        raise ValueError(
            f"{shown!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"the value of header {name} contains a line break or NUL")
    if name.lower() in _RESERVED_HEADERS:
        raise ValueError(
            f"{name} may not be set here: the SDK sends the API key in it; set the key "
            "with ANACONDA_AUTH_API_KEY (or api_key=) instead"
        )


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
    shown = one_line(str(path), 120)  # a value from outside: one printable line
    try:
        if path.is_dir():
            return str(path)  # a CA directory (OpenSSL's c_rehash layout), as ssl's capath
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError):  # a name too long for the system, a NUL in it
        exists = is_file = False
    if not exists:
        raise ValueError(
            f"CA bundle {shown} does not exist; expected true, false, 'truststore' "
            "or the path of a CA bundle file or CA directory"
        )
    if not is_file:
        raise ValueError(f"CA bundle {shown} is neither a file nor a directory")
    return str(path)


def parse_proxy(value: Any) -> Any:
    """A proxy URL; anaconda-auth's ``proxy_servers`` mapping gives its ``https`` entry."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json_object(value)  # bounded: deep nesting is no RecursionError
        if value is None:
            raise ValueError('expected a proxy URL or a JSON object like {"https": URL}')
    if isinstance(value, Mapping):
        chosen = value.get("https") or value.get("all") or value.get("all://")
        if not isinstance(chosen, str) or not chosen:
            raise ValueError(
                "proxy_servers has no https entry, and every request is https: "
                "set the proxy for https (or ANACONDA_AUTH_PROXY to one proxy URL)"
            )
        return chosen
    return value


class LiteralDotEnvSource(DotEnvSettingsSource):
    """The ``.env`` file read literally: ``${HOME}`` or ``${AWS_SECRET_ACCESS_KEY}`` in a
    value stays as written (python-dotenv would otherwise fill in the environment's value,
    letting a cloned repository's ``.env`` copy a secret into a setting)."""

    def _read_env_file(self, file_path: Path) -> Mapping[str, str | None]:
        from dotenv import dotenv_values  # only when there is a .env file
        from pydantic_settings.sources.utils import parse_env_vars

        values = dotenv_values(file_path, encoding=self.env_file_encoding, interpolate=False)
        return parse_env_vars(
            values, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class RequestsCABundleSource(PydanticBaseSettingsSource):
    """``REQUESTS_CA_BUNDLE`` (else ``CURL_CA_BUNDLE``) as ``ssl_verify``, below every other
    source: anaconda-cloud-auth honoured it through requests."""

    kind = "environment"
    NAMES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` builds the whole mapping."""
        return None, field_name, False

    def _name(self) -> str | None:
        return next((n for n in self.NAMES if os.environ.get(n)), None)

    def __call__(self) -> dict[str, Any]:
        name = self._name()
        return {} if name is None else {"ANACONDA_AUTH_SSL_VERIFY": os.environ[name]}

    def describe(self, name: str) -> str:
        """``environment variable REQUESTS_CA_BUNDLE`` (or the name that was set)."""
        return f"environment variable {self._name() or self.NAMES[0]}"


def resolve_settings(
    settings: AnacondaAuthSettings | None, **changes: Unpack[SettingsOverrides]
) -> AnacondaAuthSettings:
    """`settings` with `changes` applied (`with_overrides`), or, when `settings` is None,
    fresh settings from the environment with `changes` as arguments (so they win over a
    bad environment value). ``None`` values are ignored. Every caller that turns a public
    function's arguments into settings goes through here."""
    if settings is None:
        given: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
        return AnacondaAuthSettings(**given)
    return settings.with_overrides(**changes)


SourceKind = Literal["argument", "environment", "dotenv", "config", "default", "other"]


@dataclass(frozen=True)
class SettingSource:
    """Where a setting's value came from: what kind of source, a description, the raw value.

    `description` reads ``argument api_domain=``, ``environment variable
    ANACONDA_AUTH_API_DOMAIN``, ``ANACONDA_AUTH_API_DOMAIN in /path/.env`` or ``its
    default``; `value` is what that source gave, before validation (``None`` for the
    default). ``str()`` is the description.
    """

    kind: SourceKind
    description: str
    value: Any = None

    def __str__(self) -> str:
        return self.description


DEFAULT = SettingSource("default", "its default")


def setting_source(
    field: str,
    *,
    init: Mapping[str, Any] | None = None,
    settings_cls: type[AnacondaAuthSettings] = AnacondaAuthSettings,
) -> SettingSource:
    """Where `field` would come from now: the first of the declared sources that has it.

    Asks the sources `settings_cls.settings_customise_sources` returns, in its order, with
    `init` as the keyword arguments. Environment-like sources are asked through pydantic's
    own `get_field_value` (so case rules and names match exactly what the settings read);
    any other source is called, and describes itself by a ``describe(name) -> str`` method
    if it has one. Never reads the value of a secret for anything but returning it.
    """
    info = settings_cls.model_fields[field]
    init = dict(init or {})
    sources = settings_cls.settings_customise_sources(
        settings_cls,
        init_settings=InitSettingsSource(settings_cls, init_kwargs=init),
        env_settings=EnvSettingsSource(settings_cls),
        dotenv_settings=LiteralDotEnvSource(settings_cls),
        file_secret_settings=SecretsSettingsSource(settings_cls),
    )
    names = (field, *_names(field, settings_cls))
    for source in sources:
        if isinstance(source, InitSettingsSource):
            given = next((n for n in names if n in init), None)
            if given is not None:
                return SettingSource("argument", f"argument {given}=", init[given])
        elif isinstance(source, PydanticBaseEnvSettingsSource):
            value, key, _ = source.get_field_value(info, field)
            if value is not None:
                name = _declared(key, names)
                if isinstance(source, DotEnvSettingsSource):
                    return SettingSource("dotenv", f"{name} in {_env_file(source)}", value)
                return SettingSource("environment", f"environment variable {name}", value)
        else:
            data = source()
            given = next((n for n in names if n in data), None)
            if given is not None:
                describe = getattr(source, "describe", None)
                label = describe(given) if callable(describe) else f"{given} ({source!r})"
                kind: SourceKind = getattr(source, "kind", "other")
                return SettingSource(kind, str(label), data[given])
    return DEFAULT


GUARDED = (
    "api_domain",
    "auth_domain",
    "ssl_verify",
    "proxy",
    "keyring_path",
    "login_success_url",
    "login_error_url",
    "api_key",
    "api_key_file",
    "extra_headers",
    "client_cert",
    "client_cert_key",
)
"""Settings a ``.env`` file may not change without a deliberate allow: they weaken TLS,
move the key, the login or the key file to another place, or choose the credentials sent."""

ALLOW_DOTENV_ENV = "ANACONDA_AUTH_ALLOW_DOTENV"


def dotenv_allowed(argument: Iterable[str] = ()) -> frozenset[str]:
    """The guarded settings a ``.env`` may set: ``ANACONDA_AUTH_ALLOW_DOTENV`` (read from
    the real environment only) and `argument`; ``all`` allows every one."""
    names = {n.strip() for n in os.environ.get(ALLOW_DOTENV_ENV, "").split(",")}
    names |= {str(n).strip() for n in argument}
    names.discard("")
    return frozenset(GUARDED) if "all" in names else frozenset(names)


def weakens(field: str, value: Any) -> bool:
    """Whether `value` of the guarded `field` differs from the safe default."""
    if field == "ssl_verify":
        return value is not True and value != "truststore"
    info = AnacondaAuthSettings.model_fields[field]
    default = info.get_default(call_default_factory=True)
    if isinstance(default, Path) and value is not None:
        return Path(value).expanduser() != default.expanduser()
    return bool(value != default)


def _refuse_weakening_dotenv(
    settings: AnacondaAuthSettings, init: Mapping[str, Any], allow: Iterable[str]
) -> None:
    """Raise `ConfigurationError` when a ``.env`` file sets a guarded setting unallowed."""
    if not _dotenv_present(type(settings)):
        return  # the common case costs one stat
    allowed = dotenv_allowed(allow)
    for field in GUARDED:
        if field in settings._arguments or field in allowed:
            continue
        if not weakens(field, getattr(settings, field)):
            continue
        source = setting_source(field, init=init, settings_cls=type(settings))
        if source.kind == "dotenv":
            raise ConfigurationError(
                f"Refusing the setting {field} from {source.description}: a .env file may "
                f"not change {field}, since it could {_RISK[field]}. If you trust that file, "
                f"allow it with the environment variable {ALLOW_DOTENV_ENV}={field}, or set "
                "the value in the environment or as an argument instead.",
                settings=(field,),
            )


_RISK = {
    "api_domain": "send your API key to another host",
    "auth_domain": "send your login to another host",
    "ssl_verify": "turn off or replace TLS certificate checks",
    "proxy": "route your requests through another host",
    "keyring_path": "write your API key to another file",
    "login_success_url": "send your browser to another site after a login",
    "login_error_url": "send your browser to another site after a login",
    "api_key": "switch you silently to another account",
    "api_key_file": "send the contents of any of your files to the API as a key",
    "extra_headers": "send your secrets to the API in a header",
    "client_cert": "choose the certificate you identify yourself with",
    "client_cert_key": "choose the certificate you identify yourself with",
}


def _dotenv_present(settings_cls: type[BaseSettings]) -> bool:
    files = settings_cls.model_config.get("env_file")
    paths = [files] if isinstance(files, str | os.PathLike) else list(files or ())
    return any(Path(p).expanduser().is_file() for p in paths)


def _declared(key: str, names: tuple[str, ...]) -> str:
    """The name as the settings declare it (sources may lower-case it)."""
    return next((n for n in names if n.lower() == key.lower()), key)


def _env_file(source: DotEnvSettingsSource) -> str:
    files = source.env_file
    paths = [files] if isinstance(files, str | os.PathLike) else list(files or ())
    existing = [Path(p).resolve() for p in paths if Path(p).is_file()]
    return str(existing[0]) if len(existing) == 1 else "the .env file"


def _names(field: str, settings_cls: type[BaseSettings] = AnacondaAuthSettings) -> tuple[str, ...]:
    alias = settings_cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(c) for c in alias.choices)
    return ()


def _source(field: str, init: Mapping[str, Any]) -> str:
    """Say where the value of `field` came from, for an error message."""
    if field not in AnacondaAuthSettings.model_fields:
        return f"argument {field}=" if field in init else "its default"
    return setting_source(field, init=init).description


def _field_of(loc: tuple[int | str, ...]) -> str:
    head = str(loc[0]) if loc else ""
    if head in AnacondaAuthSettings.model_fields:
        return head
    for field in AnacondaAuthSettings.model_fields:
        if head in _names(field):
            return field
    return head


def _error_fields(exc: ValidationError | SettingsError) -> tuple[str, ...]:
    """The settings at fault in a validation error (empty when it cannot say)."""
    if isinstance(exc, SettingsError):
        return tuple(f for f in AnacondaAuthSettings.model_fields if f'"{f}"' in str(exc))
    return tuple(dict.fromkeys(_field_of(e["loc"]) for e in exc.errors(include_url=False)))


def _error_message(exc: ValidationError | SettingsError, init: Mapping[str, Any]) -> str:
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


# Names that are not settings here but are known: read elsewhere in this package, or
# anaconda-auth's conda settings (IGNORED), or read and refused (UNHONOURED).
_ELSEWHERE = frozenset({"ANACONDA_AUTH_KEYRING_PATH", "ANACONDA_AUTH_ALLOW_DOTENV"})
_PREFIXES = ("ANACONDA_AUTH_", "ANACONDA_CLOUD_")
_warned: set[str] = set()
_warned_lock = threading.Lock()


@functools.cache
def known_names() -> frozenset[str]:
    """Every ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name this package knows."""
    names = {n for f in AnacondaAuthSettings.model_fields for n in _names(f)}
    for key in (*IGNORED, *UNHONOURED):
        names.update(prefix + key.upper() for prefix in _PREFIXES)
    return frozenset(names | _ELSEWHERE)


@dataclass(frozen=True)
class UnknownName:
    """An ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name no setting reads."""

    name: str
    where: str  # "the environment" or the path of the .env file
    suggestion: str | None  # the closest known name, if one is close


def unknown_names(environ: Mapping[str, str] | None = None) -> list[UnknownName]:
    """The unknown ``ANACONDA_AUTH_*``/``ANACONDA_CLOUD_*`` names in the environment (or
    `environ`) and ``.env``, sorted, each with the closest known name.

    Names with ``__`` (anaconda-auth's nested settings) count as their first part.
    Unhonoured anaconda-auth names set there are a `ConfigurationError`.
    """
    found = {k.upper(): "the environment" for k in (os.environ if environ is None else environ)}
    env_file = Path(".env")
    if environ is None and env_file.is_file():
        from dotenv import dotenv_values  # only when there is a .env file

        for key in dotenv_values(env_file, interpolate=False):
            found.setdefault(key.upper(), str(env_file.resolve()))
    known = known_names()
    result = []
    for name, where in sorted(found.items()):
        if not name.startswith(_PREFIXES):
            continue
        base = name.split("__", 1)[0]
        suffix = base.split("_", 2)[2].lower() if base.count("_") >= 2 else ""
        if suffix in UNHONOURED:
            raise ConfigurationError(
                f"{base} (in {where}) is anaconda-auth's {suffix}, which anaconda-auth-async "
                f"cannot honour: {UNHONOURED[suffix]}."
            )
        if base in known:
            continue
        close = difflib.get_close_matches(base, sorted(known), n=1, cutoff=0.6)
        result.append(UnknownName(name, where, close[0] if close else None))
    return result


def warn_unknown_names(environ: Mapping[str, str] | None = None) -> None:
    """Warn once per process about each of the `unknown_names`, naming the closest known
    name; an unhonoured anaconda-auth name is a `ConfigurationError`."""
    for unknown in unknown_names(environ):
        with _warned_lock:
            if unknown.name in _warned:
                continue
            _warned.add(unknown.name)
        hint = f"; did you mean {unknown.suggestion}?" if unknown.suggestion else ""
        warnings.warn(
            f"{unknown.name} (in {unknown.where}) is not a setting of anaconda-auth-async and "
            f"is ignored{hint}",
            UserWarning,
            stacklevel=3,
        )


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
