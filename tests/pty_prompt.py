"""Ctrl-C at a password prompt, on a real pseudo-terminal (shared by the CLI and SDK tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass


@dataclass
class Interrupted:
    """What a script did when interrupted at its password prompt."""

    status: int | None  # the wait status, None when it did not exit
    output: bytes  # everything it wrote on the terminal
    echo_hidden_at_prompt: bool  # the terminal did not echo while the password was asked
    echo_restored: bool  # the terminal echoes again after it exited


def interrupt_at_password_prompt(script: str, *, timeout: float = 30.0) -> Interrupted:
    """Run `script` on a pseudo-terminal, answer ``Email:``, press Ctrl-C at ``Password:``."""
    import pty
    import select
    import termios

    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a threaded process may deadlock the child; this
        # child only calls execv, which is safe.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid, fd = pty.fork()
    if pid == 0:  # the child: run the script on the pseudo-terminal
        os.execv(sys.executable, [sys.executable, "-c", script])
    output = b""
    status: int | None = None
    deadline = time.monotonic() + timeout

    def read_until(needle: bytes | None) -> None:
        nonlocal output
        while (needle is None or needle not in output) and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    return
            elif needle is None:
                return

    try:
        read_until(b"Email: ")
        os.write(fd, b"ada@example.com\n")
        read_until(b"Password: ")
        hidden = b"Password: " in output and not termios.tcgetattr(fd)[3] & termios.ECHO
        os.kill(pid, signal.SIGINT)
        while status is None and time.monotonic() < deadline:
            read_until(None)  # drain, so the child never blocks writing
            done, code = os.waitpid(pid, os.WNOHANG)
            status = code if done else None
        read_until(None)
        restored = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return Interrupted(status, output, hidden, restored)


@dataclass
class Answered:
    """What a script did after a prompt on its terminal was answered."""

    status: int | None  # the exit code, None when it did not exit in time
    output: bytes  # everything it wrote on the terminal (stderr, the prompt)


def answer_at_prompt(
    script: str, prompt: bytes, answer: bytes, *, timeout: float = 60.0
) -> Answered:
    """Run `script` on a pseudo-terminal, type `answer` at `prompt`, wait for it to exit."""
    import pty
    import select

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # as above: the child only execs
        pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", script])
    output = b""
    status: int | None = None
    deadline = time.monotonic() + timeout
    answered = False
    try:
        while status is None and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):  # the child closed the terminal
                    output += os.read(fd, 4096)
            if not answered and prompt in output:
                os.write(fd, answer)
                answered = True
            done, code = os.waitpid(pid, os.WNOHANG)
            status = os.waitstatus_to_exitcode(code) if done else None
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return Answered(status, output)
