"""One request to the loopback listener: its HTTP head read (h11), the redirect read, the answer.

`parse_callback` says what a request target means for the login (pure); `read_request`
and `response` / `redirect` are the HTTP of one connection. The listener's lifecycle
(binding, serving connections, the single-use start link) is `loopback_listener`'s.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

import anyio
import h11
from anyio.abc import SocketStream

from ...foundation.errors import LoginDeniedError, LoginError
from ...foundation.safe_text import safe_line

__all__ = ["MAX_REQUEST_HEAD", "Rejected", "parse_callback", "read_request", "redirect", "response"]

MAX_REQUEST_HEAD = 16 * 1024
"""The most bytes a request head may take (h11's ``max_incomplete_event_size``)."""


class Rejected:
    """A request on the redirect path that is not this login's answer (answered 400)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Rejected({self.reason!r})"


def parse_callback(
    target: str,
    *,
    path: str,
    state: str,
    issuer: str | None = None,
    require_issuer: bool = False,
) -> str | LoginError | Rejected | None:
    """Read one request target (pure): the code, the error ending the login, `Rejected`
    (not this login's answer: keep waiting), or None (not the redirect path: 404).

    Only a redirect carrying this login's ``state`` can end the login, with its code or
    its ``error``. A repeated parameter, or an ``iss`` other than `issuer` (RFC 9207; a
    missing one too when `require_issuer`, because the provider advertises it) is rejected.
    """
    parts = urlsplit(target)
    if parts.path != path:
        return None
    query = parse_qs(parts.query, keep_blank_values=True)
    if any(len(query.get(name, ())) > 1 for name in ("state", "code", "error", "iss")):
        return Rejected("a parameter is repeated")
    received = query.get("state", [None])[0]
    if received is None or not hmac.compare_digest(received.encode(), state.encode()):
        return Rejected("it does not carry this login's state")
    iss = query.get("iss", [None])[0]
    if iss is None and require_issuer:
        return Rejected("it does not name the issuer (iss) the provider promises")
    if iss is not None and issuer is not None and iss.rstrip("/") != issuer.rstrip("/"):
        return Rejected("its issuer (iss) is not the provider this login was sent to")
    error = query.get("error", [None])[0]
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


async def read_request(stream: SocketStream, connection: h11.Connection) -> h11.Request | None:
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


def response(connection: h11.Connection, status: int, body: bytes, **extra: str) -> bytes:
    """The whole answer (head and `body`, never cached, no referrer), as bytes to send."""
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


def redirect(connection: h11.Connection, location: str) -> bytes:
    """A 302 answer to `location`."""
    return response(connection, 302, b"Redirecting.\n", Location=location)
