"""The CLI over the real library: each test runs `anaconda-auth` against a `FakePlatform`
(the real login, store, client and renderer; only the network is faked), so a policy or a
renderer that lives in two places shows up here as two answers.
"""

from __future__ import annotations

import re
import sys
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_runner import run

from anaconda_auth_async.testing import FakePlatform, use_platform

ESCAPES = ("\x1b", "\x07", "\r", "\x9b")


@pytest.fixture
def platform(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    monkeypatch.setenv("ANACONDA_AUTH_EPHEMERAL_PORT", "true")  # port 8000 may be taken here
    fake = FakePlatform()
    with use_platform(fake):
        yield fake


def assert_clean(text: str) -> None:
    """No terminal control character, and no line the provider forged."""
    for escape in ESCAPES:
        assert escape not in text, repr(text)
    assert "FORGED" not in "".join(line[:6] for line in text.splitlines()), text


# --- what a login shows, through one renderer --------------------------------------------


def test_escapes_in_the_device_code_and_its_urls_never_reach_the_terminal(
    platform: FakePlatform,
) -> None:
    platform.script(
        "device",
        {
            "user_code": "ABCD\x1b[2J\nFORGED-\x07",
            "verification_uri": "https://id.anaconda.cloud/device\x1b]0;owned\x07",
            "verification_uri_complete": "https://id.anaconda.cloud/d?c=1\r\nFORGED \x9b2J",
        },
    )
    result = run("login", "--device")
    assert result.exit_code == 0, result.stderr
    assert_clean(result.stderr)
    assert "enter the code ABCD [2J FORGED-\n" in result.stderr
    assert result.stdout == "Logged in to id.anaconda.cloud as test-user.\n"


def test_escapes_in_the_authorization_endpoint_never_reach_the_terminal(
    platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.script(
        "discovery",
        {"authorization_endpoint": "https://id.anaconda.cloud/auth\x1b[2J\r\nFORGED \x1b]0;t\x07"},
    )
    monkeypatch.setenv("BROWSER", "/bin/false")  # the browser "fails": the URL is shown twice
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    result = run("login", "--browser", "--timeout", "1")
    assert result.exit_code == 4, result.stderr
    assert_clean(result.stderr)
    # the terminal shows the single-use loopback link; the provider's URL stays inside
    assert "If it does not open, visit: http://127.0.0.1:" in result.stderr
    assert "No browser could be opened; to log in, open http://127.0.0.1:" in result.stderr


def test_escapes_in_an_error_description_never_reach_the_terminal(
    platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anaconda_auth_async.logins.flows import browser

    def deny(url: str) -> bool:  # the provider redirects back with its own words
        platform.redirect(
            url, code=None, error="access_denied", error_description="No\x1b[2J\r\nFORGED\x07"
        )
        return True

    monkeypatch.setattr(browser, "default_open_browser", deny)
    result = run("login", "--browser")
    assert result.exit_code == 4, result.stderr
    assert_clean(result.stderr)
    *_, line = result.stderr.splitlines()  # after the URL and the wait
    assert line.startswith("Error: ")
    assert "No [2J FORGED" in line


@pytest.mark.skipif(not Path("/bin/false").exists(), reason="a POSIX browser command that fails")
def test_auto_without_a_browser_says_it_switched_to_a_code_not_to_open_the_address(
    platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER", "/bin/false")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    result = run("login")  # the auto flow: the browser is tried, then a device code
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Opening your browser to log in.")
    switched = lines.index(
        "No browser could be opened, so the browser login has stopped; log in with a code instead."
    )
    assert lines[switched + 1].startswith("To log in, visit https://id.anaconda.cloud/device")
    assert "address above" not in result.stderr
    assert "Logged in to id.anaconda.cloud" in result.stdout


# --- every command calls the function that owns its job ----------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["logout", "--all", "--at", "anaconda.com"], "--at"),
        (["logout", "--all", "--auth-domain", "id.example.com"], "--auth-domain"),
    ],
)
def test_logout_all_refuses_a_site_as_the_library_does(
    platform: FakePlatform, args: list[str], named: str
) -> None:
    from anaconda_auth_async.sync import logout

    with pytest.raises(ValueError, match="all_sites=True"):
        logout(all_sites=True, site="anaconda.com")
    result = run(*args)
    assert result.exit_code == 2
    assert f"--all logs out of every site; drop {named}." in result.stderr


# --- one classification of a refused key -------------------------------------------------


def plain(status: int) -> httpx.Response:
    """A refusal without the API's ``auth_required`` body (a proxy's, or an older API's)."""
    return httpx.Response(status, text="Forbidden" if status == 403 else "Unauthorized")


@pytest.mark.parametrize("status", [401, 403])
def test_whoami_with_a_refused_key_exits_3_whatever_the_body(
    platform: FakePlatform, status: int
) -> None:
    from anaconda_auth_async.storage.keyring_store import default_store

    default_store().save(platform.token_info())
    platform.script("account", plain(status))
    result = run("whoami")
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: anaconda.cloud rejected the API key")


@pytest.mark.parametrize("status", [401, 403])
def test_with_token_and_store_api_key_refuse_a_key_the_api_refuses(
    platform: FakePlatform, status: int
) -> None:
    from anaconda_auth_async import InvalidAPIKeyError
    from anaconda_auth_async.storage.keyring_store import default_store
    from anaconda_auth_async.sync import store_api_key

    key = platform.api_key()
    platform.script("account", plain(status))
    with pytest.raises(InvalidAPIKeyError, match="rejected the API key"):
        store_api_key(key)
    platform.script("account", plain(status))
    result = run("login", "--with-token", input=key)
    assert result.exit_code == 3, result.stderr
    assert "rejected the API key" in result.stderr
    assert "Traceback" not in result.stderr
    assert key not in result.stderr
    assert default_store().load("id.anaconda.cloud") is None  # nothing stored


def test_a_plain_403_elsewhere_is_a_permission_answer_returned_untouched(
    platform: FakePlatform,
) -> None:
    from anaconda_auth_async.sync import BaseClient

    platform.script("/api/private", plain(403))
    with BaseClient(api_key=platform.api_key()) as client:
        assert client.get("/api/private").status_code == 403


# --- in a terminal, whoami and api-key offer to log in -----------------------------------

OFFER_SCRIPT = """
import os, sys
os.environ["ANACONDA_AUTH_EPHEMERAL_PORT"] = "true"
out = os.open({out!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.dup2(out, 1)  # stdout to a file: the terminal keeps stdin and stderr
from anaconda_auth_async.cli import main
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store
with use_store(MemoryTokenStore()), use_platform(FakePlatform()):
    main({args!r})
"""


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
@pytest.mark.parametrize("command", ["whoami", "api-key"])
@pytest.mark.parametrize("answer", [b"y\n", b"n\n"])
def test_in_a_terminal_a_missing_login_is_offered(
    isolated_env: Path, tmp_path: Path, command: str, answer: bytes
) -> None:
    from pty_prompt import answer_at_prompt

    out = tmp_path / "stdout"
    script = OFFER_SCRIPT.format(out=str(out), args=[command])
    done = answer_at_prompt(script, b"Log in to anaconda.cloud now? [y/N]: ", answer)
    terminal = done.output.decode(errors="replace")
    assert "You are not logged in to id.anaconda.cloud" in terminal
    if answer == b"y\n":
        assert done.status == 0, terminal
        assert "To log in, visit https://id.anaconda.cloud/device" in terminal  # the login ran
        assert "Logged in to id.anaconda.cloud as test-user." in terminal
        printed = out.read_text()  # the command's result only
        if command == "whoami":
            assert printed == "Name:  Test User\nEmail: test@example.com\n"
        else:
            assert re.fullmatch(r"eyJ[\w-]*\.[\w-]+\.[\w-]*\n", printed)
    else:
        assert done.status == 3, terminal
        assert out.read_text() == ""  # nothing on stdout
        assert "To log in" not in terminal


@pytest.mark.parametrize("command", ["whoami", "api-key"])
def test_without_a_terminal_nothing_is_offered(platform: FakePlatform, command: str) -> None:
    result = run(command, input="y\n")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "now?" not in result.stderr
    assert platform.requests == []
