"""A login with no ``on_event`` shows the person what to do, and that is enough to log in.

The scripted browser is ``BROWSER``: in the device flow the SDK opens the verification page
in it by itself. When no browser can be opened (``BROWSER=/bin/false``) the test reads the
URL (and code) from stderr, as a person would, and points the scripted browser at it.
"""

from __future__ import annotations

import threading
import time
import webbrowser

import anyio
import pytest
from conftest import E2E

from anaconda_auth_async import is_logged_in, login
from anaconda_auth_async import sync as sync_face

pytestmark = pytest.mark.e2e

LIMIT = 60


def device_line(err: str, e2e: E2E) -> tuple[str, str]:
    """The URL and user code of the line the device flow printed."""
    (line,) = [line for line in err.splitlines() if line.startswith("To log in, visit ")]
    url, code = line.removeprefix("To log in, visit ").split(" and enter the code ")
    assert url.startswith(f"{e2e.server.issuer}/device")
    return url, code


def no_browser(e2e: E2E) -> None:
    e2e.setenv("BROWSER", "/bin/false")
    e2e.monkeypatch.setattr(webbrowser, "_tryorder", None)


def wait_for_line(capsys: pytest.CaptureFixture[str], prefix: str) -> tuple[str, str]:
    """Poll what was written to stderr until a line starts with `prefix`; (line, all)."""
    seen = ""
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        seen += capsys.readouterr().err
        for line in seen.splitlines():
            if line.startswith(prefix):
                return line, seen
        time.sleep(0.05)
    raise AssertionError(f"no line starting with {prefix!r} on stderr: {seen!r}")


@pytest.mark.anyio
async def test_async_device_login_shows_the_code_and_opens_the_page(
    e2e: E2E, capsys: pytest.CaptureFixture[str]
) -> None:
    e2e.set_browser_mode("device")
    e2e.type_device_code()  # the page opened has no code: the person types it
    with anyio.fail_after(LIMIT):
        token = await login(flow="device")
    assert token.username == "ada@example.com"
    err = capsys.readouterr().err
    url, code = device_line(err, e2e)
    assert code in url  # the terminal shows the page with the code filled in
    assert "Waiting for you to enter the code; press Ctrl+C to cancel." in err
    (record,) = e2e.wait_for_browser()
    assert record["mode"] == "device"
    assert record["final_title"] == "Sign-in Success"


def test_sync_device_login_shows_the_code_and_opens_the_page(
    e2e: E2E, capsys: pytest.CaptureFixture[str]
) -> None:
    e2e.set_browser_mode("device")
    e2e.type_device_code()
    token = sync_face.login(flow="device", timeout=LIMIT)
    assert e2e.stored() == token
    device_line(capsys.readouterr().err, e2e)
    (record,) = e2e.wait_for_browser()
    assert record["final_title"] == "Sign-in Success"


@pytest.mark.anyio
async def test_async_browser_login_without_a_browser_shows_the_url(
    e2e: E2E, capsys: pytest.CaptureFixture[str]
) -> None:
    no_browser(e2e)
    prefix = "No browser could be opened; to log in, open "

    def person() -> None:
        line, _ = wait_for_line(capsys, prefix)
        e2e.run_browser(line.removeprefix(prefix), mode="approve")

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, person)
            token = await login(flow="browser")
    assert token.username == "ada@example.com"
    (record,) = e2e.browser_records()
    assert record["final_url"] == f"{e2e.server.api_origin}/local-login-success"


def test_sync_browser_login_without_a_browser_shows_the_url(
    e2e: E2E, capsys: pytest.CaptureFixture[str]
) -> None:
    no_browser(e2e)
    prefix = "No browser could be opened; to log in, open "
    failures: list[BaseException] = []

    def person() -> None:
        try:
            line, _ = wait_for_line(capsys, prefix)
            e2e.run_browser(line.removeprefix(prefix), mode="approve")
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    token = sync_face.login(flow="browser", timeout=LIMIT)
    thread.join(LIMIT)
    assert not failures
    assert e2e.stored() == token


@pytest.mark.anyio
async def test_auto_falls_back_to_a_code_when_the_browser_does_not_open(
    e2e: E2E, capsys: pytest.CaptureFixture[str]
) -> None:
    no_browser(e2e)

    def person() -> None:
        line, seen = wait_for_line(capsys, "To log in, visit ")
        assert (
            "No browser could be opened, so the browser login has stopped; log in with a code"
            in seen
        )
        url, code = device_line(line, e2e)
        e2e.run_browser(url, mode="device", user_code=code)

    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, person)
            await login(flow="auto")
    assert await is_logged_in()
