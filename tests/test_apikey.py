"""Exchanging the access token for an API key: the request, and each failure's message."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest

from anaconda_auth_async import AnacondaAuthSettings, APIKeyExchangeError, __version__
from anaconda_auth_async.logins.key_exchange import exchange_api_key, server_message

ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
URL = "https://api.example.test/api/iam/api-keys"


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(api_domain="api.example.test", extra_headers={"X-Team": "blue"})


async def exchange(settings: AnacondaAuthSettings, answer: httpx.Response | Exception) -> str:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await exchange_api_key(http, settings, ACCESS_TOKEN)


@pytest.mark.anyio
async def test_201_returns_the_key_and_sends_the_documented_request(
    settings: AnacondaAuthSettings,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"api_key": "the-new-key", "id": "k1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert await exchange_api_key(http, settings, ACCESS_TOKEN) == "the-new-key"
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["X-Team"] == "blue"
    assert json.loads(request.content) == {
        "scopes": ["cloud:read", "cloud:write", "repo:read"],
        "tags": [f"anaconda-auth-async/v{__version__}"],
    }


@pytest.mark.anyio
async def test_401_with_json_message(settings: AnacondaAuthSettings) -> None:
    answer = httpx.Response(
        401, json={"error": {"code": "auth_required", "message": "Token is not active"}}
    )
    with pytest.raises(APIKeyExchangeError) as caught:
        await exchange(settings, answer)
    message = str(caught.value)
    assert caught.value.status_code == 401
    assert f"{URL} answered HTTP 401 (Token is not active)" in message
    assert message.endswith(
        "log in again; if this persists, check that your account may create API keys."
    )


@pytest.mark.anyio
async def test_422_with_fastapi_detail(settings: AnacondaAuthSettings) -> None:
    answer = httpx.Response(422, json={"detail": "scopes: unknown scope cloud:write"})
    with pytest.raises(
        APIKeyExchangeError, match=r"HTTP 422 \(scopes: unknown scope cloud:write\)"
    ):
        await exchange(settings, answer)


@pytest.mark.anyio
async def test_500_with_html_body(settings: AnacondaAuthSettings) -> None:
    html = (
        "<html><head><style>body {color: red}</style><title>Oops</title></head>"
        "<body><h1>Internal   Server Error</h1>" + "<p>x</p>" * 200 + "</body></html>"
    )
    answer = httpx.Response(500, text=html, headers={"content-type": "text/html"})
    with pytest.raises(APIKeyExchangeError) as caught:
        await exchange(settings, answer)
    message = str(caught.value)
    assert caught.value.status_code == 500
    assert "HTTP 500 (Oops Internal Server Error x x" in message
    assert "<" not in message
    assert "color: red" not in message
    assert "…" in message
    assert len(message) < 400
    assert message.endswith("try logging in again in a few minutes.")


@pytest.mark.anyio
async def test_network_error(settings: AnacondaAuthSettings) -> None:
    with pytest.raises(APIKeyExchangeError) as caught:
        await exchange(settings, httpx.ConnectError("[Errno 111] Connection refused"))
    assert caught.value.status_code is None
    assert str(caught.value) == (
        f"Could not reach {URL} to create an API key (ConnectError: [Errno 111] Connection "
        "refused); check your network connection, proxy and ssl_verify settings, then log in again."
    )


@pytest.mark.anyio
async def test_network_error_names_the_wrapped_tls_failure(settings: AnacondaAuthSettings) -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed")
        except ssl.SSLError as tls:
            raise httpx.ConnectError("") from tls
    except httpx.ConnectError as wrapped:
        error = wrapped
    with pytest.raises(APIKeyExchangeError, match=r"\(ConnectError: .*certificate verify failed"):
        await exchange(settings, error)


@pytest.mark.anyio
async def test_201_without_a_key(settings: AnacondaAuthSettings) -> None:
    with pytest.raises(APIKeyExchangeError, match="had no api_key field"):
        await exchange(settings, httpx.Response(201, json={"id": "k1"}))


@pytest.mark.anyio
async def test_a_key_in_a_non_201_answer_is_never_echoed(settings: AnacondaAuthSettings) -> None:
    answer = httpx.Response(200, json={"api_key": "leaked-key-value"})
    with pytest.raises(APIKeyExchangeError) as caught:
        await exchange(settings, answer)
    assert "leaked-key-value" not in str(caught.value)
    assert "HTTP 200 (no message)" in str(caught.value)


@pytest.mark.anyio
async def test_the_access_token_is_never_echoed(settings: AnacondaAuthSettings) -> None:
    answer = httpx.Response(403, text=f"token {ACCESS_TOKEN} is not allowed")
    with pytest.raises(APIKeyExchangeError) as caught:
        await exchange(settings, answer)
    assert ACCESS_TOKEN not in str(caught.value)
    assert "token [redacted] is not allowed" in str(caught.value)


def test_server_message_redacts_anything_like_a_jwt() -> None:
    body = b'{"message": "bad key eyJraWQiOiJrMSJ9.eyJleHAiOjF9.sig-part"}'
    assert server_message(body, "application/json") == "bad key [redacted]"


def test_server_message_of_an_empty_body() -> None:
    assert server_message(b"", "text/plain") == "no message"
