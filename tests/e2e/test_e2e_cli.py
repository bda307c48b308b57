"""``anaconda-auth`` run as a subprocess against the real provider and the API emulator.

Each command runs in a fresh process with this test's ``ANACONDA_AUTH_*`` settings and
``BROWSER`` pointing at the scripted browser, as a user's shell would run it.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from typing import IO

import pytest
from conftest import E2E, STEP_TIMEOUT

pytestmark = pytest.mark.e2e

DEVICE_LINE = re.compile(r"To log in, visit (?P<url>\S+) and enter the code (?P<code>\S+)")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def test_cli_login_whoami_api_key_status_logout(e2e: E2E) -> None:
    domain = e2e.server.auth_domain
    login = e2e.run_cli("login")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"Logged in to {domain} as ada@example.com."
    assert (
        "Opening your browser to log in. If it does not open, visit: http://127.0.0.1:"
        in login.stderr
    )  # the single-use link
    token = e2e.stored()
    assert token is not None
    assert token.api_key is not None
    (record,) = e2e.wait_for_browser()
    assert record["final_title"] == "Login successful"

    whoami = e2e.run_cli("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.splitlines() == ["Name:  Ada Lovelace", "Email: ada@example.com"]
    assert token.api_key not in whoami.stdout + whoami.stderr

    api_key = e2e.run_cli("api-key")
    assert api_key.returncode == 0, api_key.stderr
    assert api_key.stdout == f"{token.api_key}\n"

    status = e2e.run_cli("status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["logged_in"] is True
    assert report["auth_domain"] == domain
    assert report["api_domain"] == e2e.server.api_domain
    assert report["username"] == "ada@example.com"
    assert report["days_left"] >= 360
    assert token.api_key not in status.stdout

    logout = e2e.run_cli("logout")
    assert logout.returncode == 0, logout.stderr
    assert e2e.stored() is None
    after = e2e.run_cli("whoami")
    assert after.returncode == 3
    assert len(error_lines(after.stderr)) == 1
    assert "anaconda-auth login" in after.stderr


def test_cli_second_login_without_force_does_nothing(e2e: E2E) -> None:
    first = e2e.run_cli("login")
    assert first.returncode == 0, first.stderr
    key = e2e.stored()
    e2e.wait_for_browser()
    e2e.server.clear_requests()

    again = e2e.run_cli("login")
    assert again.returncode == 0, again.stderr
    assert "already logged in" in again.stdout
    assert e2e.stored() == key
    assert e2e.server.requests(server="auth") == []
    assert len(e2e.browser_records()) == 1

    forced = e2e.run_cli("login", "--force")
    assert forced.returncode == 0, forced.stderr
    assert e2e.stored() != key
    assert len(e2e.wait_for_browser(2)) == 2


def _read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def test_cli_device_login(e2e: E2E) -> None:
    process = e2e.start_cli("login", "--device")  # stopped after the test
    assert process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True).start()
    deadline = time.monotonic() + STEP_TIMEOUT
    seen: list[str] = []
    match = None
    while match is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, "".join(seen)
            continue
        seen.append(line)
        match = DEVICE_LINE.search(line)
    assert match is not None, "".join(seen)
    assert match["url"].startswith(f"{e2e.server.issuer}/device")

    record = e2e.run_browser(match["url"], mode="device", user_code=match["code"])
    assert record["error"] is None, record
    stdout, _ = process.communicate(timeout=STEP_TIMEOUT)
    assert process.returncode == 0, "".join(seen)
    assert stdout.strip() == f"Logged in to {e2e.server.auth_domain} as ada@example.com."
    assert e2e.stored() is not None


def assert_denied_cli_login(e2e: E2E) -> None:
    """The person denies consent to ``anaconda-auth login``: exit 4, one error line naming
    access_denied, no traceback, nothing stored."""
    e2e.set_browser_mode("deny")
    result = e2e.run_cli("login")
    assert result.returncode == 4, result.stderr
    (line,) = error_lines(result.stderr)
    assert "access_denied" in line
    assert "Traceback" not in result.stderr
    assert e2e.stored() is None


def test_cli_denied_login_exits_4_and_stores_nothing(e2e: E2E) -> None:
    assert_denied_cli_login(e2e)


def test_cli_tls_default_trust_fails_and_ca_bundle_option_works(e2e: E2E) -> None:
    e2e.delenv("ANACONDA_AUTH_SSL_VERIFY")
    failed = e2e.run_cli("login", "--ssl-verify")
    assert failed.returncode == 5, failed.stderr
    (line,) = error_lines(failed.stderr)
    assert "certificate" in line.lower()
    assert e2e.server.auth_domain in line
    assert e2e.stored() is None
    assert e2e.browser_records() == []

    ok = e2e.run_cli("login", "--ca-bundle", e2e.server.ca_bundle)
    assert ok.returncode == 0, ok.stderr
    assert e2e.stored() is not None


def test_cli_whoami_with_a_revoked_or_expired_key_exits_3(e2e: E2E) -> None:
    e2e.server.revoke(e2e.log_in())
    revoked = e2e.run_cli("whoami")
    assert revoked.returncode == 3, revoked.stderr
    (line,) = error_lines(revoked.stderr)
    assert "rejected" in line
    assert "anaconda-auth login" in line

    expired = e2e.server.mint_key(expires_in=-60)["api_key"]
    e2e.server.clear_requests()
    result = e2e.run_cli("whoami", ANACONDA_AUTH_API_KEY=expired)
    assert result.returncode == 3, result.stderr
    (line,) = error_lines(result.stderr)
    assert "expired" in line
    assert e2e.server.requests() == []  # refused before sending
