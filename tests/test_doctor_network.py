"""`doctor`'s network checks against real sockets on 127.0.0.1: a closed port, a DNS that
never answers, a TLS server whose CA is not trusted, a skewed Date, a refusing proxy."""

from __future__ import annotations

import email.utils
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from anaconda_auth_async import DoctorCheck, sync
from anaconda_auth_async.diagnostics.clock_check import clock_check

sys.path.insert(0, str(Path(__file__).resolve().parent / "e2e"))
from e2e_harness import Pki, make_pki


def by_name(checks: list[DoctorCheck]) -> dict[str, DoctorCheck]:
    return {c.name: c for c in checks}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    skew = 0.0

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        base = f"https://127.0.0.1:{port}"
        body = json.dumps(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/auth",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "device_authorization_endpoint": f"{base}/device",
            }
        ).encode()
        self.send_response_only(200)
        self.send_header("Date", email.utils.formatdate(time.time() + self.skew, usegmt=True))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Server:
    def __init__(self, pki: Pki) -> None:
        handler = type("Handler", (_Handler,), {})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.domain = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    srv = Server(pki)
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", srv.domain)
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", srv.domain)
    try:
        yield srv
    finally:
        srv.close()


def test_nothing_listening_says_the_auth_domain_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    domain = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", domain)
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", domain)
    started = time.monotonic()
    checks = by_name(sync.doctor())
    assert time.monotonic() - started < 10
    auth = checks["auth_domain"]
    assert auth.status == "fail"
    assert auth.summary.startswith(f"The auth domain {domain} cannot be reached")
    assert "refused" in auth.summary.lower()
    assert "network connection" in (auth.fix or "")
    assert "auth_domain setting" in (auth.fix or "")
    assert checks["api_domain"].status == "fail"
    assert checks["clock"].status == "skip"
    assert checks["login_flow"].status == "skip"


def test_dns_that_never_answers_is_cut_at_the_step_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def hang(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("127.0.0.1", "::1", "localhost", b"127.0.0.1", b"::1", b"localhost"):
            return real(host, *args, **kwargs)  # the redirect listener's own lookup
        time.sleep(3)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    checks = by_name(sync.doctor(step_timeout=0.5))
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed  # both domains in parallel, each cut at 0.5 s
    auth = checks["auth_domain"]
    assert auth.status == "fail"
    assert "The auth domain id.anaconda.cloud cannot be reached" in auth.summary
    assert "no DNS answer for id.anaconda.cloud within 0.5 s" in auth.summary


def test_untrusted_ca_names_the_issuer_and_the_setting(server: Server) -> None:
    checks = by_name(sync.doctor())
    auth = checks["auth_domain"]
    assert auth.status == "fail", auth
    assert "issued by 'e2e test CA" in auth.summary
    assert "private CA" in auth.summary
    assert "ANACONDA_AUTH_SSL_VERIFY" in (auth.fix or "")


def test_trusted_server_with_a_skewed_date(
    server: Server, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", str(pki.ca_cert))
    checks = by_name(sync.doctor())
    assert checks["auth_domain"].status == "ok", checks["auth_domain"]
    assert "offers device-code login" in checks["auth_domain"].summary
    assert "issued by 'e2e test CA" in checks["auth_domain"].summary
    assert checks["clock"].status == "ok"
    assert checks["login_flow"].status == "ok"
    server.handler.skew = -600.0
    checks = by_name(sync.doctor())
    clock = checks["clock"]
    assert clock.status == "fail", clock
    assert "10 min ahead of" in clock.summary
    assert "network time" in (clock.fix or "")


class _Refusing(BaseHTTPRequestHandler):
    def do_CONNECT(self) -> None:
        self.send_error(403, "Forbidden by policy")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_proxy_that_refuses(server: Server, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", str(pki.ca_cert))
        monkeypatch.setenv("ANACONDA_AUTH_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        checks = by_name(sync.doctor())
    finally:
        proxy.shutdown()
        proxy.server_close()
    check = checks["proxy"]
    assert check.status == "fail", check
    assert "refused CONNECT" in check.summary
    assert "403" in check.summary
    assert "from the proxy setting, from environment variable ANACONDA_AUTH_PROXY" in check.summary
    assert checks["auth_domain"].status == "fail"


def test_a_proxy_that_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_PROXY", f"http://127.0.0.1:{closed_port()}")
    check = by_name(sync.doctor())["proxy"]
    assert check.status == "fail"
    assert "the connection failed" in check.summary
    assert "ANACONDA_AUTH_PROXY" in (check.fix or "")


def test_clock_thresholds() -> None:
    assert clock_check([]).status == "skip"
    assert clock_check([("a", 2.0), ("b", -1.0)]).status == "ok"
    warn = clock_check([("a", 45.0)])
    assert warn.status == "warn"
    assert "45 s behind a's" in warn.summary
    fail = clock_check([("a", -7200.0), ("b", -7199.0)])
    assert fail.status == "fail"
    assert "2.0 h ahead of" in fail.summary
    odd = clock_check([("a", 0.5), ("b", 300.0)])
    assert "the servers disagree" in odd.summary
