"""Safe text: every string a server (or another program) supplies goes through here.

A provider's ``error_description``, an API's error message, a network error's text, a
keyring backend's exception: before any of them reaches an exception message, a log line
or a terminal, `safe_line` bounds it (only its first `MAX_SCAN` characters are read),
makes it one line (`one_line`: control characters, terminal escapes included, become
spaces), shortens it, redacts it (`redact`: anything shaped like a JWT, ``Bearer``
credentials, the values of secret OAuth parameters, any secret the caller names) and cuts
it at `MAX_LENGTH`. `html_text` strips tags; `json_object` parses a body that should be a
JSON object and returns None for anything else (invalid, another type, over
`MAX_JSON_BYTES`, nested deeper than `MAX_JSON_DEPTH`). Every pattern runs in linear time.
Pure, standard library only. Why so: docs/decisions.md, "Outside text is cleaned once, in
linear time".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LENGTH",
    "MAX_SCAN",
    "REDACTED",
    "html_text",
    "json_object",
    "one_line",
    "redact",
    "safe_line",
    "without_password",
]

MAX_LENGTH = 200
MAX_SCAN = 64 * 1024
"""Characters of an outside text that are looked at at all (the rest is never shown)."""
_WINDOW = 4096
"""Characters of the cleaned text kept for redaction: many lines' worth, so a long token
starting inside the shown part is still recognised and redacted."""
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
    # A JWT: base64url parts, the first one a JSON object ("eyJ" is '{"'); a word starting
    # with it is redacted with up to two more dotted parts, so a token cut short still is.
    (re.compile(r"(?<![\w-])eyJ[\w-]*(?:\.[\w-]*){0,2}"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[\w\-.~+/]+=*"), rf"\1 {REDACTED}"),
    # name=value in a query string or form; name: "value" / "name": "value" in JSON (a
    # string with no closing quote is redacted to the end: the match cannot fail).
    (re.compile(rf"(?i)(?<![\w-])({_NAMES})=[^&\s\"'#]+"), rf"\1={REDACTED}"),
    (
        re.compile(rf"(?i)(?<![\w-])((?:{_JSON_NAMES})\"?\s*:\s*)\"(?:[^\"\\]|\\[\s\S])*\"?"),
        rf'\1"{REDACTED}"',
    ),
)
# An HTML page's script and style elements (to their end, or the text's), then any tag.
_BLOCK = re.compile(r"<(script|style)\b[^<]*(?:<(?!/\1)[^<]*)*(?:</\1[^>]*>?)?", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with tokens, credentials in URLs, forms and JSON, and each of `secrets` replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str, limit: int = MAX_LENGTH, *, mark: bool = True) -> str:
    """`text` printable on one line: control characters as spaces, at most `limit` long
    (the last character an ellipsis when cut, unless `mark` is false). Looks at no more
    than `MAX_SCAN` characters."""
    text = text[:MAX_SCAN]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if mark else text[:limit]


def safe_line(text: object, *, secrets: Iterable[str] = (), limit: int = MAX_LENGTH) -> str:
    """Server-supplied `text` (any object, as `str`) bounded, made one line, redacted and
    cut to `limit`, in time linear in `limit`, not in the size of `text`."""
    raw = str(text)
    line = one_line(raw[:MAX_SCAN], limit=max(_WINDOW, 4 * limit), mark=False)
    cut = len(raw) > MAX_SCAN or len(line) >= max(_WINDOW, 4 * limit)
    # The secrets as the text now spells them (a password's tabs are spaces there too).
    secrets = [one_line(s, len(s), mark=False) for s in secrets if s.strip()]
    for secret in secrets:
        line = line.replace(secret, REDACTED)
    if cut:
        line = _drop_cut_secret(line, secrets)
    line = one_line(redact(line), limit)
    return line if not cut or line.endswith("…") else one_line(line + " …", limit)


def html_text(text: str) -> str:
    """The text of an HTML page (its first `MAX_SCAN` characters): script and style
    elements and every tag removed, in linear time."""
    return _TAG.sub(" ", _BLOCK.sub(" ", text[:MAX_SCAN]))


def _drop_cut_secret(text: str, secrets: Iterable[str]) -> str:
    """`text` without a trailing beginning of one of `secrets` (cut by the window)."""
    for secret in secrets:
        for size in range(min(len(secret) - 1, len(text)), 0, -1):
            if text.endswith(secret[:size]):
                return text[:-size]
    return text


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
        # A 5,000-digit integer is infinity (then refused as not finite), not a ValueError
        # that would make the whole answer "not JSON".
        data = json.loads(body, parse_int=_bounded_int)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _bounded_int(text: str) -> int | float:
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


_MAX_INT_DIGITS = 4000  # below Python's int-from-string limit (4300)


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


def without_password(url: str) -> str:
    """`url` with the password of its user info (``http://user:pass@host``) hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return parts._replace(netloc=f"{name}:***@{host}").geturl()
