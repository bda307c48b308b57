"""The stored token: `TokenInfo`, in anaconda-cloud-auth's format (pure, no I/O).

An entry is the JSON object ``{"api_key", "username", "repo_tokens", "domain"}``; any
other field found in a stored entry is kept and written back unchanged.

The key's expiry comes from its JWT ``exp`` claim, decoded once without verifying the
signature (the server verifies the key; we only need the date) and kept as a number. A
key that is not a JWT, or has no ``exp``, has no known expiry: it is never treated as
expired locally, and the server's 401 answer decides.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RepoToken", "TokenInfo", "jwt_expiry"]

_KNOWN = ("api_key", "username", "repo_tokens", "domain")


@dataclass(frozen=True)
class RepoToken:
    """A token for a private conda repository, kept as anaconda-cloud-auth stored it."""

    token: str = field(repr=False)
    org_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored."""
        return {"token": self.token, "org_name": self.org_name}


def jwt_expiry(key: str) -> float | None:
    """The ``exp`` claim of a JWT as a UNIX time, or None if it has none or is no JWT."""
    parts = key.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


@dataclass(frozen=True)
class TokenInfo:
    """The API key stored for one auth domain, with its user name and repo tokens.

    `expires_at` is decoded once from the key; `expired` only compares numbers.
    """

    domain: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    repo_tokens: tuple[RepoToken, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    expires_at: float | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        expiry = jwt_expiry(self.api_key) if self.api_key else None
        object.__setattr__(self, "expires_at", expiry)

    @property
    def expired(self) -> bool:
        """True when the key is missing or past its ``exp`` time."""
        if self.api_key is None:
            return True
        return self.expires_at is not None and time.time() >= self.expires_at

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, domain: str | None = None) -> TokenInfo:
        """Build from a stored JSON object, keeping fields this version does not know."""
        tokens = tuple(
            RepoToken(token=str(t["token"]), org_name=t.get("org_name"))
            for t in data.get("repo_tokens") or ()
            if isinstance(t, dict) and "token" in t
        )
        return cls(
            domain=str(data.get("domain") or domain or ""),
            api_key=data.get("api_key"),
            username=data.get("username"),
            repo_tokens=tokens,
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, in anaconda-cloud-auth's field order, unknown fields after."""
        return {
            "api_key": self.api_key,
            "username": self.username,
            "repo_tokens": [t.to_dict() for t in self.repo_tokens],
            "domain": self.domain,
            **self.extra,
        }

    def encode(self) -> str:
        """The keyring value: base64 of the JSON form (anaconda-cloud-auth's format)."""
        return base64.b64encode(json.dumps(self.to_dict()).encode()).decode()

    @classmethod
    def decode(cls, value: str, *, domain: str | None = None) -> TokenInfo:
        """Read a keyring value written by `encode` or by anaconda-cloud-auth.

        Raises ValueError when the value is not base64 of a JSON object.
        """
        data = json.loads(base64.b64decode(value, validate=False))
        if not isinstance(data, dict):
            raise ValueError("token entry is not a JSON object")
        return cls.from_dict(data, domain=domain)
