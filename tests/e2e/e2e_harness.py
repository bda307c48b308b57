"""The end-to-end harness: a throwaway CA, the Node provider + API emulator, and controls.

Used by ``tests/e2e/conftest.py`` and runnable on its own as a development tool::

    .venv/bin/python tests/e2e/e2e_harness.py        # prints the env vars to export

It starts ``provider/server.mjs`` (oidc-provider and the Anaconda API emulator, two HTTPS
servers on 127.0.0.1 on free ports), with a CA and a server certificate made for this run,
and stops it when you press Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
PROVIDER_DIR = HERE / "provider"
SERVER_SCRIPT = PROVIDER_DIR / "server.mjs"
BROWSER_SCRIPT = HERE / "browser.py"
SDK_CLIENT_ID = "b4ad7f1d-c784-46b5-a9fe-106e50441f5a"
PANEL_CLIENT_ID = "anaconda-auth-async-e2e-panel"  # server.mjs: public, PKCE, /login
PANEL_APP = HERE / "panel_app.py"
TEST_CLIENT_ID = "anaconda-auth-async-e2e"

NPM_CI_TIMEOUT = 300.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class HarnessError(RuntimeError):
    """The harness could not be set up (no Node, npm ci failed, the server did not start)."""


# --------------------------------------------------------------------------------------
# PKI: a CA and a server certificate for IP:127.0.0.1, made fresh for each run.


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files of one run's CA and server certificate."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "anaconda-auth-async e2e"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_pki(directory: Path) -> Pki:
    """Write a new CA and a server certificate (SAN IP:127.0.0.1) signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"e2e test CA {os.getpid()}-{int(time.time())}")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pki.server_key.chmod(0o600)
    return pki


# --------------------------------------------------------------------------------------
# Node and npm.


def node_missing_reason() -> str | None:
    """Why the provider cannot run here (no node or npm on PATH, or Node too old), or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        return f"{missing} not found on PATH; the e2e tests need Node.js 20.19+ and npm"
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=15, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`node --version` failed: {exc}"
    major, minor = (int(p) for p in out.lstrip("v").split(".")[:2])
    if (major, minor) < (20, 19):
        return f"Node.js {out} is too old; oidc-provider 9 needs 20.19 or newer"
    return None


def ensure_node_modules(*, timeout: float = NPM_CI_TIMEOUT) -> None:
    """Run `npm ci` in provider/ unless node_modules already matches package-lock.json."""
    lock = PROVIDER_DIR / "package-lock.json"
    installed = PROVIDER_DIR / "node_modules" / ".package-lock.json"
    if installed.is_file() and _locked_versions(installed) == _locked_versions(lock):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise HarnessError("npm not found on PATH")
    try:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PROVIDER_DIR,
            check=True,
            timeout=timeout,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        raise HarnessError(f"npm ci failed in {PROVIDER_DIR}:\n{exc.stderr}") from None
    except subprocess.TimeoutExpired:
        raise HarnessError(f"npm ci did not finish in {timeout:.0f} s") from None


def _locked_versions(lockfile: Path) -> dict[str, str]:
    packages: dict[str, Any] = json.loads(lockfile.read_text()).get("packages", {})
    return {
        name: str(info.get("version"))
        for name, info in packages.items()
        if name.startswith("node_modules/")
    }


# --------------------------------------------------------------------------------------
# The running provider and API emulator.


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class E2EServer:
    """The running provider and API emulator, and test controls for them."""

    process: subprocess.Popen[bytes]
    pki: Pki
    auth_port: int
    api_port: int
    issuer: str
    client_id: str
    log_path: Path
    access_token_ttl: int

    @property
    def auth_domain(self) -> str:
        """The SDK's auth domain setting: host:port of the provider."""
        return f"127.0.0.1:{self.auth_port}"

    @property
    def api_domain(self) -> str:
        """The SDK's API domain setting: host:port of the API emulator."""
        return f"127.0.0.1:{self.api_port}"

    @property
    def api_origin(self) -> str:
        """https://host:port of the API emulator."""
        return f"https://{self.api_domain}"

    @property
    def ca_bundle(self) -> str:
        """Path of the CA certificate that signed both servers' certificate."""
        return str(self.pki.ca_cert)

    def env(self, *, redirect_port: int | None = None) -> dict[str, str]:
        """The ANACONDA_AUTH_* settings that point the SDK at this provider and API."""
        port = redirect_port if redirect_port is not None else free_port()
        return {
            "ANACONDA_AUTH_API_DOMAIN": self.api_domain,
            "ANACONDA_AUTH_AUTH_DOMAIN": self.auth_domain,
            "ANACONDA_AUTH_CLIENT_ID": self.client_id,
            "ANACONDA_AUTH_SSL_VERIFY": self.ca_bundle,
            "ANACONDA_AUTH_REDIRECT_URI": f"http://127.0.0.1:{port}/auth/oidc",
        }

    def client(self, **kwargs: Any) -> httpx.Client:
        """A plain httpx client that trusts this run's CA."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(verify=self.ssl_context(), **kwargs)

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this run's CA (and nothing else)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    def _control(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        with self.client() as http:
            response = http.request(method, f"{self.api_origin}/__e2e__/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def requests(self, *, server: str = "api") -> list[dict[str, Any]]:
        """What the API emulator (or the provider: server="auth") received, oldest first."""
        entries: list[dict[str, Any]] = self._control(
            "GET", "requests" if server == "api" else "auth-requests"
        )
        return entries

    def clear_requests(self) -> None:
        """Empty both request logs."""
        self._control("DELETE", "requests")
        self._control("DELETE", "auth-requests")

    def revoke(self, api_key: str) -> None:
        """Revoke an API key the emulator issued; /api/account then answers 401."""
        self._control("POST", "keys/revoke", {"api_key": api_key})

    def mint_key(self, *, sub: str = "ada", expires_in: int = 3600) -> dict[str, Any]:
        """A new API key for `sub`, expired already when `expires_in` is negative."""
        minted: dict[str, Any] = self._control(
            "POST", "keys/mint", {"sub": sub, "expires_in": expires_in}
        )
        return minted

    def keys(self) -> list[dict[str, Any]]:
        """Every API key the emulator issued (id, sub, scopes, tags, revoked, exp)."""
        keys: list[dict[str, Any]] = self._control("GET", "keys")
        return keys

    def set_min_api_version(self, version: str | None) -> None:
        """Make the API answer with a Min-Api-Version header (None: no header)."""
        self._control("POST", "config", {"min_api_version": version})

    def set_date_offset(self, seconds: float) -> None:
        """Make both servers' Date header run `seconds` off the real time (0: the real one)."""
        self._control("POST", "config", {"date_offset": seconds})

    def log_text(self) -> str:
        """What the Node process printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@contextmanager
def run_server(
    workdir: Path,
    *,
    client_id: str = SDK_CLIENT_ID,
    access_token_ttl: int = 60,
    device_interval: int = 1,
    start_timeout: float = START_TIMEOUT,
    max_lifetime: int = 1800,
) -> Iterator[E2EServer]:
    """Start the provider and API emulator; stop them (process group) on exit."""
    node = shutil.which("node")
    if node is None:
        raise HarnessError("node not found on PATH")
    workdir.mkdir(parents=True, exist_ok=True)
    pki = make_pki(workdir / "pki")
    state_file = workdir / "server-state.json"
    log_path = workdir / "server.log"
    state_file.unlink(missing_ok=True)
    clients = [client_id] if client_id == SDK_CLIENT_ID else [client_id, SDK_CLIENT_ID]
    env = {
        **os.environ,
        "E2E_TLS_CERT": str(pki.server_cert),
        "E2E_TLS_KEY": str(pki.server_key),
        "E2E_CA_CERT": str(pki.ca_cert),
        "E2E_STATE_FILE": str(state_file),
        "E2E_CLIENT_IDS": ",".join(clients),
        "E2E_ACCESS_TOKEN_TTL": str(access_token_ttl),
        "E2E_DEVICE_INTERVAL": str(device_interval),
        "E2E_MAX_LIFETIME": str(max_lifetime),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(SERVER_SCRIPT)],
            cwd=PROVIDER_DIR,
            env=env,
            stdin=subprocess.PIPE,  # closing it (or our death) stops the server
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        state = _wait_for_state(process, state_file, log_path, start_timeout)
        server = E2EServer(
            process=process,
            pki=pki,
            auth_port=int(state["auth_port"]),
            api_port=int(state["api_port"]),
            issuer=str(state["issuer"]),
            client_id=client_id,
            log_path=log_path,
            access_token_ttl=access_token_ttl,
        )
        _wait_for_discovery(server, process, start_timeout)
        yield server
    finally:
        stop_process_group(process)


@dataclass(frozen=True)
class PanelServer:
    """A running ``panel serve`` with the ``anaconda_cloud`` OAuth provider."""

    process: subprocess.Popen[bytes]
    port: int
    app_url: str
    log_path: Path

    def log_text(self) -> str:
        """What Panel printed so far (for failure messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""


@contextmanager
def run_panel(
    workdir: Path,
    env: Mapping[str, str],
    *,
    app: Path = PANEL_APP,
    client_id: str = PANEL_CLIENT_ID,
    start_timeout: float = 60.0,
) -> Iterator[PanelServer]:
    """Serve `app` with ``panel serve --oauth-provider anaconda_cloud`` on 127.0.0.1.

    `env` points the provider at the e2e server (``ANACONDA_AUTH_*``, as
    `E2EServer.env` gives them); the Panel app logs in as the public client `client_id`
    with PKCE and is redirected to its ``/login``. Stops Panel (process group) on exit.
    """
    import secrets

    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    origin = f"127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "panel", "serve", str(app),
        "--address", "127.0.0.1", "--port", str(port),
        "--allow-websocket-origin", origin,
        "--oauth-provider", "anaconda_cloud",
        "--oauth-key", client_id,
        "--oauth-redirect-uri", f"http://{origin}/login",
        "--cookie-secret", secrets.token_hex(16),
    ]  # fmt: skip
    log_path = workdir / "panel.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PanelServer(process, port, f"http://{origin}/{app.stem}", log_path)
    try:
        _wait_for_panel(server, start_timeout)
        yield server
    finally:
        stop_process_group(process)


def _wait_for_panel(server: PanelServer, timeout: float) -> None:
    """Poll the app until Panel answers (a redirect to its login page)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    with httpx.Client(timeout=2.0, follow_redirects=False) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise HarnessError(f"panel serve exited:\n{server.log_text()}")
            try:
                response = http.get(server.app_url)
                if response.status_code < 500:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.2)
    raise HarnessError(
        f"panel serve was not ready in {timeout:.0f} s ({last_error}):\n{server.log_text()}"
    )


def _wait_for_state(
    process: subprocess.Popen[bytes], state_file: Path, log_path: Path, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(
                f"the e2e provider exited with status {process.returncode}:\n"
                + log_path.read_text(errors="replace")
            )
        if state_file.is_file():
            state: dict[str, Any] = json.loads(state_file.read_text())
            return state
        time.sleep(0.05)
    raise HarnessError(
        f"the e2e provider did not start in {timeout:.0f} s:\n"
        + log_path.read_text(errors="replace")
    )


def _wait_for_discovery(
    server: E2EServer, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Poll the discovery document until it names the expected issuer."""
    url = f"{server.issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    with server.client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise HarnessError(f"the e2e provider exited:\n{server.log_text()}")
            try:
                response = http.get(url)
                if response.status_code == 200 and response.json().get("issuer") == server.issuer:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.1)
    raise HarnessError(f"{url} was not ready in {timeout:.0f} s ({last_error})")


def stop_process_group(process: subprocess.Popen[Any], *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group of `process` (its own session), SIGKILL it if it lingers."""
    if process.stdin is not None:
        with suppress(OSError):
            process.stdin.close()
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)
    # Anything left in the group (there should be nothing) goes too.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def main() -> int:
    """Run the harness until Ctrl-C, printing the settings that point the SDK at it."""
    import tempfile

    if reason := node_missing_reason():
        print(reason, file=sys.stderr)
        return 1
    ensure_node_modules()
    with (
        tempfile.TemporaryDirectory(prefix="anaconda-auth-e2e-") as tmp,
        run_server(Path(tmp)) as server,
    ):
        print("# The provider and API emulator are running; export these, then log in:")
        for name, value in server.env(redirect_port=8000).items():
            print(f"export {name}={value}")
        print(f'export BROWSER="{sys.executable} {BROWSER_SCRIPT} %s"')
        print(f"# issuer {server.issuer}, API {server.api_origin}; Ctrl-C stops them.")
        with suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
