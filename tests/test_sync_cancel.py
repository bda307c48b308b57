"""Stopping a pending blocking login from another thread (a GUI's Cancel button).

anaconda-cloud-auth 0.6 had ``shutdown_all_servers()``; here `sync.cancel_logins()` stops
every pending blocking `login` and `create_api_key`: each raises `LoginCancelledError`
in its own thread, its redirect listener closed, nothing stored.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from anaconda_auth_async import LoginCancelledError, LoginError, LoginEvent, TokenInfo, sync
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, make_api_key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_nothing_pending_cancels_nothing() -> None:
    assert sync.cancel_logins() == 0


@pytest.mark.parametrize("flow", ["browser", "device"])
def test_a_pending_login_is_stopped_from_another_thread(isolated_env: Path, flow: str) -> None:
    platform = FakePlatform()
    platform.approve_device = False  # the device login waits for a person forever
    port = _free_port()
    old = TokenInfo(domain="id.anaconda.cloud", api_key=make_api_key())
    store = MemoryTokenStore({"old": old})
    waiting = threading.Event()
    outcome: list[BaseException | TokenInfo] = []

    def on_event(event: LoginEvent) -> None:
        if event.kind == "waiting" or event.kind == "device_code":
            waiting.set()

    def blocked_thread() -> None:
        try:
            outcome.append(
                sync.login(
                    settings=platform.settings(redirect_uri=f"http://127.0.0.1:{port}/cb"),
                    store=store,
                    force=True,
                    flow=flow,  # type: ignore[arg-type]
                    on_event=on_event,
                    open_browser=lambda url: True,  # opened, and nobody logs in
                    transport=platform.transport,
                    timeout=60,
                )
            )
        except BaseException as exc:  # what the thread saw
            outcome.append(exc)

    thread = threading.Thread(target=blocked_thread)
    thread.start()
    assert waiting.wait(30), "the login never started waiting"
    assert sync.cancel_logins() == 1
    thread.join(30)
    assert not thread.is_alive()
    (error,) = outcome
    assert isinstance(error, LoginCancelledError)
    assert isinstance(error, LoginError)
    assert "cancel_logins()" in str(error)
    assert store.load("id.anaconda.cloud") == old  # nothing stored, the old key kept
    with socket.socket() as sock:  # the redirect listener is closed
        sock.bind(("127.0.0.1", port))
    assert sync.cancel_logins() == 0
