"""What ``anaconda-auth status`` reports, as data: the key in use and where each setting
came from, with no secret in it.

`status_report` reads the key through the functions a Python caller uses
(`session.token_in_use`, and `decision.unusable` for "logged in"), so the report and
`is_logged_in` cannot disagree; the CLI only prints it (as text or ``--json``) and picks
the exit code. `setting_sources` is the one place that decides which settings are shown
and that hides secret values (`SECRET_SETTINGS`, and a proxy URL's password).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..foundation.safe_text import without_password
from ..settings.fields import SECRET_SETTINGS

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings
    from ..storage.keyring_store import TokenStore
    from ..storage.stored_token import TokenInfo

__all__ = ["setting_sources", "status_report"]

SHOWN_SETTINGS = ("site", "api_domain", "auth_domain", "ssl_verify", "login_flow", "keyring_path")
"""Shown even at their defaults; any other setting only when something set it."""


def setting_sources(
    settings: AnacondaAuthSettings,
    *,
    ignored: Mapping[str, str] | None = None,
    argument_names: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{setting: {"value", "from"}}`` for the main settings and every one not at its
    default; secret values are never shown. `ignored` maps a setting whose value was
    invalid and left at its default to that value's source; `argument_names` names the
    settings given as arguments (the CLI's options) in place of "argument"."""
    ignored = ignored or {}
    argument_names = argument_names or {}
    result: dict[str, dict[str, Any]] = {}
    for name in type(settings).model_fields:
        source = settings.source_of(name)
        if name not in SHOWN_SETTINGS and source.kind == "default":
            continue
        value = getattr(settings, name)
        shown = "(hidden)" if name in SECRET_SETTINGS else value
        if name == "proxy" and isinstance(value, str):
            shown = without_password(value)
        if isinstance(shown, Path):
            shown = str(shown)
        described = source.description
        if name in ignored:
            described = f"its default: the value from {ignored[name]} is invalid"
        elif source.kind == "argument" and name in argument_names:
            described = argument_names[name]
        result[name] = {"value": shown, "from": described}
    return result


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")


async def status_report(
    settings: AnacondaAuthSettings,
    *,
    store: TokenStore | None = None,
    ignored: Mapping[str, str] | None = None,
    argument_names: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], TokenInfo | None]:
    """The status of the site's key, offline, as a JSON-ready dict, and the token read.

    Keys: ``site``, ``auth_domain``, ``api_domain``, ``logged_in``, ``source``,
    ``username``, ``expires_at`` (ISO 8601), ``days_left``, ``expired``, ``rejected``,
    ``stored_as``, ``scopes``, ``settings`` (`setting_sources`). Never the key itself.
    """
    from ..api_client.site_context import site_context  # with the session, on use
    from .decision import unusable  # both loaded by the session module below
    from .session import token_in_use

    context = site_context(settings, store=store)
    store = context.store
    token, source = await token_in_use(context)
    has_key = token is not None and unusable(token) != "missing"
    held = token if has_key else None
    expires_at = held.expires_at if held is not None else None
    report: dict[str, Any] = {
        "site": settings.site,
        "auth_domain": settings.auth_domain,
        "api_domain": settings.api_domain,
        "logged_in": unusable(token) is None,
        "source": source,
        "username": held.username if held is not None else None,
        "expires_at": _iso(expires_at) if expires_at is not None else None,
        "days_left": int((expires_at - time.time()) // 86400) if expires_at is not None else None,
        "expired": held is not None and held.expired,
        "rejected": held is not None and held.rejected,
        "stored_as": held.domain if held is not None and source == store.name else None,
        "scopes": list(held.scopes or ()) or None if held is not None else None,
        "settings": setting_sources(settings, ignored=ignored, argument_names=argument_names),
    }
    return report, held
