"""Every login a person sees, in a real browser: headless Chromium as ``BROWSER``.

The `chromium` fixture sets ``BROWSER`` to ``chromium.py``, which opens the login URL in
headless Chromium, types into the provider's forms and clicks, then stays on the page it
lands on. Each test checks what the SDK stored and what Chromium shows at the end; a
screenshot of every final page is kept under ``tests/e2e/artifacts/<test>/``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from chromium import group_members, is_running, processes_naming
from conftest import BROWSER_STOP_TIMEOUT, CHROMIUM_SCRIPT, E2E, STEP_TIMEOUT, stop_browsers
from test_e2e_cli import DEVICE_LINE, assert_denied_cli_login

from anaconda_auth_async import LoginDeniedError, login

pytestmark = pytest.mark.e2e

SUCCESS_TEXT = "You are logged in. You can close this window."


def final_page(e2e: E2E, count: int = 1) -> dict[str, Any]:
    """The record of Chromium's last run, once it has settled on its final page."""
    records = e2e.wait_for_browser(count)
    assert len(records) == count, records
    record = records[-1]
    assert record["error"] is None, record
    assert record["screenshot"], record
    shot = Path(record["screenshot"])
    assert shot.is_file()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return record


def assert_success_page(e2e: E2E, record: dict[str, Any]) -> None:
    assert record["final_url"] == f"{e2e.server.api_origin}/local-login-success"
    assert record["final_title"] == "Login successful"
    assert SUCCESS_TEXT in record["final_text"]


def start_chromium(e2e: E2E, url: str, **options: str) -> None:
    """Open `url` in Chromium as a person would by hand (the launcher returns at once)."""
    args = [sys.executable, str(CHROMIUM_SCRIPT), url]
    for name, value in options.items():
        args[-1:-1] = [f"--{name.replace('_', '-')}", value]
    subprocess.run(args, env=e2e.subprocess_env(), timeout=STEP_TIMEOUT, check=True)


# --------------------------------------------------------------------------------------
# Browser login: the CLI, sync.login(), await login().


def test_cli_login_in_chromium(chromium: E2E) -> None:
    result = chromium.run_cli("login")
    assert result.returncode == 0, result.stderr
    domain = chromium.server.auth_domain
    assert result.stdout.strip() == f"Logged in to {domain} as ada@example.com."
    token = chromium.stored()
    assert token is not None
    assert token.api_key
    record = final_page(chromium)
    assert record["actions"] == ["login as ada", "grant consent"]
    assert_success_page(chromium, record)


def test_sync_login_in_chromium(chromium: E2E) -> None:
    from anaconda_auth_async.sync import BaseClient, login

    token = login()
    assert chromium.stored() == token
    assert_success_page(chromium, final_page(chromium))
    with BaseClient() as client:
        assert client.name == "Ada Lovelace"


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_async_login_in_chromium(chromium: E2E, host: str) -> None:
    redirect_uri = chromium.redirect_uri.replace("127.0.0.1", host)
    chromium.setenv("ANACONDA_AUTH_REDIRECT_URI", redirect_uri)
    with anyio.fail_after(STEP_TIMEOUT):
        token = await login()
    assert token.username == "ada@example.com"
    assert chromium.stored() == token
    (authorize,) = [r for r in chromium.server.requests(server="auth") if r["path"] == "/auth"]
    assert f"redirect_uri=http%3A%2F%2F{host}%3A" in authorize["query"]
    assert_success_page(chromium, final_page(chromium))


@pytest.mark.anyio
async def test_loopback_listener_survives_favicon_and_stray_requests(
    chromium: E2E, caplog: pytest.LogCaptureFixture
) -> None:
    # Before the login page, Chromium opens the listener's favicon and root (as a stale
    # tab or a favicon fetch would): each gets a 404 and the login still completes.
    caplog.set_level(logging.DEBUG, logger="anaconda_auth_async.logins.flows.loopback_listener")
    chromium.setenv("E2E_BROWSER_PROBE", "/favicon.ico,/,/favicon.ico")
    with anyio.fail_after(STEP_TIMEOUT):
        token = await login()
    assert chromium.stored() == token
    answered = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Answered")]
    assert answered.count("Answered GET /favicon.ico with 404") >= 2, answered
    assert "Answered GET / with 404" in answered
    record = final_page(chromium)
    assert record["actions"][:3] == [
        "open /favicon.ico on the loopback listener",
        "open / on the loopback listener",
        "open /favicon.ico on the loopback listener",
    ]
    assert_success_page(chromium, record)


# --------------------------------------------------------------------------------------
# The person says no.


@pytest.mark.anyio
async def test_denied_consent_in_chromium_ends_on_the_error_page(chromium: E2E) -> None:
    chromium.set_browser_mode("deny")
    with anyio.fail_after(STEP_TIMEOUT), pytest.raises(LoginDeniedError) as info:
        await login()
    assert info.value.error == "access_denied"
    assert chromium.stored() is None
    record = final_page(chromium)
    assert record["actions"] == ["login as ada", "deny consent"]
    assert record["final_url"] == f"{chromium.server.api_origin}/local-login-error"
    assert "Login failed" in record["final_title"], record
    assert [r for r in chromium.server.requests() if r["path"] == "/api/iam/api-keys"] == []


def test_cli_denied_consent_in_chromium(chromium: E2E) -> None:
    assert_denied_cli_login(chromium)
    assert final_page(chromium)["final_url"].endswith("/local-login-error")


# --------------------------------------------------------------------------------------
# Device code: the verification page completed in Chromium while the library polls.


@pytest.mark.anyio
async def test_device_login_completed_in_chromium(chromium: E2E) -> None:
    on_event = chromium.on_device_code("device", partial(start_chromium, chromium))
    with anyio.fail_after(STEP_TIMEOUT):
        token = await login(flow="device", on_event=on_event)
    assert chromium.stored() == token
    record = final_page(chromium)
    assert "confirm the device" in record["actions"]
    assert record["final_title"] == "Sign-in Success"
    token_polls = [r for r in chromium.server.requests(server="auth") if r["path"] == "/token"]
    assert len(token_polls) >= 1


@pytest.mark.anyio
async def test_device_login_opens_its_page_in_chromium(chromium: E2E) -> None:
    # With no on_event the device flow opens the verification page itself, without the
    # code (a command line is readable by every user): the person types the code shown on
    # the terminal, which the browser script is given as E2E_BROWSER_USER_CODE; Chromium
    # confirms it and logs in while the library polls the token endpoint.
    chromium.set_browser_mode("device")
    chromium.type_device_code()
    with anyio.fail_after(STEP_TIMEOUT):
        token = await login(flow="device")
    assert chromium.stored() == token
    record = final_page(chromium)
    assert record["start_url"].startswith(f"{chromium.server.issuer}/device")
    assert record["actions"][-3:] == ["confirm the device", "login as ada", "grant consent"]
    assert record["final_title"] == "Sign-in Success"


def test_cli_device_login_typed_into_chromium(chromium: E2E) -> None:
    process = chromium.start_cli("login", "--device")  # stopped after the test
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # the prompt comes before the CLI waits
        seen.append(line)
        if match := DEVICE_LINE.search(line):
            break
    else:
        pytest.fail("".join(seen))
    # The person types the code: open the plain verification URL, not the complete one.
    url = match["url"].split("?", 1)[0]
    start_chromium(chromium, url, mode="device", user_code=match["code"])
    stdout, _ = process.communicate(timeout=STEP_TIMEOUT)
    assert process.returncode == 0, "".join(seen)
    assert stdout.strip() == f"Logged in to {chromium.server.auth_domain} as ada@example.com."
    record = final_page(chromium)
    assert record["actions"][0] == "enter the user code"
    assert record["final_title"] == "Sign-in Success"


# --------------------------------------------------------------------------------------
# The browser outlives the login, and the test's end stops it: bounded, nothing left.


def test_chromium_stays_on_the_page_until_the_test_stops_it(chromium: E2E) -> None:
    from anaconda_auth_async.sync import login

    login()
    final_page(chromium)
    (pid_file,) = chromium.browser_log.glob("*.pid")  # still open on the success page
    pid = int(pid_file.read_text())
    assert processes_naming(chromium.browser_log), "Chromium is no longer running"

    started = time.monotonic()
    stop_browsers(chromium.browser_log)
    assert time.monotonic() - started < BROWSER_STOP_TIMEOUT + 5  # SIGKILL after the limit
    assert not any(chromium.browser_log.glob("*.pid"))
    assert processes_naming(chromium.browser_log) == []
    assert group_members(pid) == []  # the launcher's group: chromedriver, Chromium
    assert not is_running(pid)


def test_without_chromium_the_reason_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import chromium

    monkeypatch.setenv("E2E_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(
        chromium,
        "_ENV_DEFAULTS",
        {"chromium": "/nonexistent/chromium", "chromedriver": "/nonexistent/driver"},
    )
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    reason = chromium.chromium_missing_reason()
    assert reason is not None
    assert reason.startswith("chromium and chromedriver not found")
    assert "apt-get install chromium chromium-driver" in reason
