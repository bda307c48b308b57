"""What a login says to a person: the one renderer of `LoginEvent`, and the default presentation.

`render` turns an event into the words a person reads, as `Part`s (text, a URL, a code),
with every string the provider supplied and every message made one printable line first
(`safe_text.one_line`); `wait_phrase` is the short form a waiting indicator shows. Both
faces of a login print what `render` returns and nothing else: `Presentation` (the
library's default `EventSink`, used when ``login()`` gets no ``on_event``: stderr, or in a
notebook the cell's output with a clickable link and a QR code) and the ``anaconda-auth``
command line (`command_line.terminal`). ``on_event=`` replaces it; ``quiet=True`` silences
it (see `login.event_sink`). Why: docs/decisions.md, "One renderer of login events, and a
default that speaks only where a person must act".
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..foundation.safe_text import one_line
from .events import LoginEvent

__all__ = [
    "Part",
    "Presentation",
    "notebook_display",
    "plain",
    "qr_markup",
    "qr_text",
    "qr_url",
    "render",
    "wait_phrase",
]

_URL_LIMIT = 4096  # authorize URLs are long; a cut one would not work
_CODE_LIMIT = 64


@dataclass(frozen=True)
class Part:
    """One piece of what a login event says: plain words, a URL, or a code to type."""

    text: str
    role: Literal["text", "url", "code"] = "text"


_MESSAGE_LIMIT = 1000  # a message may quote a path and a parser's reason


def _phrase(message: str | None, default: str) -> str:
    """A message of ours or a caller's, one line, without its final period."""
    return one_line(message or "", _MESSAGE_LIMIT).rstrip(". ") or default


def render(event: LoginEvent, *, cancel: str = "press Ctrl+C") -> tuple[Part, ...]:
    """What `event` tells a person, every part one printable line (empty: nothing to say).

    `cancel` is how the person cancels (``"interrupt the kernel"`` in a notebook).
    """
    kind = event.kind
    url = Part(one_line(event.url, _URL_LIMIT), "url") if event.url else None
    if kind == "browser" and url is not None:
        return (Part("Opening your browser to log in. If it does not open, visit:"), url)
    if kind == "no_browser" and url is not None:
        return (Part("No browser could be opened; to log in, open"), url)
    if kind == "no_browser":
        return (Part(_phrase(event.message, "No browser could be opened") + "."),)
    if kind == "device_fallback":
        why = _phrase(event.message, "The browser login is not possible here")
        return (Part(f"{why}, so the browser login has stopped; log in with a code instead."),)
    if kind == "device_code" and url is not None and event.user_code:
        code = Part(one_line(event.user_code, _CODE_LIMIT), "code")
        return (Part("To log in, visit"), url, Part("and enter the code"), code)
    if kind == "waiting":
        return (Part(f"{_phrase(event.message, 'Waiting for the login')}; {cancel} to cancel."),)
    if kind == "waiting_for_server":  # our words, around the server's (cleaned) name
        server = _phrase(event.message, f"Waiting for {one_line(event.url or 'the server')}")
        return (Part(f"{server}…"),)
    message = _phrase(event.message, "")  # any other event: its message, if it has one
    return (Part(f"{message}."),) if message else ()


def wait_phrase(event: LoginEvent) -> str | None:
    """What a waiting indicator shows during `event` ("Creating an API key"), if anything."""
    if event.kind == "waiting":
        return _phrase(event.message, "Waiting for the login")
    if event.kind == "exchanging":
        return _phrase(event.message, "Creating an API key")
    return None


def plain(parts: tuple[Part, ...], *, code: Callable[[str], str] | None = None) -> str:
    """`parts` as one line of text; `code` styles the code to type (bold on a terminal)."""
    return " ".join(code(p.text) if code and p.role == "code" else p.text for p in parts)


def qr_url(event: LoginEvent) -> str | None:
    """The URL to draw as a QR code beside `event`: a device login's verification URL (the
    complete one, carrying the code, when the provider gives it), so a phone can open it."""
    if event.kind != "device_code" or not event.url or not event.user_code:
        return None
    url = one_line(event.url, _URL_LIMIT)
    return url if url.lower().startswith(("https://", "http://")) else None


def qr_text(event: LoginEvent, stream: Any, *, qr: bool | None = None) -> str | None:
    """The QR code to print under `event` on `stream`, if any.

    `qr` None (the default): only on a terminal wide enough for it; True: always (in
    colour only on a terminal); False: never. None also when the stream's encoding has no
    block characters or the URL is too long to scan.
    """
    url = qr_url(event)
    if url is None or qr is False:
        return None
    from .qr_code import terminal_qr, terminal_width  # segno only when a code is drawn

    width = terminal_width(stream)
    if qr is None and width is None:
        return None
    drawing = terminal_qr(url, columns=None if qr else width, colour=width is not None)
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        if drawing is not None:
            "\u2580\u2584\u2588".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return None
    return drawing


def qr_markup(event: LoginEvent) -> str:
    """HTML of the QR code image to show beside `event`'s link in a notebook ('' if none)."""
    url = qr_url(event)
    if url is None:
        return ""
    from .qr_code import png_data_uri  # segno only when a code is drawn

    uri = png_data_uri(url)
    if uri is None:
        return ""
    return (
        f'<br><img src="{uri}" alt="QR code of {html.escape(url, quote=True)}" '
        'style="image-rendering: pixelated" width="164">'
    )


Display = Callable[[str, str], None]
"""Shows ``(plain_text, html)`` in a notebook's output."""


def notebook_display() -> Display | None:
    """A function showing rich output in the running IPython kernel, or None outside one.

    IPython is only looked at when already imported (a kernel imports it): a script never
    pays for importing it. A terminal IPython shell has no kernel and gets plain text.
    """
    ipython: Any = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        from IPython.display import display  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None

    def show(text: str, markup: str) -> None:
        display({"text/plain": text, "text/html": markup}, raw=True)

    return show


def _markup(part: Part) -> str:
    """`part` as HTML: an http(s) URL as a link, anything else as escaped text."""
    escaped = html.escape(part.text, quote=True)
    if part.role != "url" or not part.text.lower().startswith(("https://", "http://")):
        return escaped
    return f'<a href="{escaped}" target="_blank" rel="noopener noreferrer">{escaped}</a>'


class Presentation:
    """The default `EventSink`: shows each step the person must take, once, on stderr.

    `display` shows rich output in a notebook (default: `notebook_display` when called in
    a kernel); `stream` is where plain text goes (default: `sys.stderr` at each write).
    """

    SHOWN = frozenset({"device_code", "no_browser", "device_fallback"})
    """The events shown every time; ``waiting`` and ``waiting_for_server`` are shown once,
    ``logging_in`` when it has
    something to say (a damaged file set aside, a key renewed or replaced)."""

    def __init__(
        self, *, display: Display | None = None, stream: Any = None, qr: bool | None = None
    ) -> None:
        self._display = display if display is not None else notebook_display()
        self._stream = stream
        self._said: set[str] = set()
        self._qr = qr

    def __call__(self, event: LoginEvent) -> None:
        """Show `event` if the person must know about it."""
        if event.kind in ("waiting", "waiting_for_server"):  # once each: not a hang
            if event.kind in self._said:
                return
            self._said.add(event.kind)
        elif event.kind not in self.SHOWN and not (event.kind == "logging_in" and event.message):
            return
        cancel = "interrupt the kernel" if self._display is not None else "press Ctrl+C"
        parts = render(event, cancel=cancel)
        if parts:
            self._show(parts, event)

    def _show(self, parts: tuple[Part, ...], event: LoginEvent) -> None:
        text = plain(parts)
        if self._display is not None:
            markup = " ".join(_markup(part) for part in parts)
            self._display(text, markup + (qr_markup(event) if self._qr is not False else ""))
            return
        stream = self._stream if self._stream is not None else sys.stderr
        if stream is None:  # pythonw: no console at all
            return
        print(text, file=stream, flush=True)
        drawing = qr_text(event, stream, qr=self._qr)
        if drawing is not None:
            print(drawing, file=stream, flush=True)
