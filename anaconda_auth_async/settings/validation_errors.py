"""One `ConfigurationError` for the values pydantic refused.

One sentence per bad setting: its name, where the value came from (`setting_source`) and
what is expected, never the value itself (it may be a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from ..foundation.errors import ConfigurationError
from .sources import field_of, setting_source

__all__ = ["invalid_settings"]


def invalid_settings(
    exc: ValidationError | SettingsError,
    init: Mapping[str, Any],
    settings_cls: type[BaseSettings],
) -> ConfigurationError:
    """The `ConfigurationError` for `exc`, raised while building `settings_cls` from `init`
    (the keyword arguments); it names the settings at fault in ``settings``."""
    return ConfigurationError(
        _error_message(exc, init, settings_cls), settings=_error_fields(exc, settings_cls)
    )


def _source(field: str, init: Mapping[str, Any], settings_cls: type[BaseSettings]) -> str:
    """Say where the value of `field` came from, for an error message."""
    if field not in settings_cls.model_fields:
        return f"argument {field}=" if field in init else "its default"
    return setting_source(field, init=init, settings_cls=settings_cls).description


def _error_fields(
    exc: ValidationError | SettingsError, settings_cls: type[BaseSettings]
) -> tuple[str, ...]:
    """The settings at fault in a validation error (empty when it cannot say)."""
    if isinstance(exc, SettingsError):
        return tuple(f for f in settings_cls.model_fields if f'"{f}"' in str(exc))
    return tuple(
        dict.fromkeys(field_of(e["loc"], settings_cls) for e in exc.errors(include_url=False))
    )


def _error_message(
    exc: ValidationError | SettingsError,
    init: Mapping[str, Any],
    settings_cls: type[BaseSettings],
) -> str:
    """One line per bad setting, never echoing the value (it may be a secret)."""
    if isinstance(exc, SettingsError):
        field = next((f for f in settings_cls.model_fields if f'"{f}"' in str(exc)), "a setting")
        return (
            f"Invalid setting {field} (from {_source(field, init, settings_cls)}): "
            "could not be parsed."
        )
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        field = field_of(error["loc"], settings_cls)
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(
            f"Invalid setting {field} (from {_source(field, init, settings_cls)}): {message}."
        )
    return " ".join(parts).replace("..", ".")
