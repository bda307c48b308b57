"""The loopback redirect listener (RFC 8252 7.3): anyio sockets, HTTP parsed by h11.

`listen_for_callback` binds the socket before it yields, so the browser can be opened
right away; `Listener.wait` then serves every connection, each in its own task with its
own read time limit, until the redirect with this login's ``state`` arrives:

- the redirect path with the right ``state`` (and, when the provider sends it, RFC 9207's
  ``iss``) and a ``code``: 302 to the success page;
- the same with ``error=``: 302 to the error page, the login fails with the provider's code;
- the redirect path without this login's ``state`` (wrong, missing, repeated, or the
  wrong ``iss``): 400, and it keeps listening, since any local process can send that;
- the single-use start path (`Listener.start_url`): 302 to the authorization URL the
  first time; the second time 410, and the login ends (`LinkReusedError`);
- any other request: 404, and it keeps listening; malformed HTTP: connection dropped.

A ``localhost`` redirect URI is bound on every loopback address a browser may try for
that name (127.0.0.1 and ::1), so no other user can take one of them. Time limits for
the whole wait and cancellation belong to the caller (anyio scopes); leaving the context
closes the sockets.
"""

from __future__ import annotations

import errno
import functools
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import anyio
import h11
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskGroup
from anyio.streams.stapled import MultiListener

from ...foundation.errors import LoginError
from ...foundation.safe_text import safe_line
from ...foundation.threads import in_daemon_thread
from .loopback_request import (
    MAX_REQUEST_HEAD,
    Rejected,
    parse_callback,
    read_request,
    redirect,
    response,
)

__all__ = ["LinkReusedError", "Listener", "PortInUseError", "listen_for_callback"]

logger = logging.getLogger(__name__)

# Host names a redirect URI may use, and the addresses the listener binds for each: a
# browser may resolve ``localhost`` to either, so both are held.
_LOOPBACK = {"127.0.0.1": ("127.0.0.1",), "localhost": ("127.0.0.1", "::1"), "::1": ("::1",)}
_EPHEMERAL_TRIES = 5
_SETTING_HINT = (
    "set ANACONDA_AUTH_REDIRECT_URI to a loopback URI with a free port that the provider "
    "accepts, or set ANACONDA_AUTH_EPHEMERAL_PORT=true to use any free port"
)


class PortInUseError(LoginError):
    """The redirect URI's fixed port is taken: `port`, on `address`, by `holder` if known.

    ``auto`` logs in with a device code instead (`flow_choice.run_flow`); an explicit browser
    login fails with this message, naming the port, the process and the settings to change.
    """

    def __init__(self, message: str, *, port: int, address: str, holder: str | None) -> None:
        super().__init__(message)
        self.port = port
        self.address = address
        self.holder = holder

    @property
    def reason(self) -> str:
        """Why the browser login cannot run, as a phrase (for the device-code notice)."""
        by = f" by {self.holder}" if self.holder else ""
        return f"Port {self.port} for the login redirect is in use{by}"


class LinkReusedError(LoginError):
    """The single-use start link of a browser login was requested twice: the login stops."""


class Listener:
    """A bound loopback socket waiting for the login redirect."""

    redirect_uri: str
    """The URI to send in the authorize request (with the real port when ephemeral)."""

    def __init__(
        self,
        sockets: list[SocketListener],
        *,
        redirect_uri: str,
        path: str,
        state: str,
        success_url: str,
        error_url: str,
        read_timeout: float,
        issuer: str | None = None,
        require_issuer: bool = False,
    ) -> None:
        self.redirect_uri = redirect_uri
        self._issuer = issuer
        self._require_issuer = require_issuer
        self._sockets = sockets
        self._path = path
        self._state = state
        self._success_url = success_url
        self._error_url = error_url
        self._read_timeout = read_timeout
        self._outcome: str | LoginError | None = None
        self._task_group: TaskGroup | None = None
        self._start: tuple[str, str] | None = None  # (path, authorization URL)
        self._started = False

    def start_url(self, authorization_url: str) -> str:
        """A single-use loopback URL that redirects (302) to `authorization_url`.

        Open the browser on this, not on the authorization URL: a command line is
        readable by every user of the machine (``/proc/PID/cmdline``), and the
        authorization URL carries this login's ``state``. The path is unguessable; a
        second request for it ends the login with `LinkReusedError`, since the browser
        fetches it once and anyone else who read it could race the browser to the
        provider.
        """
        path = "/" + secrets.token_urlsafe(24)
        self._start = (path, authorization_url)
        parts = urlsplit(self.redirect_uri)
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def __repr__(self) -> str:
        return f"<Listener {self.redirect_uri}>"

    async def wait(self) -> str:
        """Serve requests until the redirect arrives; return the authorization code.

        Raises `LoginDeniedError` when the provider sent an error, `LoginError` for a
        redirect with this login's ``state`` but no code. Requests without this login's
        ``state`` are answered 400 and do not end the wait. Bound it with an anyio time
        limit.
        """
        if self._outcome is None:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                for socket in self._sockets:
                    task_group.start_soon(self._accept, socket, task_group)
            self._task_group = None
        if isinstance(self._outcome, LoginError):
            raise self._outcome
        assert self._outcome is not None  # the task group ends only once it is set
        return self._outcome

    async def _accept(self, socket: SocketListener, task_group: TaskGroup) -> None:
        while True:
            try:
                stream = await socket.accept()
            except OSError as exc:  # e.g. out of file descriptors: pause, keep listening
                logger.warning("Could not accept a connection on the login listener: %s", exc)
                await anyio.sleep(0.1)
                continue
            task_group.start_soon(self._serve, stream)

    async def _serve(self, stream: SocketStream) -> None:
        """Answer one connection; a slow or broken client only ever costs its own task."""
        async with stream:
            try:
                await self._answer(stream)
            except Exception as exc:  # one bad connection must not end the login
                logger.warning(
                    "Dropped a connection to the login listener (%s)", type(exc).__name__
                )

    async def _answer(self, stream: SocketStream) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
        try:
            with anyio.fail_after(self._read_timeout):
                request = await read_request(stream, connection)
        except (h11.RemoteProtocolError, TimeoutError, OSError, anyio.BrokenResourceError):
            logger.debug("Dropped a malformed or slow connection to the login listener")
            return
        if request is None:
            return
        target = request.target.decode("ascii", "replace")
        if self._start is not None and urlsplit(target).path == self._start[0]:
            await self._send_start(stream, connection)
            return
        outcome = None
        if request.method == b"GET":
            outcome = parse_callback(
                target,
                path=self._path,
                state=self._state,
                issuer=self._issuer,
                require_issuer=self._require_issuer,
            )
        if outcome is None:
            logger.debug("Answered %s %s with 404", request.method.decode(), urlsplit(target).path)
            await self._send(stream, response(connection, 404, b"Not found.\n"))
            return
        if isinstance(outcome, Rejected):
            logger.warning(
                "Ignored a request to the login redirect path: %s (still waiting for the "
                "provider's redirect)",
                outcome.reason,
            )
            body = b"This is not the answer this login is waiting for.\n"
            await self._send(stream, response(connection, 400, body))
            return
        try:
            location = self._error_url if isinstance(outcome, LoginError) else self._success_url
            await self._send(stream, redirect(connection, location))
        finally:  # the callback arrived: the login ends even if the browser went away
            self._finish(outcome)

    async def _send_start(self, stream: SocketStream, connection: h11.Connection) -> None:
        assert self._start is not None
        if not self._started:
            self._started = True
            await self._send(stream, redirect(connection, self._start[1]))
            return
        logger.warning("The login's start link was requested a second time; stopping")
        body = b"This login link was already used; run the login again.\n"
        await self._send(stream, response(connection, 410, body))
        self._finish(
            LinkReusedError(
                "The login's link was opened twice, so another program on this computer "
                "may have used it to log you in as someone else; the login was stopped, "
                "run it again."
            )
        )

    async def _send(self, stream: SocketStream, data: bytes) -> None:
        with anyio.move_on_after(self._read_timeout):
            try:
                await stream.send(data)
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                logger.debug("The browser closed the connection before the answer was sent")

    def _finish(self, outcome: str | LoginError) -> None:
        if self._outcome is None:
            self._outcome = outcome
            if self._task_group is not None:
                self._task_group.cancel_scope.cancel()


@asynccontextmanager
async def listen_for_callback(
    redirect_uri: str,
    *,
    state: str,
    success_url: str,
    error_url: str,
    ephemeral: bool = False,
    read_timeout: float = 10.0,
    issuer: str | None = None,
    require_issuer: bool = False,
) -> AsyncIterator[Listener]:
    """Listen on the loopback address(es) of `redirect_uri` until the context ends.

    With `ephemeral` the port is chosen by the system and `Listener.redirect_uri` names
    it. `read_timeout` bounds how long one connection may take to send its request.
    `issuer` is checked against an ``iss`` in the redirect (RFC 9207), which must be there
    when `require_issuer`. Raises `LoginError` when the URI is not a loopback ``http``
    URI, names port 0 without `ephemeral`, or a port is taken on any of its addresses.
    """
    host, port, path = _parse_redirect_uri(redirect_uri, ephemeral=ephemeral)
    listeners = await _bind(_LOOPBACK[host], 0 if ephemeral else port)
    try:
        sockets: list[SocketListener] = []
        for listener in listeners:
            sockets += [s for s in listener.listeners if isinstance(s, SocketListener)]
        if ephemeral:
            port = sockets[0].extra(SocketAttribute.local_port)  # noqa: S610 (not Django)
            redirect_uri = _with_port(redirect_uri, host, port)
        logger.debug("Listening for the login redirect on %s", redirect_uri)
        yield Listener(
            sockets,
            redirect_uri=redirect_uri,
            path=path,
            state=state,
            success_url=success_url,
            error_url=error_url,
            read_timeout=read_timeout,
            issuer=issuer,
            require_issuer=require_issuer,
        )
    finally:
        for listener in listeners:
            with anyio.CancelScope(shield=True):
                await listener.aclose()


async def _bind(addresses: tuple[str, ...], port: int) -> list[MultiListener[SocketStream]]:
    """Listen on every address on one port (an ephemeral one: the same for all)."""
    for attempt in range(_EPHEMERAL_TRIES if port == 0 else 1):
        bound: list[MultiListener[SocketStream]] = []
        chosen = port
        try:
            for address in addresses:
                try:
                    listener = await anyio.create_tcp_listener(
                        local_host=address, local_port=chosen
                    )
                except OSError as exc:
                    if address == "::1" and len(addresses) > 1 and _no_ipv6(exc):
                        continue  # no IPv6 here: nobody can take [::1] either
                    raise
                bound.append(listener)
                if chosen == 0:
                    chosen = listener.extra(SocketAttribute.local_port)  # noqa: S610
        except OSError as exc:
            for listener in bound:
                await listener.aclose()
            if port == 0 and exc.errno == errno.EADDRINUSE and attempt + 1 < _EPHEMERAL_TRIES:
                continue  # the free port on 127.0.0.1 was taken on ::1: try another one
            if exc.errno == errno.EADDRINUSE:
                holder = await in_daemon_thread(
                    functools.partial(_holder, chosen), name="anaconda-auth port holder"
                )
                raise _in_use(address, chosen, holder) from None
            raise _bind_error(address, chosen, exc) from None
        return bound
    raise AssertionError("unreachable")  # pragma: no cover


def _no_ipv6(exc: OSError) -> bool:
    return exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT)


def _parse_redirect_uri(redirect_uri: str, *, ephemeral: bool = False) -> tuple[str, int, str]:
    parts = urlsplit(redirect_uri)
    try:
        port = 80 if parts.port is None else parts.port
    except ValueError:
        port = -1
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK or port < 0:
        raise LoginError(
            f"The redirect URI {redirect_uri!r} is not a loopback http URI like "
            "http://127.0.0.1:8000/auth/oidc; fix ANACONDA_AUTH_REDIRECT_URI."
        )
    if port == 0 and not ephemeral:
        raise LoginError(
            f"The redirect URI {redirect_uri!r} names port 0, which the provider cannot "
            "send the browser back to; name a fixed port, or set "
            "ANACONDA_AUTH_EPHEMERAL_PORT=true to use any free port."
        )
    return parts.hostname, port, parts.path or "/"


def _with_port(redirect_uri: str, host: str, port: int) -> str:
    parts = urlsplit(redirect_uri)
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _holder(port: int) -> str | None:
    """``process 1234 (python3, user ada)`` listening on `port`, where it can be seen."""
    from ...foundation.process_finder import (  # only to name who holds the port
        describe_process,
        port_holder,
    )

    pid = port_holder(port)
    return safe_line(describe_process(pid), limit=80) if pid is not None else None


def _in_use(address: str, port: int, holder: str | None) -> PortInUseError:
    by = f" by {holder}" if holder else ""
    return PortInUseError(
        f"Cannot receive the login redirect: port {port} on {address} is already in use"
        f"{by}; stop that program, log in with a device code (--device, flow='device'), "
        f"or {_SETTING_HINT}.",
        port=port,
        address=address,
        holder=holder,
    )


def _bind_error(address: str, port: int, exc: OSError) -> LoginError:
    if exc.errno == errno.EACCES:
        reason = f"this user may not listen on port {port} of {address}"
    else:
        reason = f"listening on {address} port {port} failed ({exc.strerror or exc})"
    return LoginError(f"Cannot receive the login redirect: {reason}; {_SETTING_HINT}.")
