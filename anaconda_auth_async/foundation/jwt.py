"""The one JWT decoder: a token's header and claims read without checking its signature (pure).

An API key's expiry and issue time, the offline checks of a key given to store, the
doctor's key check, and the ID token's header before joserfc verifies its signature all
read a token through `unverified_jwt`. The server verifies a key; we only need its dates.
Parsing is bounded (`safe_text.json_object`) and never raises.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .outside_values import clamp_timestamp
from .safe_text import json_object

__all__ = ["jwt_claims", "jwt_expiry", "jwt_issued_at", "unverified_jwt"]


def jwt_expiry(key: str) -> float | None:
    """The ``exp`` claim of a JWT as a UNIX time, or None if it has none or is no JWT.

    Never raises: anything that is not a JWT with a finite numeric ``exp`` gives None; a
    time past the year 9999 (or before 1970) is clamped to it.
    """
    return _time_claim(key, "exp")


def jwt_issued_at(key: str) -> float | None:
    """The ``iat`` claim of a JWT as a UNIX time, or None (same rules as `jwt_expiry`)."""
    return _time_claim(key, "iat")


def jwt_claims(key: str) -> dict[str, Any] | None:
    """The claims of a JWT, unverified, or None when `key` is not one (`unverified_jwt`)."""
    decoded = unverified_jwt(key)
    return None if decoded is None else decoded[1]


def unverified_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and claims of a JWT, decoded without checking its signature; None when
    `token` is not three dot-separated parts whose first two are base64url JSON objects."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, claims = _segment(parts[0]), _segment(parts[1])
    if header is None or claims is None:
        return None
    return header, claims


def _segment(part: str) -> dict[str, Any] | None:
    try:
        return json_object(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error):  # not base64, or decodes to no text
        return None


def _time_claim(key: str, name: str) -> float | None:
    claims = jwt_claims(key)
    value = claims.get(name) if claims is not None else None
    # 1e20 is the year 9999, -1e20 the epoch: a date that status can always show.
    return clamp_timestamp(value)
