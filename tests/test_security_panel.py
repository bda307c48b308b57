"""Security round 2, finding 9: the Panel handler takes the user only from a valid ID token.

Before, the handler (through Panel) read ``email`` from the ID token without checking its
signature, ``aud`` or ``nonce``, and without ``email_verified``: a forged or replayed
token named any user. Now the token answer passes the SDK's own ID-token validator (the
one a login uses: signature by a key of the provider's JWKS, ``iss``, ``aud``, ``exp``,
``nonce``) and an unverified address is refused, each with a 401 before Panel sets the
user cookie. The provider is the test kit's, signing real RS256 tokens.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

pytest.importorskip("panel")

from panel.config import config
from tornado.web import HTTPError

from anaconda_auth_async.panel import AnacondaCloudLoginHandler
from anaconda_auth_async.testing import FakePlatform, use_platform

NONCE = "nonce-sent-with-this-login"
NONCE_COOKIE = AnacondaCloudLoginHandler._NONCE_COOKIE


class Handler(AnacondaCloudLoginHandler):  # type: ignore[misc]
    """The handler with tornado's cookie jar replaced by a dict (no application needed)."""

    def __init__(self) -> None:  # tornado's needs an application and a request
        self.jar: dict[str, bytes] = {NONCE_COOKIE: NONCE.encode()}

    def get_secure_cookie(self, name: str, *args: Any, **kwargs: Any) -> bytes | None:
        return self.jar.get(name)

    def clear_cookie(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.jar.pop(name, None)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Any:
    platform = FakePlatform(auth_domain="id.example.test", user={"email": "ada@example.com"})
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", "id.example.test")
    monkeypatch.setattr(config, "oauth_key", platform.client_id)
    platform.id_token_claims = {"email_verified": True}
    with use_platform(platform):
        yield platform


def answer(platform: FakePlatform, *, nonce: str | None = NONCE, **claims: Any) -> bytes:
    platform.id_token_claims = {"email_verified": True, **claims}
    id_token = platform._provider.id_token("access-1", nonce)
    return json.dumps({"access_token": "access-1", "id_token": id_token}).encode()


async def verify(body: bytes) -> None:
    handler = Handler()
    await handler._discover()
    await handler.verify_token_response(body, "grant_type=authorization_code&code=c")


@pytest.mark.anyio
async def test_a_valid_id_token_with_a_verified_email_passes(platform: FakePlatform) -> None:
    await verify(answer(platform))


def forged(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


@pytest.mark.anyio
@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "signed-elsewhere",
        "wrong-aud",
        "wrong-iss",
        "expired",
        "wrong-nonce",
        "no-nonce",
    ],
)
async def test_finding9_a_token_a_login_would_refuse_is_refused(
    platform: FakePlatform, case: str
) -> None:
    if case == "unsigned":
        claims = {"iss": platform.issuer, "aud": platform.client_id, "nonce": NONCE}
        claims |= {"email": "mallory@example.com", "email_verified": True, "exp": 2**31}
        body = json.dumps({"access_token": "a", "id_token": forged(claims)}).encode()
    elif case == "signed-elsewhere":  # every claim right, signed by a key of the attacker
        from joserfc import jwt
        from joserfc.jwk import RSAKey

        key = RSAKey.generate_key(2048, parameters={"kid": "fake-1"})
        claims = {"iss": platform.issuer, "aud": platform.client_id, "nonce": NONCE}
        claims |= {"email": "mallory@example.com", "email_verified": True}
        claims |= {"iat": int(time.time()), "exp": int(time.time()) + 600, "sub": "m"}
        token = jwt.encode({"alg": "RS256", "kid": "fake-1"}, claims, key)
        body = json.dumps({"access_token": "a", "id_token": token}).encode()
    else:
        changes: dict[str, Any] = {
            "wrong-aud": {"aud": "another-client"},
            "wrong-iss": {"iss": "https://evil.example.test"},
            "expired": {"exp": 1_000_000_000},
            "wrong-nonce": {"nonce": "a-replayed-nonce"},
            "no-nonce": {"nonce": None},
        }[case]
        body = answer(platform, **changes)
    with pytest.raises(HTTPError) as caught:
        await verify(body)
    assert caught.value.status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("verified", [False, None, "true"])
async def test_finding9_an_unverified_email_is_not_an_identity(
    platform: FakePlatform, verified: object
) -> None:
    with pytest.raises(HTTPError, match="not verified") as caught:
        await verify(answer(platform, email_verified=verified))
    assert caught.value.status_code == 401


@pytest.mark.anyio
async def test_finding9_no_id_token_or_no_nonce_cookie_is_refused(platform: FakePlatform) -> None:
    with pytest.raises(HTTPError, match="no ID token"):
        await verify(json.dumps({"access_token": "a"}).encode())
    handler = Handler()
    handler.jar.clear()  # a token answer for a login this browser never started
    await handler._discover()
    with pytest.raises(HTTPError, match="not started here"):
        await handler.verify_token_response(answer(platform), "grant_type=authorization_code")
