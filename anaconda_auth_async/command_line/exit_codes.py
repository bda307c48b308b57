"""The exit-code policy of the ``anaconda-auth`` command line (the CLI boundary).

`classify` maps every exception a command can raise to one `ExitCode` and a one-line
message; `Failure` is an expected failure a command raises itself. `app.CommandGroup.invoke`
is the one place that applies them: it prints ``Error: <message>`` on stderr and exits
with the code. The codes are listed in ``anaconda-auth --help`` and docs/cli.md.

Like `cli`, this module imports only click and the standard library at module level
(httpx and the SDK's exceptions are imported when a failure is classified).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

import click

from ..foundation.safe_text import one_line, safe_line

__all__ = ["ExitCode", "Failure", "classify", "exit_code_table", "unwrap"]

MESSAGE_LIMIT = 2000
"""The longest ``Error:`` line; our own sentences are far shorter."""


class ExitCode(enum.IntEnum):
    """The exit codes of ``anaconda-auth`` (listed in ``--help`` and docs/cli.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_LOGGED_IN = 3
    LOGIN_FAILED = 4
    NETWORK = 5
    CONFIGURATION = 6
    EXPIRES_SOON = 7
    PROBLEMS_FOUND = 8
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        """What the code means, as ``--help`` lists it."""
        return _MEANINGS[self]


_MEANINGS = {  # the one table of exit codes: --help shows it, docs/cli.md explains it
    ExitCode.OK: "success",
    ExitCode.ERROR: "unexpected error",
    ExitCode.USAGE: "usage error (a bad option or argument)",
    ExitCode.NOT_LOGGED_IN: "not logged in, or the API key has expired or was rejected",
    ExitCode.LOGIN_FAILED: "the login failed or was denied",
    ExitCode.NETWORK: "network or TLS error",
    ExitCode.CONFIGURATION: "configuration error (a bad setting)",
    ExitCode.EXPIRES_SOON: "status --min-days: the API key expires within that many days",
    ExitCode.PROBLEMS_FOUND: "doctor: a check warned or failed (each says what to do)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


def exit_code_table() -> str:
    """The exit codes and their meanings, one per line, for ``--help``."""
    return "\n".join(f"  {int(code):<5}{code.meaning}" for code in ExitCode)


class Failure(Exception):
    """An expected failure: the CLI prints one ``Error: ...`` line and exits with `code`."""

    def __init__(self, code: ExitCode, message: str) -> None:
        self.code = code
        # One printable line, whatever a server put in the text it quotes.
        self.message = one_line(message, MESSAGE_LIMIT)
        super().__init__(self.message)

    def show(self) -> None:
        """Print ``Error: <message>`` on stderr ("Error:" in red on a terminal)."""
        click.echo(f"{click.style('Error:', fg='red', bold=True)} {self.message}", err=True)


# --- errors -----------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the members of single-member groups."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        members = getattr(current, "exceptions", None)
        if isinstance(members, tuple):
            todo.extend(m for m in members if isinstance(m, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def unwrap(exc: BaseException) -> BaseException:
    """The only member of (nested) exception groups of one, else the exception itself."""
    members = getattr(exc, "exceptions", None)
    while isinstance(members, tuple) and len(members) == 1:
        exc = members[0]
        members = getattr(exc, "exceptions", None)
    return exc


def classify(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception raised by a command."""
    import httpx  # not for --help: only once a command has failed

    from ..foundation import errors as errors  # imports httpx

    exc = unwrap(exc)
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "Interrupted."
    if isinstance(exc, errors.LoginTimeoutError):  # whatever was in flight when time ran out
        message = str(exc).replace("the timeout argument", "--timeout")
        return ExitCode.LOGIN_FAILED, message or "The login did not complete in time."
    network = _network_error(exc)
    if isinstance(exc, errors.ConfigurationError):
        return ExitCode.CONFIGURATION, str(exc)
    if isinstance(exc, errors.TokenNotFoundError | errors.TokenExpiredError):
        return ExitCode.NOT_LOGGED_IN, _with_hint(str(exc))
    if isinstance(exc, errors.AuthenticationError):
        return ExitCode.NOT_LOGGED_IN, _with_hint(str(exc) or "The server rejected the API key.")
    if any(isinstance(linked, errors.AuthenticationError) for linked in _chain(exc)):
        return ExitCode.NOT_LOGGED_IN, _with_hint(str(exc))  # store_api_key: key refused
    if network is not None:
        return ExitCode.NETWORK, _network_message(network)
    if isinstance(exc, errors.LoginError):
        return ExitCode.LOGIN_FAILED, str(exc) or f"The login failed ({type(exc).__name__})."
    if isinstance(exc, errors.AnacondaAuthError):
        return ExitCode.ERROR, str(exc) or type(exc).__name__
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        return ExitCode.ERROR, (
            f"{exc.request.url.host} answered {response.status_code} "
            f"{response.reason_phrase} to {exc.request.method} {exc.request.url.path}; "
            "try again later."
        )
    return ExitCode.ERROR, (
        f"Unexpected error ({type(exc).__name__}: {exc}); run again with --verbose for details."
    )


def _with_hint(message: str) -> str:
    if "anaconda-auth " in message:  # it says what to run already
        return message
    return f"{message.rstrip('.')}. Run 'anaconda-auth login' to log in."


def _network_error(exc: BaseException) -> BaseException | None:
    """The network or TLS failure behind `exc`, if there is one."""
    import socket  # these three only once a command has failed, not for --help
    import ssl

    import httpx

    chain = list(_chain(exc))
    for linked in chain:  # a time-out first: a cancelled TLS read is not a TLS failure
        if isinstance(linked, httpx.TimeoutException):
            return linked
    for linked in chain:
        if isinstance(linked, httpx.TransportError | ssl.SSLError | ConnectionError):
            return linked
        if isinstance(linked, socket.gaierror | TimeoutError):
            return linked
    return None


def _network_message(exc: BaseException) -> str:
    import ssl  # both only once a command has failed, not for --help

    import httpx

    host = "the server"
    if isinstance(exc, httpx.RequestError):
        with contextlib.suppress(RuntimeError):  # raised when no request is attached
            url = exc.request.url
            host = f"{url.host}:{url.port}" if url.port else url.host
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return (
            f"{host} did not answer in time; check your network, "
            "or set ANACONDA_AUTH_TIMEOUT to wait longer."
        )
    tls = next((e for e in _chain(exc) if isinstance(e, ssl.SSLError)), None)
    text = safe_line(exc)
    if isinstance(tls, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        reason = str(getattr(tls, "verify_message", None) or "certificate verify failed")
        reason = reason.rstrip(".")
        if "mismatch" in reason:  # a trusted certificate for another name: no CA bundle helps
            return (
                f"The TLS certificate of {host} is for another name ({reason}); check the "
                "domain settings ('anaconda-auth status' lists them) and any proxy in the way."
            )
        return (
            f"The TLS certificate of {host} could not be verified ({reason}); set "
            "ANACONDA_AUTH_SSL_VERIFY to the path of your CA bundle."
        )
    if tls is not None or "SSL" in text:
        return f"The TLS connection to {host} failed ({tls or text}); check your network."
    if isinstance(exc, httpx.ProxyError):
        return f"The proxy failed to reach {host} ({text}); check ANACONDA_AUTH_PROXY."
    detail = f" ({text})" if text else ""
    return f"Could not connect to {host}{detail}; check your network connection and proxy."
