"""The loopback redirect listener (RFC 8252 7.3): anyio sockets, HTTP parsed by h11.

`listen_for_callback` binds the socket before it yields, so the browser can be opened
right away; `Listener.wait` then serves every connection, each in its own task with its
own read time limit, until the redirect with this login's ``state`` arrives:

- the redirect path with the right ``state`` and a ``code``: 302 to the success page;
- with ``error=``, or a ``state`` that does not match: 302 to the error page, login fails;
- any other request: 404, and it keeps listening; malformed HTTP: connection dropped.

Time limits for the whole wait and cancellation belong to the caller (anyio scopes);
leaving the context closes the socket.
"""

from __future__ import annotations

import errno
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit, urlunsplit

import anyio
import h11
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskGroup

from .._exceptions import LoginDeniedError, LoginError
from .._text import safe_line

__all__ = ["Listener", "listen_for_callback", "parse_callback"]

logger = logging.getLogger(__name__)

# Host names a redirect URI may use, and the address the listener binds for each.
_LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
_MAX_REQUEST_HEAD = 16 * 1024
_SETTING_HINT = (
    "set ANACONDA_AUTH_REDIRECT_URI to a loopback URI with a free port that the provider "
    "accepts, or set ANACONDA_AUTH_EPHEMERAL_PORT=true to use any free port"
)


def parse_callback(target: str, *, path: str, state: str) -> str | LoginError | None:
    """Read one request target (pure): the code, the error ending the login, or None (404).

    None when `target` is not on the redirect `path`. A ``state`` other than `state` is
    rejected even when the request also carries an ``error``; an ``error`` without any
    ``state`` is accepted as the provider's refusal, since it ends the login either way.
    """
    parts = urlsplit(target)
    if parts.path != path:
        return None
    query = parse_qs(parts.query, keep_blank_values=True)
    if any(len(query.get(name, ())) > 1 for name in ("state", "code", "error")):
        return LoginError(
            "The login redirect repeated a parameter, so it was rejected; log in again."
        )
    received = query.get("state", [None])[0]
    error = query.get("error", [None])[0]
    if (received is None and error is None) or (
        received is not None and not hmac.compare_digest(received.encode(), state.encode())
    ):
        return LoginError(
            "The login redirect did not carry the state this login sent (it may come from an "
            "older login in another browser tab), so it was rejected; log in again."
        )
    if error is not None:
        description = query.get("error_description", [None])[0]
        detail = safe_line(error) + (f": {safe_line(description)}" if description else "")
        return LoginDeniedError(
            f"The provider refused the login ({detail}); log in again and allow access.",
            error=error,
            description=description,
        )
    code = query.get("code", [""])[0]
    if not code:
        return LoginError("The login redirect carried no authorization code; log in again.")
    return code


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
    ) -> None:
        self.redirect_uri = redirect_uri
        self._sockets = sockets
        self._path = path
        self._state = state
        self._success_url = success_url
        self._error_url = error_url
        self._read_timeout = read_timeout
        self._outcome: str | LoginError | None = None
        self._task_group: TaskGroup | None = None

    def __repr__(self) -> str:
        return f"<Listener {self.redirect_uri}>"

    async def wait(self) -> str:
        """Serve requests until the redirect arrives; return the authorization code.

        Raises `LoginDeniedError` when the provider sent an error, `LoginError` for a
        redirect with the wrong ``state`` or no code. Bound it with an anyio time limit.
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
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_HEAD)
        try:
            with anyio.fail_after(self._read_timeout):
                request = await _read_request(stream, connection)
        except (h11.RemoteProtocolError, TimeoutError, OSError, anyio.BrokenResourceError):
            logger.debug("Dropped a malformed or slow connection to the login listener")
            return
        if request is None:
            return
        target = request.target.decode("ascii", "replace")
        outcome = None
        if request.method == b"GET":
            outcome = parse_callback(target, path=self._path, state=self._state)
        if outcome is None:
            logger.debug("Answered %s %s with 404", request.method.decode(), urlsplit(target).path)
            await self._send(stream, _response(connection, 404, b"Not found.\n"))
            return
        try:
            location = self._error_url if isinstance(outcome, LoginError) else self._success_url
            await self._send(stream, _redirect(connection, location))
        finally:  # the callback arrived: the login ends even if the browser went away
            self._finish(outcome)

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
) -> AsyncIterator[Listener]:
    """Listen on the loopback address of `redirect_uri` until the context ends.

    With `ephemeral` the port is chosen by the system and `Listener.redirect_uri` names
    it. `read_timeout` bounds how long one connection may take to send its request.
    Raises `LoginError` when the URI is not a loopback ``http`` URI or the port is taken.
    """
    host, port, path = _parse_redirect_uri(redirect_uri)
    address = _LOOPBACK[host]
    try:
        listener = await anyio.create_tcp_listener(
            local_host=address, local_port=0 if ephemeral else port
        )
    except OSError as exc:
        raise _bind_error(address, port, exc) from None
    async with listener:
        if ephemeral:
            port = listener.extra(SocketAttribute.local_port)  # noqa: S610 (not Django)
            redirect_uri = _with_port(redirect_uri, host, port)
        logger.debug("Listening for the login redirect on %s", redirect_uri)
        yield Listener(
            [socket for socket in listener.listeners if isinstance(socket, SocketListener)],
            redirect_uri=redirect_uri,
            path=path,
            state=state,
            success_url=success_url,
            error_url=error_url,
            read_timeout=read_timeout,
        )


async def _read_request(stream: SocketStream, connection: h11.Connection) -> h11.Request | None:
    """The request head, or None when the client closed without sending one."""
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(65536)
            except anyio.EndOfStream:
                data = b""
            connection.receive_data(data)
        elif isinstance(event, h11.Request):
            return event
        else:
            return None


def _response(connection: h11.Connection, status: int, body: bytes, **extra: str) -> bytes:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),  # the success page must not see the code
        ("Connection", "close"),
        *extra.items(),
    ]
    parts = [
        connection.send(h11.Response(status_code=status, headers=headers)),
        connection.send(h11.Data(data=body)),
        connection.send(h11.EndOfMessage()),
    ]
    return b"".join(part for part in parts if part)


def _redirect(connection: h11.Connection, location: str) -> bytes:
    return _response(connection, 302, b"Redirecting.\n", Location=location)


def _parse_redirect_uri(redirect_uri: str) -> tuple[str, int, str]:
    parts = urlsplit(redirect_uri)
    try:
        port = parts.port or 80
    except ValueError:
        port = -1
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK or port < 0:
        raise LoginError(
            f"The redirect URI {redirect_uri!r} is not a loopback http URI like "
            "http://127.0.0.1:8000/auth/oidc; fix ANACONDA_AUTH_REDIRECT_URI."
        )
    return parts.hostname, port, parts.path or "/"


def _with_port(redirect_uri: str, host: str, port: int) -> str:
    parts = urlsplit(redirect_uri)
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _bind_error(address: str, port: int, exc: OSError) -> LoginError:
    if exc.errno == errno.EADDRINUSE:
        reason = f"port {port} on {address} is already in use"
    elif exc.errno == errno.EACCES:
        reason = f"this user may not listen on port {port} of {address}"
    else:
        reason = f"listening on {address} port {port} failed ({exc.strerror or exc})"
    return LoginError(f"Cannot receive the login redirect: {reason}; {_SETTING_HINT}.")
