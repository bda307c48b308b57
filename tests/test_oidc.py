"""OpenID Connect: discovery, JWKS, token responses and ID-token validation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from anaconda_auth_async import AnacondaAuthSettings
from anaconda_auth_async.foundation.errors import (
    DiscoveryError,
    InvalidIDTokenError,
    LoginDeniedError,
    LoginError,
)
from anaconda_auth_async.logins.flows.token_request import (
    OAuthTokens,
    TokenEndpointUnreachableError,
    parse_token_response,
    request_tokens,
    token_form,
)
from anaconda_auth_async.logins.id_token import (
    UnknownSigningKeyError,
    validate_id_token,
    verify_id_token,
)
from anaconda_auth_async.logins.provider import (
    ProviderMetadata,
    discover,
    expected_issuer,
    fetch_jwks,
)
from anaconda_auth_async.network.transport import async_http_client

ISSUER = "https://id.example.test"
WELL_KNOWN = f"{ISSUER}/.well-known/openid-configuration"
CLIENT_ID = "client-123"
NOW = 1_700_000_000.0
ACCESS_TOKEN = "access-token-value"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/oauth2/auth",
        "token_endpoint": f"{ISSUER}/oauth2/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": ["RS256", "RS384"],
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


METADATA = ProviderMetadata.from_document(WELL_KNOWN, document(), issuer=ISSUER)


@pytest.fixture(scope="module")
def key() -> RSAKey:
    generated: RSAKey = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
    return generated


@pytest.fixture(scope="module")
def other_key() -> RSAKey:
    generated: RSAKey = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig"})
    return generated


def public_set(*keys: RSAKey) -> KeySet:
    key_set: KeySet = KeySet.import_key_set({"keys": [k.as_dict(private=False) for k in keys]})
    return key_set


def at_hash(token: str, hash_name: str = "sha256") -> str:
    digest = hashlib.new(hash_name, token.encode()).digest()
    return b64(digest[: len(digest) // 2])


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": NOW + 600,
        "iat": NOW - 5,
        "nonce": "nonce-1",
        "at_hash": at_hash(ACCESS_TOKEN),
        "email": "someone@example.com",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(
    key: RSAKey, body: dict[str, Any], *, alg: str = "RS256", kid: str | None = "key-1"
) -> str:
    header: dict[str, Any] = {"alg": alg}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, body, key, algorithms=[alg])


def check(token: str, keys: KeySet, **options: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "keys": keys,
        "metadata": METADATA,
        "client_id": CLIENT_ID,
        "nonce": "nonce-1",
        "access_token": ACCESS_TOKEN,
        "now": NOW,
    }
    kwargs.update(options)
    return validate_id_token(token, **kwargs)


# -- ID token -------------------------------------------------------------------------


def test_good_token_returns_its_claims(key: RSAKey) -> None:
    result = check(sign(key, claims()), public_set(key))
    assert result["sub"] == "user-1"
    assert result["email"] == "someone@example.com"


def test_token_signed_with_an_advertised_stronger_alg_checks_its_at_hash(key: RSAKey) -> None:
    token = sign(key, claims(at_hash=at_hash(ACCESS_TOKEN, "sha384")), alg="RS384")
    assert check(token, public_set(key))["sub"] == "user-1"


def test_key_without_kid_is_found_by_type(key: RSAKey) -> None:
    assert check(sign(key, claims(), kid=None), public_set(key))["sub"] == "user-1"


@pytest.mark.parametrize(
    ("changes", "options", "fragment"),
    [
        ({"aud": "someone-else"}, {}, "audience"),
        ({"aud": ["someone-else", "another"]}, {}, "audience"),
        ({"aud": [CLIENT_ID, "another"]}, {}, "azp"),
        ({"aud": [CLIENT_ID, "another"], "azp": "another"}, {}, "azp"),
        ({"nonce": "other-nonce"}, {}, "nonce"),
        ({"nonce": None}, {}, "nonce"),
        ({"at_hash": at_hash("another-access-token")}, {}, "at_hash"),
        ({"exp": NOW - 61}, {}, "expired"),
        ({"exp": None}, {}, "exp"),
        ({"exp": "tomorrow"}, {}, "exp"),
        ({"iat": None}, {}, "iat"),
        ({"nbf": NOW + 3600}, {}, "nbf"),
        ({"iss": "https://evil.example.test"}, {}, "issuer"),
        ({"iss": None}, {}, "issuer"),
        ({}, {"client_id": "other-client"}, "audience"),
    ],
)
def test_each_failed_check_is_named(
    key: RSAKey, changes: dict[str, Any], options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidIDTokenError) as info:
        check(sign(key, claims(**changes)), public_set(key), **options)
    message = str(info.value)
    assert fragment in message
    assert message.endswith(".")
    assert ACCESS_TOKEN not in message


def test_several_audiences_with_our_azp_pass(key: RSAKey) -> None:
    token = sign(key, claims(aud=[CLIENT_ID, "another"], azp=CLIENT_ID))
    assert check(token, public_set(key))["azp"] == CLIENT_ID


def test_expiry_allows_the_leeway(key: RSAKey) -> None:
    token = sign(key, claims(exp=NOW - 30))
    assert check(token, public_set(key))["sub"] == "user-1"
    with pytest.raises(InvalidIDTokenError, match="expired"):
        check(token, public_set(key), leeway=10)


def test_nonce_and_at_hash_are_skipped_when_not_given(key: RSAKey) -> None:
    token = sign(key, claims(nonce=None, at_hash="not-checked"))
    assert check(token, public_set(key), nonce=None, access_token=None)["sub"] == "user-1"


def test_unknown_kid_is_its_own_error(key: RSAKey, other_key: RSAKey) -> None:
    token = sign(key, claims(), kid="rotated-key")
    with pytest.raises(UnknownSigningKeyError, match="not in the provider's JWKS"):
        check(token, public_set(key, other_key))


def test_signature_by_another_key_with_the_same_kid_fails(key: RSAKey, other_key: RSAKey) -> None:
    token = sign(other_key, claims(), kid="key-1")
    with pytest.raises(InvalidIDTokenError, match="signature"):
        check(token, public_set(key))


def test_tampered_payload_fails(key: RSAKey) -> None:
    header, _, signature = sign(key, claims()).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    with pytest.raises(InvalidIDTokenError, match="signature"):
        check(f"{header}.{forged}.{signature}", public_set(key))


def test_alg_none_is_rejected(key: RSAKey) -> None:
    header = b64(json.dumps({"alg": "none", "kid": "key-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    with pytest.raises(InvalidIDTokenError, match="'none'"):
        check(f"{header}.{payload}.", public_set(key))


def test_none_is_rejected_even_when_advertised(key: RSAKey) -> None:
    metadata = ProviderMetadata.from_document(
        WELL_KNOWN, document(id_token_signing_alg_values_supported=["none"]), issuer=ISSUER
    )
    header = b64(json.dumps({"alg": "none"}).encode())
    payload = b64(json.dumps(claims()).encode())
    with pytest.raises(InvalidIDTokenError, match="signed with 'none'"):
        check(f"{header}.{payload}.", public_set(key), metadata=metadata)


def test_hs256_signed_with_the_public_key_is_rejected(key: RSAKey) -> None:
    """The classic key-confusion attack: HMAC keyed with the provider's public key."""
    metadata = ProviderMetadata.from_document(
        WELL_KNOWN,
        document(id_token_signing_alg_values_supported=["RS256", "HS256"]),
        issuer=ISSUER,
    )
    public_pem = key.as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256", "kid": "key-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidIDTokenError, match="HS256"):
        check(f"{header}.{payload}.{b64(mac)}", public_set(key), metadata=metadata)


def test_alg_not_advertised_is_rejected(key: RSAKey) -> None:
    with pytest.raises(InvalidIDTokenError, match="RS512"):
        check(sign(key, claims(), alg="RS512"), public_set(key))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "!!!.e30.sig", "e30.e30.e30.e30"])
def test_garbage_is_not_a_jwt(key: RSAKey, token: str) -> None:
    with pytest.raises(InvalidIDTokenError, match="not a signed JSON Web Token"):
        check(token, public_set(key))


# -- token response -------------------------------------------------------------------


def test_token_response_success() -> None:
    body = {
        "access_token": ACCESS_TOKEN,
        "id_token": "id.token.value",
        "refresh_token": "refresh-token-value",
        "token_type": "bearer",
        "expires_in": "3600",
        "scope": "openid",
    }
    tokens = parse_token_response(200, json.dumps(body).encode())
    assert tokens.access_token == ACCESS_TOKEN
    assert tokens.id_token == "id.token.value"
    assert tokens.refresh_token == "refresh-token-value"
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 3600
    assert tokens.raw["scope"] == "openid"
    for secret in (ACCESS_TOKEN, "id.token.value", "refresh-token-value"):
        assert secret not in repr(tokens)


def test_token_response_mapping_with_defaults() -> None:
    tokens = parse_token_response(200, {"access_token": "x"})
    assert tokens == OAuthTokens(
        access_token="x", id_token=None, refresh_token=None, token_type="Bearer",
        expires_in=None, raw={},
    )  # fmt: skip


@pytest.mark.parametrize("code", ["access_denied", "invalid_grant"])
def test_refusals_are_login_denied(code: str) -> None:
    body = json.dumps({"error": code, "error_description": "The user said no."}).encode()
    with pytest.raises(LoginDeniedError) as info:
        parse_token_response(400, body)
    assert info.value.error == code
    assert info.value.description == "The user said no."
    assert code in str(info.value)
    assert "The user said no." in str(info.value)


def test_other_errors_are_login_errors_naming_status_and_code() -> None:
    body = {"error": "invalid_client", "error_description": "Unknown client\x1b[31m"}
    with pytest.raises(LoginError) as info:
        parse_token_response(401, body)
    assert not isinstance(info.value, LoginDeniedError)
    message = str(info.value)
    assert "HTTP 401" in message
    assert "invalid_client" in message
    assert "\x1b" not in message


def test_error_wins_over_a_200_status() -> None:
    with pytest.raises(LoginDeniedError):
        parse_token_response(200, {"error": "access_denied", "access_token": "x"})


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b"", b"[1, 2]"])
def test_non_json_names_the_status(body: bytes) -> None:
    with pytest.raises(LoginError, match="HTTP 502"):
        parse_token_response(502, body)


@pytest.mark.parametrize(
    ("status", "body"), [(200, {"token_type": "Bearer"}), (500, {"access_token": "secret-x"})]
)
def test_no_usable_access_token(status: int, body: dict[str, Any]) -> None:
    with pytest.raises(LoginError, match=f"HTTP {status} without an access token") as info:
        parse_token_response(status, body)
    assert "secret-x" not in str(info.value)


# -- discovery ------------------------------------------------------------------------


def settings_for(domain: str = "id.example.test", **values: Any) -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain=domain, **values)


def mock_client(handler: Callable[[httpx.Request], Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def test_expected_issuer() -> None:
    assert expected_issuer(WELL_KNOWN) == ISSUER
    assert expected_issuer("https://h.test/tenant/.well-known/openid-configuration") == (
        "https://h.test/tenant"
    )
    assert expected_issuer("https://h.test/custom/config.json") == "https://h.test"


def test_metadata_defaults_and_trailing_slash() -> None:
    doc = document(issuer=f"{ISSUER}/", id_token_signing_alg_values_supported=None)
    metadata = ProviderMetadata.from_document(WELL_KNOWN, doc, issuer=ISSUER)
    assert metadata.id_token_signing_alg_values_supported == ("RS256",)
    assert metadata.device_authorization_endpoint is None
    assert metadata.issuer == f"{ISSUER}/"


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        (document(token_endpoint=None), "token_endpoint is missing"),
        (document(jwks_uri=""), "jwks_uri is missing"),
        (document(authorization_endpoint="http://id.example.test/auth"), "not an https URL"),
        (document(device_authorization_endpoint="ftp://x"), "device_authorization_endpoint"),
        (document(issuer="https://other.example.test"), "is not the expected"),
        (document(issuer=42), "issuer is not an https URL"),
        (document(id_token_signing_alg_values_supported="RS256"), "not a list"),
        ([1, 2, 3], "not a JSON object"),
    ],
)
def test_malformed_documents(doc: Any, fragment: str) -> None:
    with pytest.raises(DiscoveryError) as info:
        ProviderMetadata.from_document(WELL_KNOWN, doc, issuer=ISSUER)
    assert fragment in str(info.value)
    assert WELL_KNOWN in str(info.value)


@pytest.mark.anyio
async def test_discovery_is_cached_per_url() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=document())

    async with mock_client(handler) as http:
        first = await discover(http, settings_for())
        second = await discover(http, settings_for())
    assert first is second
    assert seen == [WELL_KNOWN]
    assert first.token_endpoint == f"{ISSUER}/oauth2/token"
    assert first.id_token_signing_alg_values_supported == ("RS256", "RS384")


@pytest.mark.anyio
async def test_discovery_of_another_domain_is_fetched() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        issuer = f"https://{request.url.host}"
        return httpx.Response(200, json=document(issuer=issuer))

    async with mock_client(handler) as http:
        await discover(http, settings_for("a.example.test"))
        await discover(http, settings_for("b.example.test"))
    assert seen == ["a.example.test", "b.example.test"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(500, text="oops"), "HTTP 500"),
        (httpx.Response(200, text="<html>not json</html>"), "not a JSON object"),
        (httpx.Response(200, json=document(jwks_uri=None)), "jwks_uri is missing"),
    ],
)
async def test_discovery_errors_name_the_url(response: httpx.Response, fragment: str) -> None:
    async with mock_client(lambda request: response) as http:
        with pytest.raises(DiscoveryError) as info:
            await discover(http, settings_for())
    assert WELL_KNOWN in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.anyio
async def test_discovery_connection_refused() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(f"127.0.0.1:{port}")
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        with pytest.raises(DiscoveryError) as info:
            await discover(http, settings)
    assert f"https://127.0.0.1:{port}/.well-known/openid-configuration" in str(info.value)
    assert "ConnectError" in str(info.value)


@pytest.mark.anyio
async def test_discovery_time_limit() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(200, json=document())

    settings = settings_for(timeout=0.05)
    # The SDK's own client bounds every request by the timeout setting.
    async with async_http_client(settings, transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(DiscoveryError, match=r"no complete answer within 0\.05 seconds"):
            await discover(http, settings)


@pytest.mark.anyio
async def test_failed_discovery_is_not_cached() -> None:
    responses = [httpx.Response(503), httpx.Response(200, json=document())]
    async with mock_client(lambda request: responses.pop(0)) as http:
        with pytest.raises(DiscoveryError):
            await discover(http, settings_for())
        assert (await discover(http, settings_for())).issuer == ISSUER


# -- JWKS -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_jwks_is_cached_and_refreshed_on_request(key: RSAKey) -> None:
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    async with mock_client(handler) as http:
        first = await fetch_jwks(http, METADATA)
        assert await fetch_jwks(http, METADATA) is first
        await fetch_jwks(http, METADATA, refresh=True)
    assert fetched == [METADATA.jwks_uri] * 2
    assert [k.kid for k in first] == ["key-1"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(404),
        httpx.Response(200, json={"nokeys": []}),
        httpx.Response(200, json={"keys": [{"kty": "RSA", "n": 5}]}),
        httpx.Response(200, json={"keys": []}),
    ],
)
async def test_bad_jwks_is_a_discovery_error(response: httpx.Response) -> None:
    async with mock_client(lambda request: response) as http:
        with pytest.raises(DiscoveryError) as info:
            await fetch_jwks(http, METADATA)
    assert METADATA.jwks_uri in str(info.value)


@pytest.mark.anyio
async def test_verify_refetches_the_jwks_once_for_a_rotated_key(
    key: RSAKey, other_key: RSAKey
) -> None:
    published = [[key], [key, other_key]]
    fetches = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal fetches
        keys = published[min(fetches, 1)]
        fetches += 1
        return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in keys]})

    now = time.time()
    token = sign(other_key, claims(exp=now + 600, iat=now), kid="key-2")
    async with mock_client(handler) as http:
        result = await verify_id_token(
            http, METADATA, token, client_id=CLIENT_ID, nonce="nonce-1", access_token=ACCESS_TOKEN
        )
        assert result["sub"] == "user-1"
        assert fetches == 2
        # The refreshed set is cached: the next validation fetches nothing.
        await verify_id_token(
            http, METADATA, token, client_id=CLIENT_ID, nonce=None, access_token=None
        )
    assert fetches == 2


@pytest.mark.anyio
async def test_verify_gives_up_after_one_refetch(key: RSAKey, other_key: RSAKey) -> None:
    fetches = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal fetches
        fetches += 1
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    now = time.time()
    token = sign(other_key, claims(exp=now + 600, iat=now), kid="key-2")
    async with mock_client(handler) as http:
        with pytest.raises(UnknownSigningKeyError):
            await verify_id_token(
                http, METADATA, token, client_id=CLIENT_ID, nonce=None, access_token=None
            )
    assert fetches == 2


# -- token request --------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_tokens_sends_the_form() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": ACCESS_TOKEN})

    async with mock_client(handler) as http:
        tokens = await request_tokens(http, METADATA.token_endpoint, "grant_type=x&code=y")
    assert tokens.access_token == ACCESS_TOKEN
    assert seen[0].method == "POST"
    assert seen[0].content == b"grant_type=x&code=y"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"


def test_token_form_is_built_by_authlib_for_every_grant() -> None:
    assert token_form("authorization_code", code="c", redirect_uri="http://127.0.0.1/cb") == (
        "grant_type=authorization_code&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code=c"
    )
    form = token_form("password", username="u", password="p w", scope="openid email", x=None)
    assert form == "grant_type=password&username=u&password=p+w&scope=openid+email"


@pytest.mark.anyio
async def test_unreachable_token_endpoint_is_a_login_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    async with mock_client(handler) as http:
        with pytest.raises(
            TokenEndpointUnreachableError, match="Could not reach the token endpoint"
        ) as info:
            await request_tokens(http, METADATA.token_endpoint, "code=secret-code")
    assert isinstance(info.value, LoginError)
    assert "ConnectError: Connection refused" in str(info.value)
    assert METADATA.token_endpoint in str(info.value)
    assert "secret-code" not in str(info.value)
