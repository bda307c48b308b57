"""Checks of the settings: where each came from, names no setting reads, values refused.

The settings are resolved once here, the way every command resolves them
(`resolve_settings`); a value that is refused or invalid is reported and replaced by its
default, so the other checks still run on what the rest of the configuration says.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..foundation.errors import ConfigurationError
from ..settings.dotenv_guard import ALLOW_DOTENV_ENV, GUARDED
from ..settings.fields import AnacondaAuthSettings, resolve_settings
from ..settings.sources import setting_source
from ..settings.unknown_names import unknown_names
from .report import DoctorCheck

__all__ = ["load_settings", "setting_names_check"]

_MAIN = ("auth_domain", "api_domain")
_MAX_TRIES = 8  # each retry replaces at least one more bad setting by its default


def load_settings(
    settings: AnacondaAuthSettings | None, **overrides: Any
) -> tuple[AnacondaAuthSettings, DoctorCheck]:
    """Usable settings, and the ``settings`` check: where the main ones came from, or
    which values were refused or invalid (those are replaced by their defaults)."""
    problems: list[tuple[str, ConfigurationError]] = []
    replaced: dict[str, Any] = {}
    fields = AnacondaAuthSettings.model_fields
    given = {k: v for k, v in overrides.items() if v is not None}
    for _ in range(_MAX_TRIES):
        try:
            with warnings.catch_warnings():  # unknown names are the next check's report
                warnings.simplefilter("ignore", UserWarning)
                resolved = resolve_settings(settings, **{**overrides, **replaced})
            break
        except ConfigurationError as exc:
            bad = [f for f in exc.settings if f in fields and f not in replaced and f not in given]
            problems.append((bad[0] if bad else "", exc))
            if not bad:
                resolved = AnacondaAuthSettings.model_construct()  # the defaults, unvalidated
                break
            for name in bad:
                replaced[name] = fields[name].get_default(call_default_factory=True)
    else:  # pragma: no cover - more bad settings than there are tries
        resolved = AnacondaAuthSettings.model_construct()
    if problems:
        return resolved, _refused(problems, given)
    return resolved, DoctorCheck("settings", "ok", _where_from(resolved))


def _refused(problems: list[tuple[str, ConfigurationError]], init: dict[str, Any]) -> DoctorCheck:
    field, first = problems[0]
    source = setting_source(field, init=init, settings_cls=AnacondaAuthSettings) if field else None
    if source is not None and source.kind == "dotenv" and field in GUARDED:
        fix = (
            f"if you trust that file, set the environment variable {ALLOW_DOTENV_ENV}={field}; "
            f"else remove {field} from it (or set it in the environment instead)"
        )
    elif source is not None and source.kind != "default":
        fix = f"correct or remove {source.description}"
    else:
        fix = "correct the setting named above ('anaconda-auth status' lists where each is set)"
    more = f" ({len(problems) - 1} more setting(s) also refused)" if len(problems) > 1 else ""
    summary = f"{str(first).rstrip('.')}{more}; doctor carries on with the default in its place"
    return DoctorCheck("settings", "fail", summary, fix)


def _where_from(settings: AnacondaAuthSettings) -> str:
    parts = []
    for name in _MAIN:
        parts.append(f"{name} {getattr(settings, name)} (from {settings.source_of(name)})")
    others = []
    for name in type(settings).model_fields:
        if name in _MAIN:
            continue
        source = settings.source_of(name)
        if source.kind != "default":
            others.append(f"{name} from {source}")
    site = f"site {settings.site}; " if settings.site else ""
    rest = f"; also set: {', '.join(others)}" if others else "; every other setting at its default"
    return f"{site}{', '.join(parts)}{rest}"


def setting_names_check() -> DoctorCheck:
    """The ``setting_names`` check: ``ANACONDA_AUTH_*``/``ANACONDA_CLOUD_*`` names that no
    setting reads (a misspelling is silently ignored), with the nearest right name."""
    try:
        unknown = unknown_names(settings_cls=AnacondaAuthSettings)
    except ConfigurationError as exc:
        return DoctorCheck(
            "setting_names", "fail", str(exc), "unset it and use the setting this package has"
        )
    if not unknown:
        return DoctorCheck(
            "setting_names", "ok", "every ANACONDA_AUTH_* and ANACONDA_CLOUD_* name is known"
        )
    described = [
        f"{u.name} (in {u.where}) is not a setting"
        + (f": did you mean {u.suggestion}?" if u.suggestion else "")
        for u in unknown
    ]
    renames = [f"{u.name} to {u.suggestion}" for u in unknown if u.suggestion]
    fix = f"rename {', '.join(renames)}" if renames else "remove it; 'anaconda-auth status' lists"
    if renames and len(renames) < len(unknown):
        fix += "; remove the others"
    elif not renames:
        fix += " the settings in use"
    return DoctorCheck("setting_names", "warn", "; ".join(described) + " (ignored)", fix)
