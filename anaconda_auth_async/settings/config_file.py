"""``~/.anaconda/config.toml`` as anaconda-auth reads it: ``[plugin.auth]``, named sites.

Two pydantic-settings sources, below the environment and ``.env``:

- `SiteSource`: the selected site's table, ``[sites.NAME]``, or a preset
  (``anaconda.com``, ``anaconda.cloud``). The site is the ``site`` setting (``site=``,
  ``--at``, ``ANACONDA_AUTH_SITE``, anaconda-auth's ``ANACONDA_DEFAULT_SITE``), else
  the file's ``default_site``, else its first site, else none (the defaults apply).
- `PluginTableSource`: ``[plugin.auth]``.

A table may use this package's setting names or anaconda-auth's (``domain``,
``auth_domain_override``, ``use_device_flow``, ``proxy_servers``, ...; `translate`).
The file is never written, so keys this package does not know stay where they are. The
path is ``ANACONDA_CONFIG_TOML`` if set, as for anaconda-auth. A file that cannot be read
is one `ConfigurationError` line naming the file, the line and the key.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings.sources import PydanticBaseEnvSettingsSource

from ..foundation.errors import ConfigurationError
from ..foundation.file_trust import check_config_file
from ..foundation.outside_values import MAX_DEPTH, check_depth
from ..foundation.safe_text import one_line
from .parsing import expand_user

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = [
    "IGNORED",
    "PRESETS",
    "UNHONOURED",
    "ConfigFile",
    "PluginTableSource",
    "SiteSource",
    "config_path",
    "read_config",
    "translate",
]

PLUGIN_TABLE = ("plugin", "auth")

PRESETS: dict[str, dict[str, str]] = {
    "anaconda.com": {"api_domain": "anaconda.com", "auth_domain": "anaconda.com"},
    "anaconda.cloud": {"api_domain": "anaconda.cloud", "auth_domain": "id.anaconda.cloud"},
}
"""Sites usable by name with no config file (a ``[sites.NAME]`` of the same name wins)."""

# anaconda-auth's names -> (our setting, rank): a lower rank wins within one table, so
# `api_domain` beats `domain`, and `auth_domain` beats `auth_domain_override` beats `domain`.
ALIASES: dict[str, tuple[tuple[str, int], ...]] = {
    "domain": (("api_domain", 2), ("auth_domain", 2)),
    "auth_domain_override": (("auth_domain", 1),),
    "use_device_flow": (("login_flow", 1),),
    "proxy_servers": (("proxy", 1),),
    "login_success_path": (("login_success_path", 0),),
    "login_error_path": (("login_error_path", 0),),
}

IGNORED = frozenset(
    {
        "hash_hostname",
        "use_unified_repo_api_key",
        "env_manager_channel",
        "env_manager_package",
        "env_manager_version",
    }
)
"""anaconda-auth settings of its conda integration, out of scope here: read, not used."""

UNHONOURED = {
    "oidc_request_headers": "set headers for every request with extra_headers instead",
    "keyring": "log in (or set api_key) instead of storing keys in the config file",
}
"""anaconda-auth settings this package reads but cannot honour: setting one is an error."""


def config_path() -> Path:
    """``ANACONDA_CONFIG_TOML`` if set, else ``~/.anaconda/config.toml`` (as anaconda-auth)."""
    raw = os.environ.get("ANACONDA_CONFIG_TOML") or "~/.anaconda/config.toml"
    try:
        return expand_user(os.path.expandvars(raw))
    except ValueError as exc:
        raise ConfigurationError(f"ANACONDA_CONFIG_TOML: {exc}.") from None


@dataclass(frozen=True)
class ConfigFile:
    """One parsed config.toml: its path, text and data."""

    path: Path
    text: str
    data: dict[str, Any] = field(repr=False)

    def table(self, names: Sequence[str]) -> dict[str, Any]:
        """The table at `names` (``("plugin", "auth")``), empty when absent."""
        value: Any = self.data
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        return value if isinstance(value, dict) else {}

    @property
    def sites(self) -> dict[str, dict[str, Any]]:
        """The ``[sites.NAME]`` tables, in file order."""
        return {k: v for k, v in self.table(("sites",)).items() if isinstance(v, dict)}

    def line_of(self, names: Sequence[str], key: str) -> int | None:
        """The line (1-based) where `key` is set in the table `names`, if it can be found."""
        header = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(#.*)?$")
        setting = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        wanted = ".".join(names)
        current = ""
        for number, line in enumerate(self.text.splitlines(), start=1):
            match = header.match(line)
            if match:
                current = re.sub(r"[\"'\s]", "", match.group(1))
            elif current == wanted and setting.match(line):
                return number
        return None

    def where(self, names: Sequence[str], key: str) -> str:
        """``KEY in [TABLE] of PATH, line N`` for messages."""
        line = self.line_of(names, key)
        table = f"[{'.'.join(names)}] of " if names else ""
        return f"{key} in {table}{self.path}" + (f", line {line}" if line else "")


_cache: dict[Path, ConfigFile] = {}
_cache_lock = threading.Lock()


def read_config(path: Path | None = None) -> ConfigFile | None:
    """The parsed config file, or None when there is none (parsed again only when changed).

    Raises `ConfigurationError` (one line: file, line, key) when it is not valid TOML.
    """
    path = path or config_path()
    check_config_file(path)  # another user's file could choose where keys go
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        if path.is_dir() or not path.exists():
            return None
        raise ConfigurationError(f"Cannot read {path}: {type(exc).__name__}.") from None
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached.text == text:
        return cached
    try:
        data = tomllib.loads(text)
        check_depth(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(_syntax_error(path, text, exc)) from None
    except (RecursionError, ValueError):
        raise ConfigurationError(
            f"{path} nests tables or arrays deeper than {MAX_DEPTH} levels; fix or remove it."
        ) from None
    parsed = ConfigFile(path, text, data)
    with _cache_lock:
        _cache[path] = parsed
    return parsed


def _syntax_error(path: Path, text: str, exc: Exception) -> str:
    message = str(exc).split(" (at ", 1)[0]
    match = re.search(r"at line (\d+)", str(exc))
    if match is None:
        return f"{path} is not valid TOML: {message}; fix or remove it."
    line = int(match.group(1))
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    key = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=", source)
    what = f", key {key.group(1).strip(chr(34) + chr(39))}" if key else ""
    return f"{path}, line {line}{what}: not valid TOML ({message}); fix or remove it."


def translate(
    table: Mapping[str, Any], known: Mapping[str, FieldInfo], *, where: Callable[[str], str]
) -> dict[str, tuple[Any, str]]:
    """Map a table's keys to settings: ``{setting: (value, key in the file)}``.

    Keys that name a setting are taken as they are; anaconda-auth's names through
    `ALIASES` (a lower rank wins within the table); `IGNORED` keys and unknown keys are
    skipped (and kept in the file); `UNHONOURED` keys raise `ConfigurationError`.
    """
    chosen: dict[str, tuple[int, Any, str]] = {}
    for key, value in table.items():
        if key in UNHONOURED:
            raise ConfigurationError(
                f"{where(key)}: anaconda-auth's {key} cannot be honoured by anaconda-auth-async; "
                f"{UNHONOURED[key]}, or move it to a table only anaconda-auth reads."
            )
        targets = ALIASES.get(key) or (((key, 0),) if key in known and key != "site" else ())
        for name, rank in targets:
            if name in chosen and chosen[name][0] <= rank:
                continue
            chosen[name] = (rank, value, key)
    return {name: (value, key) for name, (_, value, key) in chosen.items()}


class _TableSource(PydanticBaseSettingsSource):
    """A config.toml table as a settings source; values keyed as the environment's are."""

    kind = "config"

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._origins: dict[str, str] = {}  # setting -> description of where it is set

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` builds the whole mapping."""
        return None, field_name, False

    def _key(self, name: str) -> str:
        """The key the environment sources use for setting `name` (its first alias)."""
        alias = self.settings_cls.model_fields[name].validation_alias
        choices = getattr(alias, "choices", None)
        return str(choices[0]) if choices else name

    def _values(
        self, config: ConfigFile, names: Sequence[str], table: Mapping[str, Any]
    ) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        values = translate(table, fields, where=lambda key: config.where(names, key))
        out = {}
        for name, (value, key) in values.items():
            out[self._key(name)] = value
            self._origins[name] = config.where(names, key)
        return out

    def describe(self, name: str) -> str:
        """Where setting `name` (or its first alias) was found, for `setting_source`."""
        for field_name, origin in self._origins.items():
            if name in (field_name, self._key(field_name)):
                return origin
        return f"{name} in {config_path()}"


class PluginTableSource(_TableSource):
    """``[plugin.auth]`` of config.toml, as anaconda-auth reads it."""

    def __call__(self) -> dict[str, Any]:
        config = read_config()
        if config is None:
            return {}
        return self._values(config, PLUGIN_TABLE, config.table(PLUGIN_TABLE))


class SiteSource(_TableSource):
    """The selected site: ``[sites.NAME]`` of config.toml, or a preset.

    `above` are the sources above this one (arguments, environment, ``.env``), asked for
    the ``site`` setting; without one the file's ``default_site`` or first site is used.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], above: Sequence[PydanticBaseSettingsSource]
    ) -> None:
        super().__init__(settings_cls)
        self._above = above

    def _above_value(self, name: str) -> str | None:
        """Setting `name` from the sources above, asking only for that field."""
        info = self.settings_cls.model_fields[name]
        key = self._key(name)
        for source in self._above:
            if isinstance(source, PydanticBaseEnvSettingsSource):
                value, _, _ = source.get_field_value(info, name)
            else:
                data = source()
                value = data.get(name, data.get(key))
            if value:
                return str(value)
        return None

    def __call__(self) -> dict[str, Any]:
        config = read_config()
        requested = self._above_value("site")
        how = None
        domain = self._above_value("api_domain") if requested is None else None
        if domain and config is not None:
            # As anaconda-auth: a domain given above picks the one site with that domain.
            matches = [n for n, t in config.sites.items() if t.get("domain") == domain]
            if len(matches) == 1:
                requested, how = matches[0], f"the site whose domain is {domain}"
        if requested is None and config is not None:
            default = config.data.get("default_site")
            if isinstance(default, str) and default:
                requested, how = default, config.where((), "default_site")
            elif config.sites:
                requested = next(iter(config.sites))
                how = f"the first site in {config.path}"
        if requested is None:
            return {}
        name, table, origin = find_site(requested, config, how)
        if config is not None and name in config.sites:
            values = self._values(config, ("sites", name), table)
        else:
            values = {self._key(k): v for k, v in table.items()}
            self._origins.update(dict.fromkeys(table, origin))
        if how is not None:
            values[self._key("site")] = name
            self._origins["site"] = how
        return values


def find_site(
    requested: str, config: ConfigFile | None, how: str | None = None
) -> tuple[str, dict[str, Any], str]:
    """``(name, table, description)`` of the site `requested` names, as anaconda-auth finds it.

    A configured site of that name; else the one configured site whose ``domain`` it is;
    else a preset. Anything else is a `ConfigurationError` listing what exists.
    """
    sites = config.sites if config is not None else {}
    if requested in sites:
        return requested, sites[requested], f"[sites.{requested}] of {config.path}"  # type: ignore[union-attr]
    by_domain = [name for name, table in sites.items() if table.get("domain") == requested]
    if len(by_domain) == 1:
        name = by_domain[0]
        return name, sites[name], f"[sites.{name}] of {config.path}"  # type: ignore[union-attr]
    if len(by_domain) > 1:
        raise ConfigurationError(
            f"Site {requested!r} matches the domain of several sites ({', '.join(by_domain)}) "
            f"in {config.path}; name one of them."  # type: ignore[union-attr]
        )
    if requested in PRESETS:
        return requested, dict(PRESETS[requested]), f"the {requested} preset"
    where = f" ({how})" if how else ""
    configured = ", ".join(sites) if sites else "none"
    close = difflib.get_close_matches(requested, [*sites, *PRESETS], n=1, cutoff=0.6)
    meant = f"; did you mean {close[0]!r}?" if close else "."
    raise ConfigurationError(
        f"Unknown site {one_line(repr(requested), 80)}{where}: sites in {config_path()}: "
        f"{configured}; "
        f"presets: {', '.join(PRESETS)}{meant}"
    )
