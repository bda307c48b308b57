"""The stored token: `TokenInfo`, in anaconda-cloud-auth's format (pure, no I/O).

An entry is the JSON object ``{"api_key", "username", "repo_tokens", "domain"}``; any
other field found in a stored entry is kept and written back unchanged. This SDK adds
such fields: ``api_domain``, the API domain the key was created at, the only place it
is sent to; ``scopes``, the key's scopes; ``stored_under`` (see `entry_names`).

The key's expiry comes from its JWT ``exp`` claim, decoded once (`foundation.jwt`) and
kept as a number. A key that is not a JWT, or has no ``exp``, has no known expiry: it is
never treated as expired locally, and the server's 401 answer decides.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..foundation.jwt import jwt_claims, jwt_expiry, jwt_issued_at
from ..foundation.public_names import publish

__all__ = ["RepoToken", "TokenInfo"]

_KNOWN = ("api_key", "username", "repo_tokens", "domain")
# An extra field (other tools ignore and keep extra fields): the fingerprint of a key the
# server rejected, and when. A fingerprint, not a flag, so it can only match that key.
_REJECTED = "rejected_key"


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RepoToken:
    """A token for a private conda repository, kept as anaconda-cloud-auth stored it."""

    token: str = field(repr=False)
    org_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored (fields this version does not know after)."""
        return {"token": self.token, "org_name": self.org_name, **self.extra}

    @classmethod
    def from_dict(cls, data: Any) -> RepoToken | None:
        """Build from a stored JSON object; None when it is not a well-formed repo token."""
        if not isinstance(data, dict):
            return None
        token, org_name = data.get("token"), data.get("org_name")
        if not isinstance(token, str) or not isinstance(org_name, str | None):
            return None
        extra = {k: v for k, v in data.items() if k not in ("token", "org_name")}
        return cls(token=token, org_name=org_name, extra=extra)


def _scope_list(value: Any) -> tuple[str, ...] | None:
    """A list of scope strings, or a space-separated string of them; else None."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


@dataclass(frozen=True)
class TokenInfo:
    """The API key stored for one auth domain, with its user name and repo tokens.

    `expires_at` and `issued_at` are decoded once from the key; `expired` only compares
    numbers.
    """

    domain: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    repo_tokens: tuple[RepoToken, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    expires_at: float | None = field(init=False, compare=False)
    issued_at: float | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        key = self.api_key
        object.__setattr__(self, "expires_at", jwt_expiry(key) if key else None)
        object.__setattr__(self, "issued_at", jwt_issued_at(key) if key else None)

    @property
    def api_domain(self) -> str | None:
        """The API domain the key was created at (the ``api_domain`` field), if recorded.

        The key is sent only there. Entries written by anaconda-cloud-auth (or before
        this field existed) have none; other tools ignore the field and keep it.
        """
        value = self.extra.get("api_domain")
        return value if isinstance(value, str) and value else None

    @property
    def scopes(self) -> tuple[str, ...] | None:
        """The key's scopes: the ``scopes`` field our logins record, else the key's own
        ``scopes`` (or ``scope``) claim; None when neither says (entries of other tools)."""
        recorded = _scope_list(self.extra.get("scopes"))
        if recorded is not None or not self.api_key:
            return recorded
        claims = jwt_claims(self.api_key) or {}
        return _scope_list(claims.get("scopes", claims.get("scope")))

    @property
    def rejected(self) -> bool:
        """True when the server rejected this very key (invalid or revoked) since it was stored.

        Recorded by the clients on a 401/403 ``auth_required`` answer (`with_rejection`) as
        a fingerprint of the key, so a new key stored under the same name by any tool is
        never taken for the rejected one.
        """
        mark = self.extra.get(_REJECTED)
        return (
            self.api_key is not None
            and isinstance(mark, dict)
            and mark.get("key_sha256") == _fingerprint(self.api_key)
        )

    @property
    def rejected_at(self) -> float | None:
        """When the server rejected the key (a POSIX time), if `rejected`."""
        at = self.extra[_REJECTED].get("at") if self.rejected else None
        return float(at) if isinstance(at, int | float) else None

    def with_rejection(self, at: float) -> TokenInfo:
        """This entry, marked as rejected by the server at `at` (other fields kept)."""
        assert self.api_key is not None
        mark = {"key_sha256": _fingerprint(self.api_key), "at": at}
        return dataclasses.replace(self, extra={**self.extra, _REJECTED: mark})

    @property
    def expired(self) -> bool:
        """True when the key is missing or past its ``exp`` time."""
        if self.api_key is None:
            return True
        return self.expires_at is not None and time.time() >= self.expires_at

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, domain: str | None = None) -> TokenInfo:
        """Build from a stored JSON object, keeping fields this version does not know.

        A ``repo_tokens`` value this version cannot read is kept as it was (in `extra`)
        rather than dropped. Raises ValueError when ``api_key``, ``username`` or
        ``domain`` is not a string.
        """
        for name in ("api_key", "username", "domain"):
            if not isinstance(data.get(name), str | None):
                raise ValueError(f"token field {name} is not a string")
        extra = {k: v for k, v in data.items() if k not in _KNOWN}
        raw_tokens = data.get("repo_tokens")
        parsed = (
            [RepoToken.from_dict(t) for t in raw_tokens] if isinstance(raw_tokens, list) else []
        )
        tokens = tuple(t for t in parsed if t is not None)
        if raw_tokens is not None and (
            not isinstance(raw_tokens, list) or len(tokens) < len(parsed)
        ):
            extra["repo_tokens"] = raw_tokens  # keep it verbatim for the next write
            tokens = ()
        return cls(
            domain=data.get("domain") or domain or "",
            api_key=data.get("api_key"),
            username=data.get("username"),
            repo_tokens=tokens,
            extra=extra,
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
        try:
            data = json.loads(base64.b64decode(value, validate=False))
        except RecursionError:
            raise ValueError("token entry is nested too deeply") from None
        if not isinstance(data, dict):
            raise ValueError("token entry is not a JSON object")
        return cls.from_dict(data, domain=domain)


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
