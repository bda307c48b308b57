"""The default presentation of a login (no ``on_event``), and opening a browser silently."""

from __future__ import annotations

import sys
import types
import webbrowser
from typing import Any

import pytest

from anaconda_auth_async import LoginEvent
from anaconda_auth_async.logins.flows.browser_opener import default_open_browser
from anaconda_auth_async.logins.presentation import Presentation, notebook_display

DEVICE = LoginEvent(
    kind="device_code",
    url="https://id.example.test/device?user_code=WDJB-MJHT",
    user_code="WDJB-MJHT",
    expires_in=600,
)
WAITING = LoginEvent(kind="waiting", message="Waiting for you to enter the code.")


def test_device_code_and_waiting_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    show = Presentation()
    for event in (
        LoginEvent(kind="browser", url="https://id.example.test/auth?x=1"),
        DEVICE,
        WAITING,
        WAITING,
        LoginEvent(kind="exchanging", message="Creating an API key."),
        LoginEvent(kind="done", message="Logged in."),
    ):
        show(event)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "To log in, visit https://id.example.test/device?user_code=WDJB-MJHT "
        "and enter the code WDJB-MJHT",
        "Waiting for you to enter the code; press Ctrl+C to cancel.",
    ]


def test_the_url_when_no_browser_opened(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://id.example.test/auth?" + "&".join(f"p{i}=v{i}" for i in range(60))
    show = Presentation()
    show(LoginEvent(kind="no_browser", url=url, message="No browser could be opened."))
    show(LoginEvent(kind="no_browser", message="No browser could be opened; using a code."))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"No browser could be opened; to log in, open {url}",  # long URLs are not cut
        "No browser could be opened; using a code.",
    ]


def test_provider_strings_lose_their_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Presentation()(
        LoginEvent(
            kind="device_code",
            url="https://evil.test/\x1b[2J\x1b]0;owned\x07device",
            user_code="AB\rCD\x1b[1A",
        )
    )
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\r" not in err
    assert "\x07" not in err
    assert err.count("\n") == 1


class FakeIPython:
    """IPython as a kernel sees it: get_ipython() has a kernel; display() records."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, kernel: bool = True) -> None:
        self.shown: list[dict[str, str]] = []
        shell = types.SimpleNamespace(kernel=object() if kernel else None)
        ipython = types.ModuleType("IPython")
        ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
        display_module = types.ModuleType("IPython.display")

        def display(data: dict[str, str], raw: bool = False) -> None:
            assert raw
            self.shown.append(data)

        display_module.display = display  # type: ignore[attr-defined]
        ipython.display = display_module  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "IPython", ipython)
        monkeypatch.setitem(sys.modules, "IPython.display", display_module)


def test_in_a_kernel_the_url_is_a_link(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ipython = FakeIPython(monkeypatch)
    show = Presentation()
    show(DEVICE)
    show(WAITING)
    assert capsys.readouterr().err == ""
    device, waiting = ipython.shown
    assert device["text/plain"].startswith("To log in, visit https://id.example.test/device")
    assert (
        '<a href="https://id.example.test/device?user_code=WDJB-MJHT" target="_blank" '
        'rel="noopener noreferrer">' in device["text/html"]
    )
    assert "interrupt the kernel to cancel" in waiting["text/plain"]


def test_in_a_kernel_only_http_urls_become_links(monkeypatch: pytest.MonkeyPatch) -> None:
    ipython = FakeIPython(monkeypatch)
    Presentation()(LoginEvent(kind="no_browser", url='javascript:alert("x")'))
    (shown,) = ipython.shown
    assert "<a " not in shown["text/html"]
    assert "&quot;" in shown["text/html"]


def test_plain_text_outside_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert notebook_display() is None
    FakeIPython(monkeypatch, kernel=False)  # a terminal IPython shell
    assert notebook_display() is None


# --- opening a browser ------------------------------------------------------------------


def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX commands")
def test_a_browser_command_that_fails_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "/bin/false")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    assert default_open_browser("https://example.test/") is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display variables")
def test_without_browser_or_display_nothing_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_display(monkeypatch)

    def fail(using: str | None = None) -> Any:
        raise AssertionError("webbrowser.get must not be asked")

    monkeypatch.setattr(webbrowser, "get", fail)
    assert default_open_browser("https://example.test/") is False


@pytest.mark.parametrize(("status", "opened"), [(1, False), (0, True)])
def test_a_desktop_opener_runs_silently_and_its_failure_is_seen(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], status: int, opened: bool
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    script = (
        "import sys; print('gio: ' + sys.argv[1] + ': Operation not supported', "
        f"file=sys.stderr); print('noise'); sys.exit({status})"
    )
    opener = webbrowser.BackgroundBrowser([sys.executable, "-c", script, "%s"])
    monkeypatch.setattr(webbrowser, "get", lambda using=None: opener)
    assert default_open_browser("https://example.test/") is opened
    out, err = capfd.readouterr()
    assert "gio:" not in err
    assert "noise" not in out


# --- the one renderer -------------------------------------------------------------------

HOSTILE = "https://evil.test/\x1b[2J\x1b]0;owned\x07\r\nError: forged\x9b1A"


@pytest.mark.parametrize(
    "event",
    [
        LoginEvent(kind="browser", url=HOSTILE),
        LoginEvent(kind="no_browser", url=HOSTILE),
        LoginEvent(kind="device_code", url=HOSTILE, user_code="AB\x1b[2J\nCD"),
        LoginEvent(kind="device_fallback", message="Port busy\x1b[2J\nforged"),
        LoginEvent(kind="waiting", message="Waiting\x1b[1A\r"),
    ],
    ids=lambda event: event.kind,
)
def test_every_event_renders_as_one_printable_line(event: LoginEvent) -> None:
    from anaconda_auth_async.logins.presentation import plain, render

    text = plain(render(event), code=lambda code: f"<{code}>")
    assert text
    assert text.isprintable(), repr(text)


def test_the_switch_to_a_device_code_is_its_own_event(capsys: pytest.CaptureFixture[str]) -> None:
    Presentation()(LoginEvent(kind="device_fallback", message="No browser could be opened"))
    assert capsys.readouterr().err == (
        "No browser could be opened, so the browser login has stopped; "
        "log in with a code instead.\n"
    )


def test_a_slow_server_is_named_once(capsys: pytest.CaptureFixture[str]) -> None:
    show = Presentation()
    slow = LoginEvent(kind="waiting_for_server", url="https://id.x", message="Waiting for id.x")
    show(slow)
    show(slow)
    assert capsys.readouterr().err == "Waiting for id.x…\n"
