"""What the ``anaconda-auth`` command line shows around the SDK: login progress, the
waiting indicator and prompts. Which exit code and ``Error:`` line a failure gets is the
CLI boundary's policy, in `exit_codes`.

Like `cli`, this module imports only click and the standard library at module level.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from .exit_codes import ExitCode

if TYPE_CHECKING:
    from ..logins.events import LoginEvent

__all__ = ["LoginUI", "confirm", "exit_on_interrupt", "prompt", "setup_logging"]

T = TypeVar("T")

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_FRAMES = "|/-\\"


# --- Ctrl-C during a prompt -------------------------------------------------------------

# A prompt blocks in a daemon thread (`in_daemon_thread`) that Ctrl-C cannot stop, and
# may have turned the terminal's echo off. So the terminal's state is saved before the
# prompt, and an interrupted run restores it and exits at once.
_tty_state: list[Any] | None = None
_blocked: set[object] = set()  # one token per prompt whose thread has not returned yet


def _save_tty() -> None:
    global _tty_state
    try:
        import termios  # Unix only: absent on Windows

        _tty_state = termios.tcgetattr(sys.stdin.fileno())
    except (ImportError, OSError, ValueError, AttributeError):
        _tty_state = None


@contextlib.contextmanager
def exit_on_interrupt() -> Iterator[None]:
    """Exit at once with 130 if interrupted while a prompt thread is still blocked."""
    try:
        yield
    except SystemExit as exc:
        if exc.code == ExitCode.INTERRUPTED and _blocked:
            if _tty_state is not None:
                with contextlib.suppress(Exception):
                    import termios  # Unix only: absent on Windows

                    termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, _tty_state)
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(int(ExitCode.INTERRUPTED))
        raise


async def _prompt_in_thread(func: Callable[[], T]) -> T:
    """Run a prompt in a daemon thread; Ctrl-C abandons it (see `exit_on_interrupt`)."""
    from ..foundation.threads import in_daemon_thread  # not for --help: once a command runs

    token = object()

    def call() -> T:
        _blocked.add(token)
        try:
            return func()
        finally:
            _blocked.discard(token)

    _save_tty()
    return await in_daemon_thread(call, name="anaconda-auth prompt")


async def prompt(text: str, *, hide_input: bool = False) -> str:
    """`click.prompt` on stderr, in a worker thread so the event loop keeps running."""
    answer = await _prompt_in_thread(lambda: click.prompt(text, hide_input=hide_input, err=True))
    return str(answer)


async def confirm(question: str) -> bool:
    """`click.confirm` (default no) on stderr, in a worker thread."""
    return bool(await _prompt_in_thread(lambda: click.confirm(question, default=False, err=True)))


# --- login progress ---------------------------------------------------------------------


class LoginUI:
    """Prints login events on stderr and draws a waiting indicator while the login runs.

    The indicator (a spinner and the seconds elapsed) is drawn only when
    `spinner_enabled` (stderr is a terminal), by a task that `run` starts next to the
    login and cancels when the login ends, clearing its line.
    """

    def __init__(
        self,
        *,
        spinner_enabled: bool,
        interval: float = 0.1,
        stream: IO[str] | None = None,
        qr: bool | None = None,
    ) -> None:
        self.spinner_enabled = spinner_enabled
        self.qr = qr
        """Draw the device login's URL as a QR code: None on a terminal wide enough."""
        self.interval = interval
        self._stream = stream
        self._waiting: str | None = None
        self._since = 0.0
        self._paused = False
        self._drawn = False
        self._said_waiting = False
        self._said_server = False
        self.logged_in = False
        """Whether a login completed (else `login()` kept the stored key)."""

    @property
    def stream(self) -> IO[str]:
        """Where progress goes: stderr unless another stream was given."""
        return self._stream if self._stream is not None else sys.stderr

    async def run(self, func: Callable[[], Awaitable[T]]) -> T:
        """Await ``func()`` with the waiting indicator running beside it."""
        import anyio  # not for --help: only once a command runs

        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            if self.spinner_enabled:
                tg.start_soon(self._spin)
            try:
                result = await func()
            except Exception as exc:  # re-raised below, not wrapped in an exception group
                error = exc
            finally:
                self._waiting = None
                tg.cancel_scope.cancel()
        if error is not None:
            raise error
        return result

    def on_event(self, event: LoginEvent) -> None:
        """Show one `LoginEvent` through the SDK's one renderer (`presentation.render`): the
        URL (and code) to use as lines, what is being waited for as the indicator."""
        from ..logins.presentation import plain, qr_text, render, wait_phrase  # not for --help

        waiting = wait_phrase(event)
        if event.kind == "done":
            self.logged_in = True
            self._waiting = None
            self._clear()
        elif event.kind == "already_logged_in":  # a result, not progress: on stdout
            self._clear()
            click.echo(plain(render(event)))
        elif event.kind == "waiting_for_server":  # said once: a slow server is not a hang
            if not self._said_server:
                self._said_server = True
                self.say(plain(render(event)))
        elif waiting is not None:
            self._wait(waiting, line=plain(render(event)) if event.kind == "waiting" else None)
        else:
            parts = render(event)
            if parts:
                self.say(plain(parts, code=lambda code: click.style(code, bold=True)))
            drawing = qr_text(event, self.stream, qr=self.qr)
            if drawing is not None:
                self.say(drawing)

    async def ask_credentials(self) -> tuple[str, str]:
        """Ask for the email and password (hidden) without blocking the event loop."""
        self._paused = True
        self._clear()
        try:
            username = await prompt("Email")
            password = await prompt("Password", hide_input=True)
        finally:
            self._paused = False
        return username, password

    async def confirm_relogin(self, token: object) -> bool:
        """Ask "Log in again?" (default no) when a usable key is stored: `login()`'s
        ``confirm_relogin`` callback in a terminal."""
        self._paused = True
        self._clear()
        try:
            return await confirm("Log in again?")
        finally:
            self._paused = False

    def say(self, text: str) -> None:
        """Print a line of progress on stderr, above the indicator."""
        self._clear()
        click.echo(text, file=self.stream)

    def _wait(self, phrase: str, *, line: str | None) -> None:
        """Show `phrase` on the indicator; without one, say `line` (if any) once."""
        if self._waiting is None:
            self._since = time.monotonic()
        self._waiting = phrase
        if line is not None and not self.spinner_enabled and not self._said_waiting:
            self._said_waiting = True
            self.say(line)

    async def _spin(self) -> None:
        import anyio  # not for --help: only once a command runs

        encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            _FRAMES.encode(encoding)
            frames = _FRAMES
        except (UnicodeEncodeError, LookupError):
            frames = _ASCII_FRAMES
        try:
            for tick in itertools.count():
                if self._waiting is not None and not self._paused:
                    elapsed = int(time.monotonic() - self._since)
                    frame = click.style(frames[tick % len(frames)], fg="cyan")
                    self._draw(f"{frame} {self._waiting}... {elapsed}s")
                await anyio.sleep(self.interval)
        finally:
            self._clear()

    def _draw(self, text: str) -> None:
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


# --- --verbose --------------------------------------------------------------------------


def setup_logging() -> Callable[[], None]:
    """Log this package at DEBUG (and other libraries at INFO) to stderr; returns the undo.

    Other libraries stay at INFO so that no HTTP header (an API key) is logged.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    ours = logging.getLogger("anaconda_auth_async")
    saved = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.DEBUG)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        ours.setLevel(saved[1])

    return undo


def log_warnings_as_lines() -> Callable[[], None]:
    """Without --verbose, this package's logged warnings as ``Warning: ...`` lines on stderr,
    like the Python warnings (instead of Python's bare last-resort output); returns the undo.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("Warning: %(message)s"))
    ours = logging.getLogger("anaconda_auth_async")
    saved = ours.propagate
    ours.addHandler(handler)
    ours.propagate = False

    def undo() -> None:
        ours.removeHandler(handler)
        ours.propagate = saved

    return undo
