"""The device login's verification URL as a QR code: in a terminal, or as a notebook image.

Drawn by segno (pure Python, no dependencies; ISO/IEC 18004 encoding), imported on use:
only a device login that shows a code pays for it. In a terminal, two modules per
character cell (Unicode half blocks), light modules drawn as blocks; on a terminal the
drawing is set in white on black, so it reads the same on light and dark themes.
"""

from __future__ import annotations

import io
import os

__all__ = ["MAX_URL", "png_data_uri", "terminal_qr", "terminal_width"]

MAX_URL = 512
"""Longer URLs are not drawn: the code would be too dense to scan from a screen."""

_BORDER = 2  # quiet zone in modules; phone cameras read 2 on a screen
_ON_TERMINAL = ("\x1b[97;40m", "\x1b[0m")


def terminal_width(stream: object) -> int | None:
    """The width in columns of the terminal `stream` writes to, None when it is not one."""
    try:
        fileno = stream.fileno()  # type: ignore[attr-defined]
        if not os.isatty(fileno):
            return None
        return os.get_terminal_size(fileno).columns
    except (AttributeError, OSError, ValueError):
        return None


def terminal_qr(url: str, *, columns: int | None, colour: bool = True) -> str | None:
    """`url` as a QR code of Unicode half blocks, lines joined by newlines; None when it
    does not fit in `columns` (None: any width) or the URL is too long to scan."""
    if not url or len(url) > MAX_URL:
        return None
    import segno  # on use: only a device login that shows its code draws one

    code = segno.make(url, error="m", micro=False)
    width, _ = code.symbol_size(border=_BORDER)
    if columns is not None and width > columns:
        return None
    out = io.StringIO()
    code.terminal(out=out, compact=True, border=_BORDER)
    lines = out.getvalue().rstrip("\n").split("\n")
    if colour:
        start, end = _ON_TERMINAL
        lines = [f"{start}{line}{end}" for line in lines]
    return "\n".join(lines)


def png_data_uri(url: str) -> str | None:
    """`url` as a QR code PNG ``data:`` URI, for an ``<img>`` in a notebook; None when the
    URL is too long to scan."""
    if not url or len(url) > MAX_URL:
        return None
    import segno  # on use, as above

    uri: str = segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=_BORDER)
    return uri
