"""Opening a login page in the person's browser, and knowing when that failed.

`default_open_browser` runs `webbrowser`'s background openers (``xdg-open``, ``gio``, ...)
itself, silently, and waits briefly for their verdict; ``BROWSER`` commands run as
`webbrowser` runs them (their exit status is the verdict, ``BROWSER=/bin/false`` fails).
Without ``BROWSER`` and without a display (`no_display`) nothing is tried at all. Why not
`webbrowser` alone: docs/decisions.md, "We run the browser openers ourselves".
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import webbrowser
from collections.abc import Callable

from ...foundation.errors import LoginError
from ...foundation.threads import in_worker_thread

__all__ = [
    "OPENER_VERDICT_SECONDS",
    "NoBrowserError",
    "can_try_browser",
    "default_open_browser",
    "no_display",
    "open_in_browser",
]

logger = logging.getLogger(__name__)

OPENER_VERDICT_SECONDS = 3.0
"""How long a background opener may take to fail; still running after that counts as opened."""

_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY")
_SSH_VARS = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")


class NoBrowserError(LoginError):
    """No browser could be opened, and the flow was told to give up then (``auto``)."""


def no_display() -> bool:
    """Whether this session has no screen a browser could open on (Linux and other Unix)."""
    if any(os.environ.get(name) for name in _DISPLAY_VARS):
        return False
    if any(os.environ.get(name) for name in _SSH_VARS):
        return True  # a browser would open on the remote machine's screen, if anywhere
    return not sys.platform.startswith(("win", "darwin", "cygwin"))


def can_try_browser() -> bool:
    """Whether opening a browser is worth trying: ``BROWSER`` is set, or there is a display."""
    return bool(os.environ.get("BROWSER")) or not no_display()


def default_open_browser(url: str) -> bool:
    """Open `url` in the browser (``BROWSER``, else the desktop's); False when none opened.

    Blocks up to `OPENER_VERDICT_SECONDS` (run it in a worker thread). Never prints.
    """
    if not can_try_browser():
        logger.info("No BROWSER and no display: not trying to open a browser")
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        logger.info("webbrowser found no browser to open")
        return False
    if type(browser) is webbrowser.BackgroundBrowser:
        return _run_quietly([browser.name, *(arg.replace("%s", url) for arg in browser.args)])
    return bool(browser.open(url))


def _run_quietly(command: list[str]) -> bool:
    """Start a background opener with no output; its failure within seconds is the answer."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:
        logger.info("Could not start %s (%s)", command[0], exc.strerror or type(exc).__name__)
        return False
    try:
        status = process.wait(OPENER_VERDICT_SECONDS)
    except subprocess.TimeoutExpired:
        return True  # still running: a browser, or an opener handing over to one
    if status != 0:
        logger.info("%s could not open a browser (exit status %s)", command[0], status)
    return status == 0


async def open_in_browser(opener: Callable[[str], bool], url: str) -> bool:
    """Run `opener` in a worker thread; whether it opened `url` (an error counts as not)."""
    try:
        # the caller's opener may reach the loop with anyio.from_thread
        return bool(await in_worker_thread(functools.partial(opener, url)))
    except Exception as exc:  # a broken opener must not end the login: the URL is shown
        logger.info("Could not open a browser (%s)", type(exc).__name__)
        return False
