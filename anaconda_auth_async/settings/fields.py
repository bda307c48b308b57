"""`AnacondaAuthSettings`: every setting declared once, with the environment names it reads.

`AnacondaAuthSettings.with_overrides` and `resolve_settings` are the one way to turn
arguments into settings (validated, like the constructor). Its sources and their order are
in `sources`, what a value means in `parsing`, the ``.env`` guard in `dotenv_guard`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from typing_extensions import Self

from ..foundation.errors import ConfigurationError
from ..foundation.public_names import publish
from .dotenv_guard import refuse_weakening_dotenv
from .parsing import BEFORE_VALIDATION, expand_user, parse_domain
from .sources import SettingSource, field_of, ordered_sources, setting_source
from .unknown_names import warn_unknown_names
from .validation_errors import invalid_settings

if TYPE_CHECKING:
    from pydantic import ValidationInfo
    from typing_extensions import Unpack

__all__ = [
    "SECRET_SETTINGS",
    "AnacondaAuthSettings",
    "LoginFlow",
    "SettingsOverrides",
    "resolve_settings",
]

SECRET_SETTINGS = frozenset({"api_key", "extra_headers", "client_cert_key"})
"""Settings whose value is never shown (status, doctor), only where it came from."""

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
        env_file=".env", extra="ignore", populate_by_name=True, validate_default=False, frozen=True
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
            warn_unknown_names(settings_cls=type(self))
            super().__init__(**values)
        except (ValidationError, SettingsError) as exc:
            raise invalid_settings(exc, values, type(self)) from None
        except UnicodeDecodeError:
            env_file = Path(".env")
            if not env_file.is_file():
                raise
            raise ConfigurationError(
                f"Cannot read {env_file.resolve()}: it is not UTF-8 text; fix or remove it."
            ) from None
        self._arguments = frozenset(field_of((name,), type(self)) for name in values)
        self._allow_dotenv = frozenset(str(name) for name in allow_dotenv)
        refuse_weakening_dotenv(self, values, allow=self._allow_dotenv, arguments=self._arguments)

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
        then ``REQUESTS_CA_BUNDLE``; no secrets directory (`sources.ordered_sources`)."""
        return ordered_sources(settings_cls, init_settings, env_settings, dotenv_settings)

    @field_validator(*BEFORE_VALIDATION, mode="before")
    @classmethod
    def _parse(cls, value: Any, info: ValidationInfo) -> Any:
        return BEFORE_VALIDATION[str(info.field_name)](value)

    @field_validator("api_domain", "auth_domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        return parse_domain(value)

    @field_validator("keyring_path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return expand_user(value)

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


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
