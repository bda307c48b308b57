"""The device login's URL as a QR code: in a terminal wide enough, forced with --qr,
never with --no-qr, and as an image beside the link in a notebook. The drawing is read
back into modules and compared with the QR code of the URL the provider gave."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
from collections.abc import Iterator
from typing import IO, Any

import pytest
import segno
from cli_runner import run

from anaconda_auth_async import LoginEvent, sync
from anaconda_auth_async.logins.presentation import Presentation, qr_markup, qr_text, qr_url
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store

URL = "https://id.example/device?user_code=WDJB-MJHT"
DEVICE = LoginEvent(kind="device_code", url=URL, user_code="WDJB-MJHT")
_HALVES = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}  # light modules drawn


def modules(drawing: str) -> list[list[int]]:
    """The drawing read back as rows of dark (1) and light (0) modules."""
    rows: list[list[int]] = []
    for line in drawing.replace("\x1b[97;40m", "").replace("\x1b[0m", "").split("\n"):
        top, bottom = zip(*(_HALVES[c] for c in line), strict=False)
        rows += [[1 - m for m in top], [1 - m for m in bottom]]
    return rows


def expected(url: str) -> list[list[int]]:
    code = segno.make(url, error="m", micro=False)
    rows = [[int(bool(m)) for m in row] for row in code.matrix_iter(border=2)]
    return [*rows, [1] * len(rows[0])] if len(rows) % 2 else rows  # the terminal's own


@pytest.fixture
def terminal() -> Iterator[Any]:
    """A real terminal (a pty) as the stream, 100 columns wide until resized."""
    main, side = os.openpty()
    stream = open(side, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    resize(stream, 100)
    try:
        yield stream
    finally:
        stream.close()
        os.close(main)


def resize(stream: IO[str], columns: int) -> None:
    fcntl.ioctl(stream.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))


def test_only_a_device_code_has_a_qr_url() -> None:
    assert qr_url(DEVICE) == URL
    assert qr_url(LoginEvent(kind="browser", url=URL)) is None
    assert qr_url(LoginEvent(kind="device_code", url="javascript:alert(1)", user_code="X")) is None


def test_a_terminal_wide_enough_gets_the_code_of_the_url(terminal: Any) -> None:
    drawing = qr_text(DEVICE, terminal)
    assert drawing is not None
    assert drawing.startswith("\x1b[97;40m")  # white on black on any theme
    assert modules(drawing) == expected(URL)
    resize(terminal, 30)
    assert qr_text(DEVICE, terminal) is None  # too narrow: the URL line is enough
    assert qr_text(DEVICE, terminal, qr=True) is not None
    assert qr_text(DEVICE, terminal, qr=False) is None


def test_not_a_terminal_only_when_forced() -> None:
    stream = io.StringIO()
    assert qr_text(DEVICE, stream) is None
    drawing = qr_text(DEVICE, stream, qr=True)
    assert drawing is not None
    assert "\x1b" not in drawing
    assert modules(drawing) == expected(URL)


def test_a_stream_without_block_characters_gets_none(terminal: Any) -> None:
    ascii_stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert qr_text(DEVICE, ascii_stream, qr=True) is None


def test_presentation_draws_it_under_the_line_on_a_terminal(terminal: Any) -> None:
    Presentation(stream=terminal)(DEVICE)  # must not raise; what it drew is checked below
    stream = io.StringIO()
    Presentation(stream=stream, qr=True, display=None)(DEVICE)
    text = stream.getvalue()
    assert text.startswith(f"To log in, visit {URL} and enter the code WDJB-MJHT\n")
    assert modules(text.split("\n", 1)[1].rstrip("\n")) == expected(URL)


def test_notebook_shows_an_image_beside_the_link() -> None:
    shown: list[tuple[str, str]] = []
    Presentation(display=lambda text, markup: shown.append((text, markup)))(DEVICE)
    ((text, markup),) = shown
    assert text == f"To log in, visit {URL} and enter the code WDJB-MJHT"
    assert f'<a href="{URL}"' in markup
    assert '<img src="data:image/png;base64,' in markup
    assert f'alt="QR code of {URL}"' in markup
    assert qr_markup(LoginEvent(kind="waiting")) == ""


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with use_store(MemoryTokenStore()), use_platform(FakePlatform()) as fake:
        yield fake


def test_login_qr_draws_the_providers_complete_url(platform: FakePlatform) -> None:
    result = run("login", "--device", "--qr")
    assert result.exit_code == 0, result.output
    first, rest = result.stderr.split("\n", 1)
    url = first.split("visit ", 1)[1].split(" ", 1)[0]
    assert url.endswith("/device?user_code=ABCD-EFGH")
    drawing = "\n".join(line for line in rest.split("\n") if line and set(line) <= set(_HALVES))
    assert modules(drawing) == expected(url)


def test_login_no_qr_and_the_default_in_a_pipe(platform: FakePlatform) -> None:
    for args in (["--no-qr"], []):
        result = run("login", "--device", "--force", *args)
        assert result.exit_code == 0, result.output
        assert "▀" not in result.stderr
        assert "█" not in result.stderr


def test_with_token_refuses_qr(platform: FakePlatform) -> None:
    result = run("login", "--with-token", "--qr")
    assert result.exit_code == 2
    assert "drop --qr" in result.stderr


def test_the_library_login_draws_it_through_its_presentation(platform: FakePlatform) -> None:
    stream = io.StringIO()
    sync.login(flow="device", on_event=Presentation(stream=stream, qr=True))
    first, rest = stream.getvalue().split("\n", 1)
    url = first.split("visit ", 1)[1].split(" ", 1)[0]
    drawing = "\n".join(line for line in rest.split("\n") if line and set(line) <= set(_HALVES))
    assert modules(drawing) == expected(url)
