"""Attacker servers for the security tests: real sockets on 127.0.0.1, OS-chosen ports.

`Recorder` logs what every request carried (so a test can prove a key never arrived);
`Drip` answers with a body trickled one byte at a time (to prove every wait is bounded).
Both run in daemon threads and stop when their context ends.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
        context.load_cert_chain(*_self_signed(tls))
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


def _self_signed(directory: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 that no CA vouches for."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "attacker.pem", directory / "attacker.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def wait_for(predicate: object, limit: float = 10.0) -> bool:
    """Poll `predicate` (a callable) until true or `limit` seconds pass."""
    assert callable(predicate)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
