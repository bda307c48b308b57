"""Where a setting's value comes from: the sources, their order, and `setting_source`.

The order, highest first: arguments, the environment, ``.env`` (read literally), the
selected site of config.toml, its ``[plugin.auth]``, then ``REQUESTS_CA_BUNDLE`` for
``ssl_verify`` (`ordered_sources`). `setting_source` is the one answer to "where did this
setting come from": it asks the sources a settings class declares, in their order. All
of it works on the settings class it is given (`settings_cls`), which is defined above.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
)
from pydantic_settings.sources import PydanticBaseEnvSettingsSource

from .config_file import PluginTableSource, SiteSource

__all__ = [
    "DEFAULT",
    "LiteralDotEnvSource",
    "RequestsCABundleSource",
    "SettingSource",
    "SourceKind",
    "env_names",
    "field_of",
    "ordered_sources",
    "setting_source",
]

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


def ordered_sources(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """Arguments, environment, ``.env`` (read literally), the config.toml site and
    ``[plugin.auth]``, then ``REQUESTS_CA_BUNDLE``; no secrets directory."""
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


def setting_source(
    field: str,
    *,
    init: Mapping[str, Any] | None = None,
    settings_cls: type[BaseSettings],
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
    names = (field, *env_names(field, settings_cls))
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


def env_names(field: str, settings_cls: type[BaseSettings]) -> tuple[str, ...]:
    """The environment names `field` reads, in their order (the first one set wins)."""
    alias = settings_cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(c) for c in alias.choices)
    return ()


def field_of(loc: tuple[int | str, ...], settings_cls: type[BaseSettings]) -> str:
    """The field that a validation error's location (a field or environment name) names."""
    head = str(loc[0]) if loc else ""
    if head in settings_cls.model_fields:
        return head
    for field in settings_cls.model_fields:
        if head in env_names(field, settings_cls):
            return field
    return head


def _declared(key: str, names: tuple[str, ...]) -> str:
    """The name as the settings declare it (sources may lower-case it)."""
    return next((n for n in names if n.lower() == key.lower()), key)


def _env_file(source: DotEnvSettingsSource) -> str:
    files = source.env_file
    paths = [files] if isinstance(files, str | os.PathLike) else list(files or ())
    existing = [Path(p).resolve() for p in paths if Path(p).is_file()]
    return str(existing[0]) if len(existing) == 1 else "the .env file"
