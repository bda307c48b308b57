"""Misspelled setting names: an ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name no setting
reads, in the environment or ``.env``, gets one warning naming the closest known name.

An anaconda-auth name this package reads and cannot honour (`UNHONOURED`) is a
`ConfigurationError` instead. The known names are those the settings class declares, plus
anaconda-auth's conda settings (`IGNORED`) and the few read elsewhere in this package.
"""

from __future__ import annotations

import difflib
import functools
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings

from ..foundation.errors import ConfigurationError
from .config_file import IGNORED, UNHONOURED
from .sources import env_names

__all__ = ["UnknownName", "known_names", "unknown_names", "warn_unknown_names"]

# Names that are not settings here but are known: read elsewhere in this package, or
# anaconda-auth's conda settings (IGNORED), or read and refused (UNHONOURED).
_ELSEWHERE = frozenset({"ANACONDA_AUTH_KEYRING_PATH", "ANACONDA_AUTH_ALLOW_DOTENV"})
_PREFIXES = ("ANACONDA_AUTH_", "ANACONDA_CLOUD_")
_warned: set[str] = set()
_warned_lock = threading.Lock()


@functools.cache
def known_names(settings_cls: type[BaseSettings]) -> frozenset[str]:
    """Every ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name this package knows."""
    names = {n for f in settings_cls.model_fields for n in env_names(f, settings_cls)}
    for key in (*IGNORED, *UNHONOURED):
        names.update(prefix + key.upper() for prefix in _PREFIXES)
    return frozenset(names | _ELSEWHERE)


@dataclass(frozen=True)
class UnknownName:
    """An ``ANACONDA_AUTH_*`` / ``ANACONDA_CLOUD_*`` name no setting reads."""

    name: str
    where: str  # "the environment" or the path of the .env file
    suggestion: str | None  # the closest known name, if one is close


def unknown_names(
    environ: Mapping[str, str] | None = None, *, settings_cls: type[BaseSettings]
) -> list[UnknownName]:
    """The unknown ``ANACONDA_AUTH_*``/``ANACONDA_CLOUD_*`` names in the environment (or
    `environ`) and ``.env``, sorted, each with the closest name `settings_cls` knows.

    Names with ``__`` (anaconda-auth's nested settings) count as their first part.
    Unhonoured anaconda-auth names set there are a `ConfigurationError`.
    """
    found = {k.upper(): "the environment" for k in (os.environ if environ is None else environ)}
    env_file = Path(".env")
    if environ is None and env_file.is_file():
        from dotenv import dotenv_values  # only when there is a .env file

        for key in dotenv_values(env_file, interpolate=False):
            found.setdefault(key.upper(), str(env_file.resolve()))
    known = known_names(settings_cls)
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


def warn_unknown_names(
    environ: Mapping[str, str] | None = None, *, settings_cls: type[BaseSettings]
) -> None:
    """Warn once per process about each of the `unknown_names`, naming the closest known
    name; an unhonoured anaconda-auth name is a `ConfigurationError`."""
    for unknown in unknown_names(environ, settings_cls=settings_cls):
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
