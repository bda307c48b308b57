"""The deprecated password grant over a MockTransport."""

from __future__ import annotations

import io
import sys
import threading
from urllib.parse import parse_qs

import httpx
import pytest

from anaconda_auth_async import AnacondaAuthSettings, LoginDeniedError, LoginError
from anaconda_auth_async._flows import FlowResult
from anaconda_auth_async._flows import password as password_module
from anaconda_auth_async._flows.password import password_flow
from anaconda_auth_async._oidc import ProviderMetadata

ISSUER = "https://id.example.test"
PASSWORD = "correct horse battery staple"

METADATA = ProviderMetadata(
    issuer=ISSUER,
    authorization_endpoint=f"{ISSUER}/authorize",
    token_endpoint=f"{ISSUER}/token",
    jwks_uri=f"{ISSUER}/jwks",
    device_authorization_endpoint=None,
    id_token_signing_alg_values_supported=("RS256",),
    raw={},
)


class TokenEndpoint:
    """Accepts alice with PASSWORD; records every form it receives."""

    def __init__(self, reject: httpx.Response | None = None) -> None:
        self.forms: list[dict[str, list[str]]] = []
        self.reject = reject or httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Invalid user credentials"}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url == f"{ISSUER}/token"
        form = parse_qs(request.content.decode())
        self.forms.append(form)
        if form.get("username") == ["alice"] and form.get("password") == [PASSWORD]:
            return httpx.Response(
                200, json={"access_token": "access-1", "id_token": "id-1", "token_type": "Bearer"}
            )
        return self.reject


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain="id.example.test", client_id="cli-123")


async def run(endpoint: TokenEndpoint, settings: AnacondaAuthSettings, ask: object) -> FlowResult:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        return await password_flow(http, METADATA, settings, ask_credentials=ask)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_success_sends_the_password_grant(settings: AnacondaAuthSettings) -> None:
    endpoint = TokenEndpoint()
    result = await run(endpoint, settings, lambda: ("alice", PASSWORD))
    assert result.tokens.access_token == "access-1"
    assert result.nonce is None
    assert endpoint.forms == [
        {
            "grant_type": ["password"],
            "username": ["alice"],
            "password": [PASSWORD],
            "client_id": ["cli-123"],
            "scope": ["openid email profile"],
        }
    ]


@pytest.mark.anyio
async def test_sync_callback_runs_off_the_event_loop_thread(
    settings: AnacondaAuthSettings,
) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def ask() -> tuple[str, str]:
        seen.append(threading.get_ident())
        return "alice", PASSWORD

    await run(TokenEndpoint(), settings, ask)
    assert len(seen) == 1
    assert seen[0] != loop_thread


@pytest.mark.anyio
async def test_async_callback_is_awaited(settings: AnacondaAuthSettings) -> None:
    async def ask() -> tuple[str, str]:
        return "alice", PASSWORD

    result = await run(TokenEndpoint(), settings, ask)
    assert result.tokens.access_token == "access-1"


@pytest.mark.anyio
async def test_bad_credentials(settings: AnacondaAuthSettings) -> None:
    with (
        pytest.raises(LoginDeniedError, match="user name or password was not accepted") as caught,
    ):
        await run(TokenEndpoint(), settings, lambda: ("alice", "wrong-password-123"))
    assert caught.value.error == "invalid_grant"
    assert "wrong-password-123" not in str(caught.value)


@pytest.mark.anyio
async def test_bare_401_means_bad_credentials(settings: AnacondaAuthSettings) -> None:
    endpoint = TokenEndpoint(reject=httpx.Response(401, text="Unauthorized"))
    with (
        pytest.raises(LoginDeniedError, match="not accepted"),
    ):
        await run(endpoint, settings, lambda: ("bob", "nope"))


@pytest.mark.anyio
async def test_other_provider_errors_are_not_called_bad_credentials(
    settings: AnacondaAuthSettings,
) -> None:
    endpoint = TokenEndpoint(reject=httpx.Response(400, json={"error": "unsupported_grant_type"}))
    with pytest.raises(LoginError) as caught:
        await run(endpoint, settings, lambda: ("bob", "nope"))
    assert not isinstance(caught.value, LoginDeniedError)
    assert "unsupported_grant_type" in str(caught.value)


@pytest.mark.anyio
async def test_no_callback_and_no_terminal_is_a_clear_error(
    settings: AnacondaAuthSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(password_module, "stdin_is_terminal", lambda: False)
    endpoint = TokenEndpoint()
    with pytest.raises(LoginError, match=r"there is none; pass ask_credentials="):
        await run(endpoint, settings, None)
    assert endpoint.forms == []


@pytest.mark.anyio
async def test_no_callback_asks_on_the_terminal(
    settings: AnacondaAuthSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(password_module, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(" alice \n"))
    hidden: list[str] = []

    def getpass(prompt: str, stream: object = None) -> str:
        hidden.append(prompt)
        assert stream is sys.stderr
        return PASSWORD

    monkeypatch.setattr(password_module.getpass, "getpass", getpass)
    endpoint = TokenEndpoint()
    result = await run(endpoint, settings, None)
    assert result.tokens.access_token == "access-1"
    assert hidden == ["Password: "]  # the password is read without echo
    out, err = capsys.readouterr()
    assert (out, err) == ("", "Email: ")
    assert endpoint.forms[0]["username"] == ["alice"]


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [("alice", ""), ("alice",), None, ["alice", PASSWORD]])
async def test_callback_must_return_a_pair(settings: AnacondaAuthSettings, answer: object) -> None:
    endpoint = TokenEndpoint()
    with (
        pytest.raises(LoginError, match="did not return"),
    ):
        await run(endpoint, settings, lambda: answer)
    assert endpoint.forms == []


@pytest.mark.anyio
async def test_unreachable_token_endpoint(settings: AnacondaAuthSettings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with (
            pytest.raises(LoginError, match="Could not reach the token endpoint") as caught,
        ):
            await password_flow(
                http, METADATA, settings, ask_credentials=lambda: ("alice", PASSWORD)
            )
    assert PASSWORD not in str(caught.value)
    assert "ConnectError: connection refused" in str(caught.value)  # the cause, not only a type


_PROMPT_IN_A_SCRIPT = """
from anyio.from_thread import start_blocking_portal
from anaconda_auth_async._flows.password import ask_on_terminal

with start_blocking_portal() as portal:  # as sync.login runs it
    portal.call(ask_on_terminal)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_ctrl_c_at_the_library_prompt_exits_and_restores_echo() -> None:
    from pty_prompt import interrupt_at_password_prompt

    result = interrupt_at_password_prompt(_PROMPT_IN_A_SCRIPT)
    assert result.status is not None, f"the script did not exit: {result.output!r}"
    assert result.echo_hidden_at_prompt  # the password is not echoed
    assert b"KeyboardInterrupt" in result.output
    assert result.echo_restored
