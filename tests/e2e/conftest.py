"""Fixtures of the end-to-end tests: a real OpenID Connect provider on loopback.

`e2e_server` (session) makes a CA and a server certificate, runs ``npm ci`` if
``provider/node_modules`` does not match the lockfile, starts ``provider/server.mjs``
(oidc-provider + the Anaconda API emulator) in its own process group and stops it after
the last test. `e2e` (per test) points the SDK at it through ``ANACONDA_AUTH_*`` variables
(a fresh keyring file, a free redirect port) and sets ``BROWSER`` to the scripted browser;
`chromium` (per test) makes ``BROWSER`` headless Chromium instead (``chromium.py``), with
screenshots of the final pages under ``tests/e2e/artifacts/<test>/``.

Without Node.js the tests skip with a reason, and without Chromium the real-browser tests
do; under ``CI=true`` either fails instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The harness modules sit beside this file; import them under any --import-mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chromium import chromium_missing_reason, group_members, is_running, processes_naming
from e2e_harness import (
    BROWSER_SCRIPT,
    TEST_CLIENT_ID,
    E2EServer,
    HarnessError,
    ensure_node_modules,
    free_port,
    node_missing_reason,
    run_server,
)

if TYPE_CHECKING:
    from anaconda_auth_async import LoginEvent, TokenInfo

# Each test's own limit for anything it waits on (a login, a CLI run, the browser).
STEP_TIMEOUT = 60.0
CHROMIUM_SCRIPT = Path(__file__).resolve().parent / "chromium.py"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# How long a browser still running at the end of a test gets to quit before SIGKILL.
BROWSER_STOP_TIMEOUT = 10.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EServer]:
    """The provider and API emulator, started once for the session."""
    reason = node_missing_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI=true but the e2e provider cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        ensure_node_modules()
        with run_server(tmp_path_factory.mktemp("e2e-server"), client_id=TEST_CLIENT_ID) as srv:
            yield srv
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


def _browser_command(url: str, *, mode: str, user_code: str | None) -> list[str]:
    """The scripted browser's command line, in the foreground."""
    code = ["--user-code", user_code] if user_code is not None else []
    return [sys.executable, str(BROWSER_SCRIPT), "--foreground", "--mode", mode, *code, url]


class CodeReader:
    """stderr as the person reads it: the device code printed there goes to the browser
    script, which starts after it is printed, as ``E2E_BROWSER_USER_CODE``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text)
        if match:
            os.environ["E2E_BROWSER_USER_CODE"] = match.group(1)
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@dataclass
class E2E:
    """One test's view of the harness: settings in the environment, browser records."""

    server: E2EServer
    env: dict[str, str]
    browser_log: Path
    keyring_path: Path
    monkeypatch: pytest.MonkeyPatch
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        """The redirect URI (with this test's free port) the SDK is configured with."""
        return self.env["ANACONDA_AUTH_REDIRECT_URI"]

    def set_browser_mode(self, mode: str, **extra: str) -> None:
        """Make the scripted browser approve, deny, confirm a device code, or ignore."""
        self.setenv("E2E_BROWSER_MODE", mode)
        for name, value in extra.items():
            self.setenv(f"E2E_BROWSER_{name.upper()}", value)

    def type_device_code(self) -> None:
        """Act as the person at a device login: read the code the login prints on stderr
        and type it in the browser (the scripted browser's ``E2E_BROWSER_USER_CODE``),
        since the page opened no longer carries it (a command line is public)."""
        self.setenv("E2E_BROWSER_USER_CODE", "")  # restored after the test
        self.monkeypatch.setattr(sys, "stderr", CodeReader(sys.stderr))

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable for the test process and for `subprocess_env`."""
        self.monkeypatch.setenv(name, value)
        self.env[name] = value

    def delenv(self, name: str) -> None:
        """Remove an environment variable for the test process and for `subprocess_env`."""
        self.monkeypatch.delenv(name, raising=False)
        self.env.pop(name, None)

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        """The environment for a CLI subprocess: this test's settings and browser."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANACONDA_")}
        env.update(self.env)
        env.update(extra)
        return env

    def browser_records(self) -> list[dict[str, Any]]:
        """What the scripted browser did in this test, oldest first."""
        records = sorted(self.browser_log.glob("*.json"))
        return [json.loads(p.read_text()) for p in records]

    def wait_for_browser(
        self, count: int = 1, *, timeout: float = STEP_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Wait until the browser has finished `count` runs; return their records."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = self.browser_records()
            if len(records) >= count:
                return records
            time.sleep(0.05)
        stderr = self.browser_log / "browser-stderr.log"
        detail = stderr.read_text(errors="replace") if stderr.is_file() else ""
        raise AssertionError(f"the scripted browser did not finish {count} run(s)\n{detail}")

    def run_browser(self, url: str, *, mode: str, user_code: str | None = None) -> dict[str, Any]:
        """Run the scripted browser in the foreground (as a user would by hand)."""
        args = _browser_command(url, mode=mode, user_code=user_code)
        before = len(self.browser_records())
        subprocess.run(args, env=self.subprocess_env(), timeout=STEP_TIMEOUT, check=False)
        records = self.browser_records()
        assert len(records) == before + 1, "the scripted browser wrote no record"
        return records[-1]

    def start_browser(self, url: str, *, mode: str, user_code: str | None = None) -> None:
        """Start the scripted browser without waiting (it is stopped after the test)."""
        args = _browser_command(url, mode=mode, user_code=user_code)
        self.processes.append(
            subprocess.Popen(args, env=self.subprocess_env(), stdin=subprocess.DEVNULL)
        )

    def start_cli(self, *args: str) -> subprocess.Popen[str]:
        """Start ``anaconda-auth ARGS`` without waiting, stdout and stderr piped as text (it
        is stopped after the test)."""
        process = subprocess.Popen(
            [*self.cli_command(), *args],
            env=self.subprocess_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return process

    def cli_command(self) -> list[str]:
        """The ``anaconda-auth`` console script of this environment (or ``python -m``)."""
        script = Path(sys.executable).with_name("anaconda-auth")
        if script.is_file():
            return [str(script)]
        return [sys.executable, "-m", "anaconda_auth_async"]

    def run_cli(
        self,
        *args: str,
        timeout: float = STEP_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``anaconda-auth ARGS`` as a subprocess with this test's settings (`env`
        added), or with exactly `environ`."""
        return subprocess.run(
            [*self.cli_command(), *args],
            env=dict(environ) if environ is not None else self.subprocess_env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def log_in(self) -> str:
        """Log in with ``anaconda-auth login`` (the scripted browser approves); the stored key."""
        result = self.run_cli("login")
        assert result.returncode == 0, result.stderr
        token = self.stored()
        assert token is not None
        assert token.api_key is not None
        return token.api_key

    def on_device_code(
        self, mode: str, start: Callable[..., object] | None = None
    ) -> Callable[[LoginEvent], None]:
        """An ``on_event`` that opens a device login's page, with its code, in the scripted
        browser (or `start`'s) in `mode`."""

        def on_event(event: LoginEvent) -> None:
            if event.kind == "device_code":
                assert event.url is not None
                assert event.user_code is not None
                (start or self.start_browser)(event.url, mode=mode, user_code=event.user_code)

        return on_event

    def stored(self) -> TokenInfo | None:
        """The keyring file's entry for the auth domain, read as anaconda-cloud-auth would."""
        from anaconda_auth_async import TokenInfo

        if not self.keyring_path.exists():
            return None
        data = json.loads(self.keyring_path.read_text())
        value = data.get("Anaconda Cloud", {}).get(self.server.auth_domain)
        if value is None:
            return None
        raw = json.loads(base64.b64decode(value))
        assert set(raw) >= {"api_key", "username", "repo_tokens", "domain"}
        return TokenInfo.decode(value)

    def settings_kwargs(self) -> Mapping[str, Any]:
        """Keyword arguments for AnacondaAuthSettings equal to the environment."""
        return {
            "api_domain": self.server.api_domain,
            "auth_domain": self.server.auth_domain,
            "client_id": self.server.client_id,
            "ssl_verify": self.server.ca_bundle,
            "redirect_uri": self.redirect_uri,
            "keyring_path": self.keyring_path,
        }


@pytest.fixture
def e2e(e2e_server: E2EServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    """This test's settings (env), a fresh keyring file and the scripted browser."""
    browser_log = tmp_path / "browser"
    keyring_path = tmp_path / "keyring-home" / ".anaconda" / "keyring"
    env = {
        **e2e_server.env(redirect_port=free_port()),
        "ANACONDA_AUTH_KEYRING_PATH": str(keyring_path),
        "ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE": "anaconda-keyring",
        "ANACONDA_AUTH_TIMEOUT": "10",
        "ANACONDA_AUTH_LOGIN_TIMEOUT": "45",
        "BROWSER": f"{sys.executable} {BROWSER_SCRIPT} %s",
        "E2E_BROWSER_MODE": "approve",
        "E2E_BROWSER_CA": e2e_server.ca_bundle,
        "E2E_BROWSER_LOG": str(browser_log),
        "E2E_BROWSER_TIMEOUT": "40",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # webbrowser reads BROWSER once per process; make it read this test's value.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    e2e_server.clear_requests()
    ctx = E2E(e2e_server, env, browser_log, keyring_path, monkeypatch)
    try:
        yield ctx
    finally:
        for process in ctx.processes:
            if process.poll() is None:
                process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        stop_browsers(browser_log)


@pytest.fixture
def chromium(e2e: E2E, request: pytest.FixtureRequest) -> E2E:
    """`e2e` with ``BROWSER`` set to headless Chromium (``chromium.py``), not the script."""
    reason = chromium_missing_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI=true but the real-browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    artifacts = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)
    e2e.setenv("BROWSER", f"{sys.executable} {CHROMIUM_SCRIPT} %s")
    e2e.setenv("E2E_BROWSER_TRUST_CERT", str(e2e.server.pki.server_cert))
    e2e.setenv("E2E_BROWSER_ARTIFACTS", str(artifacts))
    e2e.setenv("E2E_BROWSER_NAME", "final-page")
    e2e.setenv("E2E_BROWSER_LINGER", str(STEP_TIMEOUT))
    return e2e


def stop_browsers(browser_log: Path, *, timeout: float = BROWSER_STOP_TIMEOUT) -> None:
    """End any browser of this test still running, by the pid it recorded; wait for it.

    SIGTERM first (Chromium's launcher then quits Chromium and exits); whatever of it is
    still running after `timeout` seconds (the launcher, its process group, Chromium's
    crash handler) gets SIGKILL, and this returns once it has gone (a few seconds more).
    """
    pids: list[int] = []
    for pid_file in browser_log.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pids.append(int(pid_file.read_text()))
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)

    def running() -> list[int]:
        found = {p for pid in pids for p in (pid, *group_members(pid)) if is_running(p)}
        return sorted(found.union(processes_naming(browser_log)))

    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in running():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
