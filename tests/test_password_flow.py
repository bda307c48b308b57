"""The deprecated password grant against the test kit's fake provider."""

from __future__ import annotations

import io
import sys
import threading
from urllib.parse import parse_qs

import httpx
import pytest

from anaconda_auth_async import AnacondaAuthSettings, LoginDeniedError, LoginError
from anaconda_auth_async.logins.events import FlowResult
from anaconda_auth_async.logins.flows import password as password_module
from anaconda_auth_async.logins.flows.password import password_flow
from anaconda_auth_async.logins.provider import discover
from anaconda_auth_async.testing import FakePlatform

PASSWORD = "correct horse battery staple"


@pytest.fixture
def platform() -> FakePlatform:
    """A provider that accepts PASSWORD."""
    return FakePlatform(auth_domain="id.example.test", client_id="cli-123", password=PASSWORD)


@pytest.fixture
def settings(platform: FakePlatform) -> AnacondaAuthSettings:
    return platform.settings(client_id="cli-123")


def forms(platform: FakePlatform) -> list[dict[str, list[str]]]:
    """The forms the token endpoint received."""
    token = [r for r in platform.requests if r.url.path == "/oauth2/token"]
    return [parse_qs(r.content.decode()) for r in token]


async def run(platform: FakePlatform, settings: AnacondaAuthSettings, ask: object) -> FlowResult:
    async with httpx.AsyncClient(transport=platform.transport) as http:
        metadata = await discover(http, settings)
        return await password_flow(http, metadata, settings, ask_credentials=ask)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_success_sends_the_password_grant(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    platform.script("token", {"access_token": "access-1"})  # the usual answer, known token
    result = await run(platform, settings, lambda: ("alice", PASSWORD))
    assert result.tokens.access_token == "access-1"
    assert result.nonce is None
    assert forms(platform) == [
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
    platform: FakePlatform,
    settings: AnacondaAuthSettings,
) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def ask() -> tuple[str, str]:
        seen.append(threading.get_ident())
        return "alice", PASSWORD

    await run(platform, settings, ask)
    assert len(seen) == 1
    assert seen[0] != loop_thread


@pytest.mark.anyio
async def test_async_callback_is_awaited(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    async def ask() -> tuple[str, str]:
        return "alice", PASSWORD

    platform.script("token", {"access_token": "access-1"})  # the usual answer, known token
    result = await run(platform, settings, ask)
    assert result.tokens.access_token == "access-1"


@pytest.mark.anyio
async def test_bad_credentials(platform: FakePlatform, settings: AnacondaAuthSettings) -> None:
    with (
        pytest.raises(LoginDeniedError, match="user name or password was not accepted") as caught,
    ):
        await run(platform, settings, lambda: ("alice", "wrong-password-123"))
    assert caught.value.error == "invalid_grant"
    assert "wrong-password-123" not in str(caught.value)


@pytest.mark.anyio
async def test_bare_401_means_bad_credentials(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    platform.script("token", httpx.Response(401, text="Unauthorized"))
    with (
        pytest.raises(LoginDeniedError, match="not accepted"),
    ):
        await run(platform, settings, lambda: ("bob", "nope"))


@pytest.mark.anyio
async def test_other_provider_errors_are_not_called_bad_credentials(
    platform: FakePlatform,
    settings: AnacondaAuthSettings,
) -> None:
    platform.script("token", httpx.Response(400, json={"error": "unsupported_grant_type"}))
    with pytest.raises(LoginError) as caught:
        await run(platform, settings, lambda: ("bob", "nope"))
    assert not isinstance(caught.value, LoginDeniedError)
    assert "unsupported_grant_type" in str(caught.value)


@pytest.mark.anyio
async def test_no_callback_and_no_terminal_is_a_clear_error(
    platform: FakePlatform, settings: AnacondaAuthSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(password_module, "stdin_is_terminal", lambda: False)
    with pytest.raises(LoginError, match=r"there is none; pass ask_credentials="):
        await run(platform, settings, None)
    assert forms(platform) == []


@pytest.mark.anyio
async def test_no_callback_asks_on_the_terminal(
    platform: FakePlatform,
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
    platform.script("token", {"access_token": "access-1"})  # the usual answer, known token
    result = await run(platform, settings, None)
    assert result.tokens.access_token == "access-1"
    assert hidden == ["Password: "]  # the password is read without echo
    out, err = capsys.readouterr()
    assert (out, err) == ("", "Email: ")
    assert forms(platform)[0]["username"] == ["alice"]


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [("alice", ""), ("alice",), None, ["alice", PASSWORD]])
async def test_callback_must_return_a_pair(
    platform: FakePlatform, settings: AnacondaAuthSettings, answer: object
) -> None:
    with (
        pytest.raises(LoginError, match="did not return"),
    ):
        await run(platform, settings, lambda: answer)
    assert forms(platform) == []


@pytest.mark.anyio
async def test_unreachable_token_endpoint(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    platform.script("token", httpx.ConnectError("connection refused"))
    with (
        pytest.raises(LoginError, match="Could not reach the token endpoint") as caught,
    ):
        await run(platform, settings, lambda: ("alice", PASSWORD))
    assert PASSWORD not in str(caught.value)
    assert "ConnectError: connection refused" in str(caught.value)  # the cause, not only a type


_PROMPT_IN_A_SCRIPT = """
from anyio.from_thread import start_blocking_portal
from anaconda_auth_async.logins.flows.password import ask_on_terminal

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
