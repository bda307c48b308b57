"""Security: text from servers is data (issue 13, finding 6): control characters
stripped, codes, verifiers and tokens redacted, deep nesting mapped to our own errors.

Each server is an attacker on 127.0.0.1 answering with hostile text.
"""

from __future__ import annotations

import json

import anyio
import pytest
from attackers import attacker

from anaconda_auth_async import AnacondaAuthSettings, LoginError
from anaconda_auth_async.api_client.clients import AsyncAuthClient
from anaconda_auth_async.logins.flows.browser import AuthorizationSecrets, code_exchange_form
from anaconda_auth_async.logins.flows.token_request import request_tokens
from anaconda_auth_async.network.transport import async_http_client

LIMIT = 20
CODE = "SplxlOBeZQQYbYS6WxSbIA"
DEEP = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.anyio
async def test_finding6_token_error_text_never_echoes_the_code_or_verifier() -> None:
    secrets = AuthorizationSecrets.generate()
    form = code_exchange_form(
        code=CODE,
        client_id="c",
        redirect_uri="http://127.0.0.1/cb",
        code_verifier=secrets.code_verifier,
    )
    description = (
        f"Code {CODE} was already used with verifier {secrets.code_verifier}"
        "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b[2J\r\nFAKE PROMPT:"
    )
    answer = json.dumps({"error": "invalid_grant", "error_description": description}).encode()
    with attacker(status=400, body=answer) as provider:
        with anyio.fail_after(LIMIT):
            async with async_http_client(AnacondaAuthSettings()) as http:
                with pytest.raises(LoginError) as caught:
                    await request_tokens(http, f"{provider.url}/token", form)
    shown = str(caught.value)
    assert CODE not in shown
    assert secrets.code_verifier not in shown
    assert not any(ch in shown for ch in "\x1b\x07\r\n")
    assert "already used" in shown
    described = getattr(caught.value, "description", "") or ""
    assert CODE not in described
    assert secrets.code_verifier not in described


@pytest.mark.anyio
async def test_finding6_deeply_nested_json_is_our_error_not_recursion_error() -> None:
    with attacker(status=400, body=DEEP) as provider:
        with anyio.fail_after(LIMIT):
            async with async_http_client(AnacondaAuthSettings()) as http:
                with pytest.raises(LoginError, match="not JSON"):
                    await request_tokens(http, f"{provider.url}/token", "grant_type=x")
    with attacker(body=DEEP) as api:
        settings = AnacondaAuthSettings(api_domain=api.host)
        with anyio.fail_after(LIMIT):
            async with AsyncAuthClient(settings=settings, base_url=api.url, api_key="k") as c:
                with pytest.raises(ValueError, match="did not answer with a JSON object"):
                    await c.account()
