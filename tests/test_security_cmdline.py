"""Security round 2, finding 1: no secret of a login on any command line.

The review's attack: the browser was started with the full authorization URL (``state``,
``code_challenge``) as its argument, readable by every user in ``/proc/PID/cmdline``; a
second user caught it, completed the login at the provider as themselves, and the victim
was logged in to the attacker's account. The device flow opened the page with the
``user_code`` filled in, which the attacker approved as themselves.

Here a second process polls ``/proc/*/cmdline`` (as another user can) during a real login
whose browser is a real process started through ``BROWSER``; the login itself runs the
SDK's real flow against the test kit's provider. The watcher must see the browser's
command line (so it would have caught a secret) and find in it neither the ``state``, the
PKCE challenge, nor the user code. A second fetch of the single-use start link stops the
login with one sentence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
import httpx
import pytest

import anaconda_auth_async
from anaconda_auth_async import AnacondaAuthSettings, LoginError
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")

LIMIT = 30

WATCHER = """
import json, os, sys, time
out, stop = sys.argv[1], sys.argv[2]
seen = set()
deadline = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < deadline:
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    seen.add(f.read().replace(b"\\0", b" ").decode("utf-8", "replace"))
            except OSError:
                pass
    time.sleep(0.005)
with open(out, "w") as f:
    json.dump(sorted(seen), f)
"""

# A browser that lives a second (long enough to be seen) and says what it was given.
BROWSER = """
import sys, time
open(sys.argv[1], "a").write(sys.argv[2] + "\\n")
time.sleep(1.0)
"""


class Watcher:
    """Another process reading every command line on the machine, from start to stop."""

    def __init__(self, tmp_path: Path) -> None:
        self.out, self.stop_file = tmp_path / "seen.json", tmp_path / "stop"
        self.process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WATCHER), str(self.out), str(self.stop_file)]
        )

    def stop(self) -> list[str]:
        self.stop_file.touch()
        self.process.wait(LIMIT)
        return list(json.loads(self.out.read_text()))


def fake_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log, script = tmp_path / "opened.log", tmp_path / "browser.py"
    script.write_text(textwrap.dedent(BROWSER))
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} {log} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setenv("DISPLAY", ":0")  # a desktop session: the browser is tried
    return log


def wait_for_line(log: Path) -> str:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().strip():
            return log.read_text().splitlines()[0]
        time.sleep(0.02)
    raise AssertionError("the browser was never started")


async def first_line(log: Path) -> str:
    return await anyio.to_thread.run_sync(wait_for_line, log)


@pytest.mark.anyio
async def test_finding1_browser_login_puts_no_state_on_any_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_browser(tmp_path, monkeypatch)
    platform = FakePlatform()
    settings = platform.settings(ephemeral_port=True)
    authorize: list[str] = []
    watcher = Watcher(tmp_path)
    await anyio.sleep(0.2)  # the watcher is polling before the login starts

    async def person() -> None:
        # What the browser does next, done here: follow the link, log in at the provider.
        start = await first_line(log)
        authorize.append(await anyio.to_thread.run_sync(platform.follow_start, start))
        await anyio.to_thread.run_sync(platform.redirect, authorize[0])

    with use_store(MemoryTokenStore()), use_platform(platform), anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(person)
            token = await anaconda_auth_async.login(settings=settings, flow="browser", quiet=True)
    seen = watcher.stop()
    assert token.api_key
    query = parse_qs(urlsplit(authorize[0]).query)
    state, challenge = query["state"][0], query["code_challenge"][0]
    browsers = [line for line in seen if str(log) in line]  # this test's browser only
    assert browsers, "the watcher never saw the browser: it would have missed a secret too"
    # The browser got the single-use loopback link. (Other programs may read BROWSER too:
    # xdg-open runs `which` on its unformatted "... %s" under load; they hold no secret.)
    assert any("127.0.0.1" in line for line in browsers), browsers
    leaked = [line for line in seen if state in line or challenge in line]
    assert leaked == []


@pytest.mark.anyio
async def test_finding1_device_login_puts_no_user_code_on_any_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = fake_browser(tmp_path, monkeypatch)
    platform = FakePlatform()
    settings = platform.settings()
    watcher = Watcher(tmp_path)
    await anyio.sleep(0.2)
    with use_store(MemoryTokenStore()), use_platform(platform), anyio.fail_after(LIMIT):
        await anaconda_auth_async.login(settings=settings, flow="device")  # opens the page
    seen = watcher.stop()
    device = [r for r in platform.requests if r.url.path.endswith("/device/auth")]
    assert device
    [opened] = log.read_text().splitlines()
    assert opened == f"{platform.issuer}/device"  # the plain page
    code = user_code(capsys.readouterr().err)
    assert code  # the person reads the code on the terminal
    browsers = [line for line in seen if str(log) in line]  # this test's browser only
    assert browsers, "the watcher never saw the browser: it would have missed a secret too"
    assert [line for line in seen if code in line] == []


def user_code(err: str) -> str:
    """The user code the default presentation printed (the fake's codes look like XXXX-XXXX)."""
    import re

    match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", err)
    return match.group(1) if match else ""


@pytest.mark.anyio
async def test_finding1_a_second_fetch_of_the_start_link_stops_the_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_browser(tmp_path, monkeypatch)
    platform = FakePlatform()
    settings: AnacondaAuthSettings = platform.settings(ephemeral_port=True)
    answers: list[httpx.Response] = []

    async def two_fetches() -> None:
        start = await first_line(log)

        def fetch_twice() -> None:
            with httpx.Client(trust_env=False) as client:
                answers.append(client.get(start))  # the browser (or whoever came first)
                answers.append(client.get(start))  # someone else who read the link

        await anyio.to_thread.run_sync(fetch_twice)

    errors: list[LoginError] = []
    with use_store(MemoryTokenStore()) as store, use_platform(platform), anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(two_fetches)
            try:
                await anaconda_auth_async.login(settings=settings, flow="browser", quiet=True)
            except LoginError as exc:
                errors.append(exc)
    assert [a.status_code for a in answers] == [302, 410]
    [error] = errors
    message = str(error)
    assert "opened twice" in message
    assert "run it again" in message
    assert message.count(".") <= 2  # one sentence
    assert store.load(platform.auth_domain) is None  # nothing stored
