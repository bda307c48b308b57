"""Property-based tests of every parser of outside input (security round 2).

Each parser, given anything hypothesis can build (random text, JSON with odd numbers and
deep nesting, random bytes), either returns its own kind of value or raises the package's
own error; never a foreign exception (`OverflowError`, `RecursionError`, a bare
`ValueError`, `KeyError`, `TypeError`), and the text it returns is one printable line.
The examples are bounded so the normal test session stays fast.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anaconda_auth_async import (
    AnacondaAuthSettings,
    APIKeyExchangeError,
    ConfigurationError,
    InvalidIDTokenError,
    LoginError,
    TokenInfo,
)
from anaconda_auth_async.api_client.api_version import parse_version
from anaconda_auth_async.foundation.jwt import jwt_expiry
from anaconda_auth_async.foundation.outside_values import (
    MAX_TIMESTAMP,
    clamp_timestamp,
    finite_number,
)
from anaconda_auth_async.foundation.safe_text import MAX_LENGTH, json_object, safe_line
from anaconda_auth_async.logins.flows.device_code import (
    parse_device_authorization,
    parse_poll_response,
)
from anaconda_auth_async.logins.flows.loopback_request import Rejected, parse_callback
from anaconda_auth_async.logins.flows.token_request import OAuthTokens, parse_token_response
from anaconda_auth_async.logins.id_token import validate_id_token
from anaconda_auth_async.logins.key_exchange import parse_new_api_key, server_message
from anaconda_auth_async.logins.provider import ProviderMetadata
from anaconda_auth_async.settings.config_file import read_config
from anaconda_auth_async.testkit.fake_provider import rsa_key

BOUNDED = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ODD_NUMBERS = st.sampled_from(
    ["1e999", "-1e999", "NaN", "Infinity", "9" * 5000, '"\u00b2"', '"\u0663"', "1e20", "-1e20"]
)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
JSON = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "access_token", "id_token", "refresh_token", "expires_in", "token_type", "error",
        "error_description", "device_code", "user_code", "verification_uri",
        "verification_uri_complete", "interval", "api_key", "id", "expires_at", "scopes",
        "tags", "message", "detail",
    ]
)  # fmt: skip


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """A JSON object with the fields the parsers look at, some holding odd numbers or
    deep nesting written as raw JSON text (1e999, NaN, 5,000 digits, '²', [[[[...]]]])."""
    fields = draw(st.dictionaries(KEYS, JSON, max_size=6))
    text = json.dumps(fields)
    raw = draw(st.lists(st.tuples(KEYS, ODD_NUMBERS), max_size=2))
    for key, value in raw:
        text = text[:-1] + ("," if len(text) > 2 else "") + f'"{key}": {value}' + "}"
    if draw(st.booleans()):
        depth = draw(st.integers(min_value=30, max_value=5000))
        text = (
            text[:-1] + ("," if len(text) > 2 else "") + '"x": ' + "[" * depth + "]" * depth + "}"
        )
    return text.encode()


BODIES = st.one_of(json_bodies(), st.binary(max_size=300), st.text(max_size=300).map(str.encode))


def one_printable_line(text: str | None, limit: int = 10 * MAX_LENGTH) -> None:
    if text is not None:
        assert text.isprintable()
        assert len(text) <= limit


@BOUNDED
@given(st.text(max_size=200), st.sampled_from(["", "?", "/cb?", "/cb?state=S&"]))
def test_callback_query(query: str, prefix: str) -> None:
    outcome = parse_callback(prefix + query, path="/cb", state="S", issuer="https://i.example")
    assert outcome is None or isinstance(outcome, str | LoginError | Rejected)
    if isinstance(outcome, LoginError):
        one_printable_line(str(outcome), 1000)


@BOUNDED
@given(st.sampled_from([200, 400, 401, 500]), BODIES)
def test_token_response(status: int, body: bytes) -> None:
    try:
        tokens = parse_token_response(status, body, secrets=("SECRET-CODE",))
    except LoginError as exc:
        shown = str(exc)
        one_printable_line(shown, 1000)
        assert "SECRET-CODE" not in shown
        return
    assert isinstance(tokens, OAuthTokens)
    assert tokens.expires_in is None or tokens.expires_in >= 0


@BOUNDED
@given(st.sampled_from([200, 400, 500]), BODIES)
def test_device_responses(status: int, body: bytes) -> None:
    try:
        auth = parse_device_authorization(
            status, body, endpoint="https://i.example/device", default_expires_in=math.inf
        )
    except LoginError as exc:
        one_printable_line(str(exc), 1000)
    else:
        assert auth.interval > 0
        assert auth.expires_in > 0
        assert not math.isnan(auth.interval + auth.expires_in)
    try:
        parse_poll_response(status, body)
    except LoginError as exc:
        one_printable_line(str(exc), 1000)


@BOUNDED
@given(
    st.sampled_from([201, 400, 403, 500]),
    BODIES,
    st.sampled_from(["application/json", "text/html", ""]),
)
def test_api_key_responses(status: int, body: bytes, content_type: str) -> None:
    one_printable_line(server_message(body, content_type), MAX_LENGTH)
    try:
        key = parse_new_api_key(
            status, body, content_type, url="https://a.example/api/iam/api-keys"
        )
    except APIKeyExchangeError as exc:
        one_printable_line(str(exc), 1000)
        return
    data = key.to_dict()  # printed by api-key --new --json: never raises
    assert data["api_key"] == key.api_key


METADATA = ProviderMetadata(
    issuer="https://i.example",
    authorization_endpoint="https://i.example/auth",
    token_endpoint="https://i.example/token",
    jwks_uri="https://i.example/jwks",
    device_authorization_endpoint=None,
    id_token_signing_alg_values_supported=("RS256",),
    raw={},
)


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@BOUNDED
@given(BODIES, BODIES, st.text(max_size=40))
def test_id_token_header_and_claims(header: bytes, claims: bytes, signature: str) -> None:
    from joserfc.jwk import KeySet

    token = f"{segment(header)}.{segment(claims)}.{segment(signature.encode())}"
    with pytest.raises(InvalidIDTokenError) as caught:
        validate_id_token(
            token,
            keys=KeySet([rsa_key()]),
            metadata=METADATA,
            client_id="client",
            nonce="n",
            access_token=None,
        )
    one_printable_line(str(caught.value), 1000)
    expiry = jwt_expiry(token)
    assert expiry is None or 0 <= expiry <= MAX_TIMESTAMP


@BOUNDED
@given(BODIES)
def test_keyring_entry(body: bytes) -> None:
    try:
        token = TokenInfo.decode(base64.b64encode(body).decode(), domain="d")
    except ValueError:
        return
    assert token.expires_at is None or 0 <= token.expires_at <= MAX_TIMESTAMP
    TokenInfo.decode(token.encode(), domain="d")  # what is read can be written back


@BOUNDED
@given(
    st.text(max_size=300)
    | st.builds(
        lambda d: f"[plugin.auth]\nextra_headers = {'[' * d}{']' * d}\n", st.integers(1, 3000)
    )
    | st.builds(lambda d: "[" + ".".join(["a"] * d) + "]\nb = 1\n", st.integers(1, 3000))
)
def test_config_toml(text: str) -> None:
    path = Path.cwd() / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    try:
        read_config(path)
    except ConfigurationError as exc:
        shown = str(exc)
        assert str(path) in shown


DOTENV_NAMES = st.sampled_from(
    [
        "ANACONDA_AUTH_EXTRA_HEADERS", "ANACONDA_AUTH_PROXY", "ANACONDA_AUTH_TIMEOUT",
        "ANACONDA_AUTH_SSL_VERIFY", "ANACONDA_AUTH_LOGIN_FLOW", "ANACONDA_AUTH_EPHEMERAL_PORT",
        "ANACONDA_AUTH_API_KEY", "ANACONDA_AUTH_SITE",
    ]
)  # fmt: skip
DOTENV_VALUES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r\x00"), max_size=80),
    ODD_NUMBERS,
    st.integers(1, 5000).map(lambda d: "{" + '"a":' * 0 + "[" * d + "]" * d + "}"),
)


@BOUNDED
@given(st.dictionaries(DOTENV_NAMES, DOTENV_VALUES, max_size=3))
def test_dotenv_values(values: dict[str, str]) -> None:
    env = Path.cwd() / ".env"
    env.write_text("".join(f"{k}='{v.replace(chr(39), '')}'\n" for k, v in values.items()))
    try:
        AnacondaAuthSettings(allow_dotenv=["all"])
    except ConfigurationError as exc:
        one_printable_line(str(exc).replace("\n", " "), 5000)
    finally:
        env.unlink()


@BOUNDED
@given(
    st.text(max_size=80) | st.integers(0, 6000).map(lambda n: "9" * n) | st.just("1." + "0" * 5000)
)
def test_min_api_version(text: str) -> None:
    version = parse_version(text)
    assert version is None or str(version)


@BOUNDED
@given(BODIES)
def test_error_bodies(body: bytes) -> None:
    data = json_object(body)
    assert data is None or isinstance(data, dict)
    line = safe_line(body.decode("utf-8", "replace"), secrets=("SECRET",))
    one_printable_line(line, MAX_LENGTH)
    assert "SECRET" not in line


@BOUNDED
@given(JSON | ODD_NUMBERS)
def test_outside_numbers(value: Any) -> None:
    when = clamp_timestamp(value)
    assert when is None or 0 <= when <= MAX_TIMESTAMP
    try:
        number = finite_number(value)
    except ValueError:
        return
    assert math.isfinite(number)
