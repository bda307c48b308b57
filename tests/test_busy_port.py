"""A redirect port another program holds: ``auto`` logs in with a device code instead,
saying why in one line; an explicit browser login fails naming the port, the process
holding it (where it can be found) and the settings to change."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import anaconda_auth_async
from anaconda_auth_async import LoginError, LoginEvent
from anaconda_auth_async.foundation.process_finder import describe_process, port_holder
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore

LINUX = sys.platform.startswith("linux") and Path("/proc/net/tcp").exists()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.skipif(not LINUX, reason="the holder is looked up in /proc (Linux)")
def test_the_process_holding_a_port_is_named(busy_port: int) -> None:
    assert port_holder(busy_port) == os.getpid()
    assert describe_process(os.getpid()).startswith(f"process {os.getpid()} (")


def test_a_free_port_has_no_holder() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening
    assert port_holder(port) is None
    assert port_holder(port, proc=Path("/nonexistent")) is None


@pytest.mark.anyio
async def test_auto_logs_in_with_a_device_code_saying_why(
    isolated_env: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER", "true")  # a browser could be opened: auto picks it first
    platform = FakePlatform()
    events: list[LoginEvent] = []
    store = MemoryTokenStore()
    token = await anaconda_auth_async.login(
        settings=platform.settings(redirect_uri=f"http://127.0.0.1:{busy_port}/auth/oidc"),
        store=store,
        on_event=events.append,
        open_browser=platform.open_browser,
        transport=platform.transport,
    )
    assert token.api_key in platform.minted
    kinds = [e.kind for e in events]
    assert "browser" not in kinds  # the browser login never started
    assert kinds.count("device_fallback") == 1
    assert kinds.index("device_fallback") < kinds.index("device_code")
    why = events[kinds.index("device_fallback")].message or ""
    assert why.startswith(f"Port {busy_port} for the login redirect is in use")
    if LINUX:
        assert f"in use by process {os.getpid()} (" in why


@pytest.mark.anyio
async def test_an_explicit_browser_login_names_the_port_the_process_and_the_settings(
    isolated_env: Path, busy_port: int
) -> None:
    platform = FakePlatform()
    store = MemoryTokenStore()
    with pytest.raises(LoginError) as caught:
        await anaconda_auth_async.login(
            settings=platform.settings(redirect_uri=f"http://127.0.0.1:{busy_port}/auth/oidc"),
            store=store,
            flow="browser",
            quiet=True,
            open_browser=platform.open_browser,
            transport=platform.transport,
        )
    message = str(caught.value)
    assert f"port {busy_port} on 127.0.0.1 is already in use" in message
    if LINUX:
        assert f"already in use by process {os.getpid()} (" in message
    assert "ANACONDA_AUTH_REDIRECT_URI" in message
    assert "ANACONDA_AUTH_EPHEMERAL_PORT=true" in message
    assert "--device" in message
    assert store.domains == []


def test_the_cli_says_why_in_one_line_and_logs_in_with_a_code(
    isolated_env: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli_runner import run

    from anaconda_auth_async.testing import use_platform
    from anaconda_auth_async.testkit.seal import with_environment

    monkeypatch.setenv("BROWSER", "true")
    monkeypatch.setenv("ANACONDA_AUTH_REDIRECT_URI", f"http://127.0.0.1:{busy_port}/auth/oidc")
    # the kit listens on a free port; this test asks for the fixed one, inside the kit
    with use_platform(FakePlatform()), with_environment({"ANACONDA_AUTH_EPHEMERAL_PORT": "false"}):
        result = run("login")
        assert result.exit_code == 0, result.stderr
        lines = [line for line in result.stderr.splitlines() if "is in use" in line]
        assert len(lines) == 1
        assert lines[0].startswith(f"Port {busy_port} for the login redirect is in use")
        assert "log in with a code instead" in lines[0]
        failed = run("login", "--browser", "--force")
    assert failed.exit_code != 0
    assert "Traceback" not in failed.stderr
    assert f"port {busy_port} on 127.0.0.1 is already in use" in failed.stderr
