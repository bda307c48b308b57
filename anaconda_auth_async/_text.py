"""Safe text: every string a server (or another program) supplies goes through here.

A provider's ``error_description``, an API's error message, a network error's text, a
keyring backend's exception: before any of them reaches an exception message, a log line
or a terminal, it is

- redacted (`redact`): anything shaped like a JWT (access, ID and refresh tokens, our API
  keys), ``Bearer`` credentials, and the values of OAuth parameters that are secrets
  (``code``, ``code_verifier``, ``device_code``, ``access_token``, ``password``, ...)
  whether they appear in a query string, a form or a JSON object, plus any secret the
  caller names;
- made one short line (`one_line`): control characters (terminal escapes included) become
  spaces, runs of white space one space, and the result is cut at `MAX_LENGTH`.

`safe_line` does both, in that order. `json_object` parses a body that should be a JSON
object, and returns None for anything else: invalid JSON, another JSON type, a body larger
than `MAX_JSON_BYTES` or nested deeper than `MAX_JSON_DEPTH` (a hostile server cannot make
the parser recurse without bound). Pure, standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LENGTH",
    "REDACTED",
    "json_object",
    "one_line",
    "redact",
    "safe_line",
]

MAX_LENGTH = 200
MAX_JSON_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
REDACTED = "[redacted]"

# Names whose values are credentials in OAuth, OIDC and our own API.
_SECRET_NAMES = (
    "access_token",
    "api_key",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "id_token",
    "password",
    "refresh_token",
    "token",
)
_NAMES = "|".join(_SECRET_NAMES)
# In JSON, "code" is usually an error code ({"error": {"code": "auth_required"}}).
_JSON_NAMES = "|".join(n for n in _SECRET_NAMES if n != "code")
_PATTERNS = (
    # A JWT: three base64url parts, the first one a JSON object ("eyJ" is '{"').
    (re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[\w\-.~+/]+=*"), rf"\1 {REDACTED}"),
    # name=value in a query string or form; name: "value" / "name": "value" in JSON.
    (re.compile(rf"(?i)(?<![\w-])({_NAMES})=[^&\s\"'#]+"), rf"\1={REDACTED}"),
    (
        re.compile(rf"(?i)(?<![\w-])((?:{_JSON_NAMES})\"?\s*:\s*)\"(?:[^\"\\]|\\.)*\""),
        rf'\1"{REDACTED}"',
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with tokens, credentials in URLs, forms and JSON, and each of `secrets` replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str, limit: int = MAX_LENGTH) -> str:
    """`text` printable on one line: control characters as spaces, at most `limit` long."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_line(text: object, *, secrets: Iterable[str] = (), limit: int = MAX_LENGTH) -> str:
    """Server-supplied `text` (any object, as `str`) redacted, then made one short line."""
    return one_line(redact(str(text), secrets), limit)


def json_object(
    body: bytes | bytearray | str,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> dict[str, Any] | None:
    """`body` parsed as a JSON object, or None when it is not one (or is too large or deep)."""
    if len(body) > max_bytes or _too_deep(body, max_depth):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _too_deep(body: bytes | bytearray | str, max_depth: int) -> bool:
    """Whether brackets nest deeper than `max_depth` (counting those in strings, a bound)."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # cannot be deeper than the number of openers: the common, cheap case
    depth = 0
    for byte in raw.translate(None, _NOT_BRACKETS):
        depth += 1 if byte in _OPEN else -1
        if depth > max_depth:
            return True
    return False


_OPEN = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
