"""Attacker servers for the security tests: real sockets on 127.0.0.1, OS-chosen ports.

`Recorder` logs what every request carried (so a test can prove a key never arrived);
`Drip` answers with a body trickled one byte at a time (to prove every wait is bounded).
Both run in daemon threads and stop when their context ends.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from certificates import self_signed

ACCOUNT = {"user": {"email": "victim@example.com", "first_name": "V", "last_name": "Ictim"}}


@dataclass
class Seen:
    """What the attacker received."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    @property
    def authorization(self) -> list[str]:
        """Every Authorization header value received."""
        return [h["authorization"] for _, _, h in self.requests if "authorization" in h]


@dataclass
class Server:
    """A running attacker server."""

    port: int
    seen: Seen
    stop: threading.Event

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, as an api_domain setting."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}"


def _handler(
    seen: Seen, stop: threading.Event, drip: float | None, status: int, answer: bytes | None
) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.requests.append((self.command, self.path, headers))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = answer if answer is not None else json.dumps(ACCOUNT).encode() + b" " * 4096
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if drip is None:
                self.wfile.write(body)
                return
            for byte in body:  # slow drip: one byte per `drip` seconds, never done in time
                if stop.wait(drip):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def attacker(
    *,
    drip: float | None = None,
    status: int = 200,
    tls: Path | None = None,
    body: bytes | None = None,
) -> Iterator[Server]:
    """An HTTP server on 127.0.0.1 that records requests (and drips its body if asked);
    HTTPS with a self-signed certificate (made in the directory `tls`) when given."""
    seen, stop = Seen(), threading.Event()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), _handler(seen, stop, drip, status, body)
    )
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self_signed(tls, "attacker", ip="127.0.0.1"))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server(port=server.server_address[1], seen=seen, stop=stop)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def wait_for(predicate: object, limit: float = 10.0) -> bool:
    """Poll `predicate` (a callable) until true or `limit` seconds pass."""
    assert callable(predicate)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
