"""The default presentation of a login: what the person must do, when no ``on_event`` is given.

A login that waits for a person must say what it waits for, or it looks like a hang. So,
on stderr and nothing more:

- the device flow's URL and user code;
- the browser flow's URL when no browser could be opened;
- once, that it is waiting and how to cancel.

In a Jupyter (IPython) kernel these go to the cell's output instead, with the URL as a
clickable link (a rich display with a plain-text alternative). Every string the provider
supplied (URL, user code) is made one printable line first (`_text.one_line`): a hostile
provider cannot move the cursor or rewrite the terminal. `on_event=` replaces this;
``quiet=True`` silences it (see `_login.event_sink`).
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from typing import Any

from ._flows import LoginEvent
from ._text import one_line

__all__ = ["Presentation", "notebook_display"]

_URL_LIMIT = 4096  # authorize URLs are long; a cut one would not work

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


def _link(url: str) -> str:
    """`url` as an HTML link when it is http(s), else as escaped text."""
    escaped = html.escape(url, quote=True)
    if not url.lower().startswith(("https://", "http://")):
        return escaped
    return f'<a href="{escaped}" target="_blank" rel="noopener noreferrer">{escaped}</a>'


class Presentation:
    """The default `EventSink`: shows each step the person must take, once, on stderr.

    `display` shows rich output in a notebook (default: `notebook_display` when called in
    a kernel); `stream` is where plain text goes (default: `sys.stderr` at each write).
    """

    def __init__(self, *, display: Display | None = None, stream: Any = None) -> None:
        self._display = display if display is not None else notebook_display()
        self._stream = stream
        self._said_waiting = False

    def __call__(self, event: LoginEvent) -> None:
        """Show `event` if the person must know about it."""
        if event.kind == "device_code" and event.url and event.user_code:
            code = one_line(event.user_code, 64)
            self._show_url("To log in, visit", event.url, f"and enter the code {code}")
        elif event.kind == "no_browser" and event.url:
            self._show_url("No browser could be opened; to log in, open", event.url, "")
        elif event.kind == "no_browser":
            self._say(one_line(event.message or "No browser could be opened."))
        elif event.kind == "waiting" and not self._said_waiting:
            self._said_waiting = True
            how = "interrupt the kernel" if self._display is not None else "press Ctrl+C"
            self._say(f"Waiting for the login to complete; {how} to cancel.")

    def _show_url(self, before: str, url: str, after: str) -> None:
        url = one_line(url, _URL_LIMIT)
        text = " ".join(part for part in (before, url, after) if part)
        if self._display is None:
            self._say(text)
            return
        markup = " ".join(html.escape(p) if p != url else _link(p) for p in (before, url, after))
        self._display(text, markup.strip())

    def _say(self, text: str) -> None:
        if self._display is not None:
            self._display(text, html.escape(text))
            return
        stream = self._stream if self._stream is not None else sys.stderr
        if stream is None:  # pythonw: no console at all
            return
        print(text, file=stream, flush=True)
