"""The resource-owner password grant: deprecated, kept for anaconda-cloud-auth's ``basic=True``.

The caller's ``ask_credentials`` callback supplies the user name and password: a plain
function runs in a worker thread (it may block on a terminal prompt without stalling the
event loop); a coroutine function is awaited. Without one, as anaconda-cloud-auth did, the
flow asks on the terminal (`ask_on_terminal`: the user name echoed, the password not),
and without a terminal it fails saying to pass ``ask_credentials``. The password is sent
once, to the token endpoint, and is never logged or put in an error message. The
deprecation warning is `login`'s to give (it points at the caller's line).
"""

from __future__ import annotations

import contextlib
import getpass
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...foundation.errors import LoginDeniedError, LoginError
from ...foundation.safe_text import json_object
from ...foundation.threads import in_daemon_thread, in_worker_thread
from ..events import SCOPE, FlowResult
from .token_request import form_secrets, parse_token_response, post_token_request, token_form

if TYPE_CHECKING:
    import httpx

    from ...settings.fields import AnacondaAuthSettings
    from ..provider import ProviderMetadata

__all__ = [
    "CredentialsCallback",
    "ask_on_terminal",
    "password_flow",
    "password_token_request",
    "stdin_is_terminal",
]


logger = logging.getLogger(__name__)

CredentialsCallback = Callable[[], "tuple[str, str] | Awaitable[tuple[str, str]]"]
"""Returns ``(username, password)``, or an awaitable of it; called once per login."""


def password_token_request(settings: AnacondaAuthSettings, username: str, password: str) -> str:
    """The urlencoded body of the password grant (RFC 6749 section 4.3.2)."""
    return token_form(
        "password",
        username=username,
        password=password,
        client_id=settings.client_id,
        scope=SCOPE,
    )


async def _ask(ask_credentials: CredentialsCallback) -> tuple[str, str]:
    if inspect.iscoroutinefunction(ask_credentials):
        result: Any = await ask_credentials()
    else:
        result = await in_worker_thread(ask_credentials)  # may use anyio.from_thread
        if inspect.isawaitable(result):
            result = await result
    if (
        not isinstance(result, tuple)
        or len(result) != 2
        or not all(isinstance(part, str) and part for part in result)
    ):
        raise LoginError(
            "The credentials callback did not return a (username, password) pair of "
            "non-empty strings; return both to log in with a password."
        )
    return result[0], result[1]


def stdin_is_terminal() -> bool:
    """Whether a person can answer a prompt on this process's terminal (tests replace it)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # stdin closed
        return False


def _read_username() -> str:
    print("Email: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def _read_password() -> str:
    return getpass.getpass("Password: ", stream=sys.stderr)


def _terminal_state() -> Any:
    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):
        import termios  # Unix only: absent on Windows

        return termios.tcgetattr(sys.stdin.fileno())
    return None


def _restore_terminal(state: Any) -> None:
    if state is None:
        return
    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):
        import termios  # Unix only: absent on Windows

        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, state)
        print(file=sys.stderr, flush=True)  # end the line the prompt was on


async def ask_on_terminal() -> tuple[str, str]:
    """Ask for the email (echoed) and the password (hidden) on the terminal, on stderr.

    Interrupting it (Ctrl+C, a cancel scope) puts the terminal back as it was.
    """
    state = _terminal_state()
    try:
        username = await in_daemon_thread(_read_username, name="anaconda-auth prompt")
        password = await in_daemon_thread(_read_password, name="anaconda-auth prompt")
    except BaseException:
        _restore_terminal(state)
        raise
    return username.strip(), password


def _error_code(body: bytes) -> str | None:
    error = (json_object(body) or {}).get("error")
    return error if isinstance(error, str) else None


async def password_flow(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    *,
    ask_credentials: CredentialsCallback | None,
) -> FlowResult:
    """Log in with a user name and password (deprecated); return the provider's tokens.

    Without `ask_credentials` it asks on the terminal (`ask_on_terminal`). Raises
    `LoginError` without a callback and without a terminal, or when the provider fails,
    and `LoginDeniedError` when the credentials are not accepted.
    """
    if ask_credentials is None:
        if not stdin_is_terminal():
            raise LoginError(
                "The password login asks for your email and password on a terminal, and "
                "there is none; pass ask_credentials= (a callable returning (username, "
                "password)), or log in with the browser or a device code."
            )
        ask_credentials = ask_on_terminal
    username, password = await _ask(ask_credentials)
    endpoint = metadata.token_endpoint
    form = password_token_request(settings, username, password)
    response = await post_token_request(http, endpoint, form)
    status, error = response.status_code, _error_code(response.content)
    # invalid_grant is RFC 6749's answer to bad credentials; a bare 401 means the same.
    if error == "invalid_grant" or (status == 401 and error is None):
        logger.debug("Password login refused by %s (HTTP %s)", endpoint, status)
        raise LoginDeniedError(
            "The user name or password was not accepted; check them and try again.",
            error=error or "http_401",
        )
    tokens = parse_token_response(status, response.content, secrets=form_secrets(form))
    return FlowResult(tokens=tokens, nonce=None)
