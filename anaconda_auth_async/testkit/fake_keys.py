"""`make_api_key`: JWT-shaped API keys for tests, re-exported by `anaconda_auth_async.testing`.

Its own module so that `testing` and the `FakePlatform` (which mints keys with it) both
import it from below them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["make_api_key"]

_ONE_HOUR = dt.timedelta(hours=1)
_FAKE_SIGNATURE = base64.urlsafe_b64encode(b"fake-signature-not-verifiable").rstrip(b"=").decode()


def make_api_key(
    *,
    exp: float | dt.datetime | dt.timedelta | None = _ONE_HOUR,
    sub: str = "test-user",
    claims: Mapping[str, Any] | None = None,
) -> str:
    """A JWT-shaped API key for tests, with an obviously fake, unverifiable signature.

    `exp` is when it expires: a UNIX time, a `datetime`, or a `timedelta` from now (the
    default is one hour; a negative one gives an expired key); None leaves the ``exp``
    claim out, so the key has no known expiry. `claims` adds or overrides claims.
    """
    now = time.time()
    payload: dict[str, Any] = {"sub": sub, "iat": int(now)}
    if isinstance(exp, dt.timedelta):
        payload["exp"] = int(now + exp.total_seconds())
    elif isinstance(exp, dt.datetime):
        payload["exp"] = int(exp.timestamp())
    elif exp is not None:
        payload["exp"] = int(exp)
    payload.update(claims or {})
    header = {"alg": "RS256", "typ": "JWT", "kid": "anaconda-auth-async-testing"}
    return ".".join((_b64(header), _b64(payload), _FAKE_SIGNATURE))


def _b64(part: Mapping[str, Any]) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
