"""``anaconda-auth doctor`` on a machine broken for real, against the real provider.

Each test breaks one thing the way it breaks on users' machines (a certificate from a CA
nobody trusts, a proxy that refuses, a server clock off by minutes, a port already
taken, a keyring file others can write or a lock another process holds, a misspelled
variable, no reachable server at all), runs the installed command with ``--json`` in a
subprocess, and asserts that the check named for it says what happened and the fix.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import E2E
from e2e_harness import free_port
from processes import holding_lock

pytestmark = pytest.mark.e2e

Checks = dict[str, dict[str, Any]]


def doctor(
    e2e: E2E, *args: str, environ: dict[str, str] | None = None, **env: str
) -> tuple[int, Checks, float]:
    """Run ``anaconda-auth doctor --json``; its exit code, checks by name, and seconds taken."""
    started = time.monotonic()
    result = e2e.run_cli("doctor", "--json", *args, environ=environ, **env)
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert all(set(c) == {"name", "status", "summary", "fix"} for c in checks.values())
    return result.returncode, checks, elapsed


def test_a_healthy_machine_passes_every_check(e2e: E2E) -> None:
    key = e2e.log_in()
    code, checks, _ = doctor(e2e)
    assert {name: c["status"] for name, c in checks.items() if c["status"] != "ok"} == {}
    assert code == 0
    assert "offers device-code login" in checks["auth_domain"]["summary"]
    assert "issued by 'e2e test CA" in checks["auth_domain"]["summary"]
    assert "user ada@example.com" in checks["key"]["summary"]
    assert "scopes cloud:read cloud:write" in checks["key"]["summary"]
    assert "a login here uses the browser flow" in checks["login_flow"]["summary"]
    assert key not in json.dumps(checks)


def test_certificate_from_an_unknown_ca(e2e: E2E) -> None:
    environ = e2e.subprocess_env()
    for name in ("ANACONDA_AUTH_SSL_VERIFY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        environ.pop(name, None)
    code, checks, _ = doctor(e2e, environ=environ)
    assert code == 8
    for name in ("auth_domain", "api_domain"):
        check = checks[name]
        assert check["status"] == "fail", check
        assert "cannot be reached: The TLS certificate of 127.0.0.1" in check["summary"]
        assert "issued by 'e2e test CA" in check["summary"]
        assert "(anaconda-auth-async e2e)" in check["summary"]
        assert "the default public CA bundle (certifi)" in check["summary"]
        assert "private CA" in check["summary"]
        assert "ANACONDA_AUTH_SSL_VERIFY to the path of that CA's certificate" in check["fix"]
    assert checks["clock"]["status"] == "skip"


class _RefusingProxy(BaseHTTPRequestHandler):
    def do_CONNECT(self) -> None:
        self.send_error(403, "Blocked by proxy policy")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_proxy_that_refuses(e2e: E2E, refusing_proxy: str) -> None:
    code, checks, _ = doctor(e2e, ANACONDA_AUTH_PROXY=refusing_proxy)
    assert code == 8
    proxy = checks["proxy"]
    assert proxy["status"] == "fail", proxy
    assert f"The proxy {refusing_proxy} (from the proxy setting" in proxy["summary"]
    assert f"refused CONNECT {e2e.server.auth_domain}" in proxy["summary"]
    assert "403" in proxy["summary"]
    assert "ask whoever runs the proxy" in proxy["fix"]
    assert checks["auth_domain"]["status"] == "fail"


def test_a_proxy_that_is_not_running(e2e: E2E) -> None:
    port = free_port()
    code, checks, _ = doctor(e2e, HTTPS_PROXY=f"http://127.0.0.1:{port}")
    assert code == 8
    proxy = checks["proxy"]
    assert proxy["status"] == "fail", proxy
    assert "HTTPS_PROXY/ALL_PROXY in the environment" in proxy["summary"]
    assert "Connection refused" in proxy["summary"]


@pytest.fixture
def skewed(e2e: E2E) -> Iterator[E2E]:
    try:
        yield e2e
    finally:
        e2e.server.set_date_offset(0)


def test_a_clock_ten_minutes_off(skewed: E2E) -> None:
    skewed.server.set_date_offset(600)  # the servers are 10 min ahead: this clock is behind
    code, checks, _ = doctor(skewed)
    assert code == 8
    clock = checks["clock"]
    assert clock["status"] == "fail", clock
    assert "This computer's clock is 10 min behind" in clock["summary"]
    assert "past the 60 s an ID token allows" in clock["summary"]
    assert "network time" in clock["fix"]
    skewed.server.set_date_offset(40)
    _, checks, _ = doctor(skewed)
    assert checks["clock"]["status"] == "warn", checks["clock"]


def test_a_busy_redirect_port(e2e: E2E) -> None:
    port = int(e2e.redirect_uri.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        code, checks, _ = doctor(e2e)
        _, explicit, _ = doctor(e2e, ANACONDA_AUTH_LOGIN_FLOW="browser")
    assert code == 8
    check = checks["redirect_port"]
    assert check["status"] == "warn", check  # auto logs in with a device code instead
    assert f"The login redirect port {port}" in check["summary"]
    assert f"in use by process {os.getpid()}" in check["summary"]
    assert "ANACONDA_AUTH_EPHEMERAL_PORT=true" in check["fix"]
    flow = checks["login_flow"]
    assert flow["status"] == "ok", flow
    assert "uses the device flow (the redirect port is taken)" in flow["summary"]
    assert explicit["redirect_port"]["status"] == "fail"
    assert "uses the browser flow" in explicit["login_flow"]["summary"]


def test_a_keyring_file_others_can_write(e2e: E2E) -> None:
    e2e.log_in()
    e2e.keyring_path.chmod(0o666)
    code, checks, _ = doctor(e2e, "--offline")
    assert code == 8
    storage = checks["storage"]
    assert storage["status"] == "fail", storage
    assert (
        f"The token file {e2e.keyring_path} is writable by other users (mode 0666)"
        in (storage["summary"])
    )
    assert f"chmod 600 {e2e.keyring_path}" in storage["fix"]
    e2e.keyring_path.chmod(0o644)
    _, checks, _ = doctor(e2e, "--offline")
    assert checks["storage"]["status"] == "warn"
    assert "other users can read it" in checks["storage"]["summary"]


def test_a_keyring_lock_held_by_another_process(e2e: E2E) -> None:
    e2e.log_in()
    lock = f"{e2e.keyring_path}.lock"
    with holding_lock(lock) as holder:
        code, checks, _ = doctor(e2e, "--offline")
    assert code == 8
    storage = checks["storage"]
    assert storage["status"] == "warn", storage
    assert f"the lock {lock} is held by process {holder.pid}" in storage["summary"]
    assert "wait for that process to finish" in storage["fix"]


def test_a_misspelled_setting(e2e: E2E) -> None:
    code, checks, _ = doctor(e2e, "--offline", ANACONDA_AUTH_LOGIN_FLOWW="device")
    assert code == 8
    names = checks["setting_names"]
    assert names["status"] == "warn", names
    assert "ANACONDA_AUTH_LOGIN_FLOWW (in the environment) is not a setting" in names["summary"]
    assert names["fix"] == "rename ANACONDA_AUTH_LOGIN_FLOWW to ANACONDA_AUTH_LOGIN_FLOW"


def test_no_server_can_be_reached(e2e: E2E) -> None:
    """No network: nothing listens where the domains point, or their names do not resolve."""
    closed = f"127.0.0.1:{free_port()}"
    code, checks, elapsed = doctor(
        e2e, ANACONDA_AUTH_AUTH_DOMAIN=closed, ANACONDA_AUTH_API_DOMAIN=closed
    )
    assert code == 8
    assert elapsed < 15, elapsed
    auth = checks["auth_domain"]
    assert auth["status"] == "fail"
    assert auth["summary"].startswith(f"The auth domain {closed} cannot be reached")
    assert "Connection refused" in auth["summary"]
    assert "check this computer's network connection and DNS" in auth["fix"]
    assert (
        "the auth_domain setting (from environment variable ANACONDA_AUTH_AUTH_DOMAIN)"
        in (auth["fix"])
    )
    assert checks["login_flow"]["status"] == "skip"

    code, checks, elapsed = doctor(
        e2e,
        ANACONDA_AUTH_AUTH_DOMAIN="id.anaconda.invalid",
        ANACONDA_AUTH_API_DOMAIN="anaconda.invalid",
    )
    assert code == 8
    assert elapsed < 15, elapsed
    auth = checks["auth_domain"]
    assert auth["summary"].startswith("The auth domain id.anaconda.invalid cannot be reached")
    assert "id.anaconda.invalid" in auth["summary"]
    assert "resolved" in auth["summary"] or "DNS" in auth["summary"]


def test_device_login_draws_the_providers_url_as_a_qr_code(e2e: E2E) -> None:
    """``login --device --qr`` against the real provider: the drawing under the line is the
    QR code of the verification URL the provider gave, and that URL logs in."""
    import segno

    process = subprocess.Popen(
        [*e2e.cli_command(), "login", "--device", "--qr"],
        env=e2e.subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    e2e.processes.append(process)  # stopped after the test
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("To log in, visit "), first
    url, code = first.removeprefix("To log in, visit ").split(" and enter the code ")
    code = code.strip()
    drawing = []
    halves = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}
    while True:
        line = process.stderr.readline().rstrip("\n")
        if not line or not set(line) <= set(halves):
            break
        drawing.append(line)
    assert drawing, "no QR code under the URL line"
    rows: list[list[int]] = []
    for line in drawing:
        top, bottom = zip(*(halves[c] for c in line), strict=True)
        rows += [[1 - m for m in top], [1 - m for m in bottom]]
    matrix = [
        [int(bool(m)) for m in row] for row in segno.make(url, error="m").matrix_iter(border=2)
    ]
    if len(matrix) % 2:
        matrix.append([1] * len(matrix[0]))
    assert rows == matrix
    record = e2e.run_browser(url, mode="device", user_code=code)
    assert record["error"] is None, record
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert stdout.strip() == f"Logged in to {e2e.server.auth_domain} as ada@example.com."
