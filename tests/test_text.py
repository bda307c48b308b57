"""Safe text: redaction of credentials, one-line cleaning, and bounded JSON-object parsing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anaconda_auth_async.foundation.safe_text import (
    MAX_LENGTH,
    REDACTED,
    json_object,
    one_line,
    redact,
    safe_line,
)

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"bad key {JWT}", JWT),
        ("GET /auth/oidc?state=s&code=AUTHCODE123 HTTP/1.1", "AUTHCODE123"),
        ("grant_type=authorization_code&code_verifier=VERIFIER-abc_123.x", "VERIFIER-abc_123.x"),
        ("device_code=DEV123&client_id=c", "DEV123"),
        ('{"access_token": "AT-secret", "token_type": "Bearer"}', "AT-secret"),
        ('{"refresh_token":"RT\\"secret"}', 'RT\\"secret'),
        ("Authorization: Bearer opaque-token-value==", "opaque-token-value"),
        ("password=hunter2&username=u", "hunter2"),
    ],
)
def test_redact_removes_credentials(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_redact_keeps_error_codes_and_names_given_secrets() -> None:
    text = '{"error": {"code": "auth_required"}, "error_code": "x"} error_code=keep'
    assert redact(text) == text
    assert redact("the key sk-123 was refused", ["sk-123", ""]) == f"the key {REDACTED} was refused"


def test_one_line_strips_control_characters_and_cuts() -> None:
    assert one_line("a\x1b[31mred\x1b[0m\r\n\tb\x00c") == "a [31mred [0m b c"
    long = one_line("x" * 500)
    assert len(long) == MAX_LENGTH
    assert long.endswith("…")
    assert one_line("abc", limit=2) == "a…"


@given(st.text())
def test_safe_line_is_always_one_printable_line(text: str) -> None:
    line = safe_line(text)
    assert line.isprintable()
    assert len(line) <= MAX_LENGTH
    assert line == line.strip()


def test_safe_line_redacts_before_cutting() -> None:
    line = safe_line(f"{'x' * 190} code={JWT}")
    assert "eyJ" not in line


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'"text"', b"null", b"{", b'{"a": 1'],
)
def test_json_object_is_none_for_anything_but_an_object(body: bytes) -> None:
    assert json_object(body) is None


def test_json_object_parses_objects_from_bytes_and_str() -> None:
    assert json_object(b'{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    assert json_object('{"a": "[[[[[["}') == {"a": "[[[[[["}


def test_json_object_bounds_nesting_and_size() -> None:
    deep = '{"a": ' + "[" * 40 + "]" * 40 + "}"
    assert json_object(deep) is None
    assert json_object(deep, max_depth=64) == json.loads(deep)
    assert json_object("[" * 200_000) is None  # no RecursionError
    assert json_object(b'{"a": "' + b"x" * 100 + b'"}', max_bytes=50) is None
