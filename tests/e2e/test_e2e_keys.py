"""The life of a key against the real provider and the API emulator: ``api-key --new``,
``login --with-token``, a key file.

``api-key --new`` runs a real login in the scripted browser; what the emulator recorded
for the key it minted (``/__e2e__/keys``) shows the scopes and tags the mint request asked
for.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from conftest import E2E, STEP_TIMEOUT

pytestmark = pytest.mark.e2e


def key_id(key: str) -> str:
    payload = key.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def account_status(e2e: E2E, key: str) -> int:
    with e2e.server.client() as http:
        response = http.get(
            f"{e2e.server.api_origin}/api/account", headers={"Authorization": f"Bearer {key}"}
        )
    return response.status_code


def test_api_key_new_prints_a_working_key_and_keeps_the_stored_login(e2e: E2E) -> None:
    login = e2e.run_cli("login")
    assert login.returncode == 0, login.stderr
    e2e.wait_for_browser()
    before = e2e.stored()
    assert before is not None
    assert before.api_key is not None

    new = e2e.run_cli(
        "api-key", "--new", "--scope", "cloud:read", "-s", "repo:read", "--tag", "ci", "--json"
    )
    assert new.returncode == 0, new.stderr
    e2e.wait_for_browser(2)  # a fresh login really ran
    minted = json.loads(new.stdout)
    assert set(minted) >= {"api_key", "id", "expires_at", "scopes", "tags"}
    assert minted["api_key"] != before.api_key
    assert minted["scopes"] == ["cloud:read", "repo:read"]
    assert minted["api_key"] not in new.stderr
    assert "It was not stored" in new.stderr

    (record,) = [k for k in list(e2e.server.keys()) if k["id"] == minted["id"]]
    assert record["scopes"] == ["cloud:read", "repo:read"]  # what the mint request asked
    assert record["tags"][-1] == "ci"
    assert record["tags"][0].startswith("anaconda-auth-async/v")
    assert account_status(e2e, minted["api_key"]) == 200

    assert e2e.stored() == before  # the person's own login is untouched
    plain = e2e.run_cli("api-key", "--new")
    assert plain.returncode == 0, plain.stderr
    key = plain.stdout.strip()
    assert plain.stdout == f"{key}\n"
    assert account_status(e2e, key) == 200
    (default,) = [k for k in list(e2e.server.keys()) if k["id"] == key_id(key)]
    assert default["scopes"] == ["cloud:read", "cloud:write", "repo:read"]
    assert e2e.stored() == before


def test_api_key_new_denied_prints_nothing_on_stdout(e2e: E2E) -> None:
    e2e.set_browser_mode("deny")
    result = e2e.run_cli("api-key", "--new", "--json")
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "access_denied" in errors[0]
    assert e2e.stored() is None


def run_with_stdin(e2e: E2E, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*e2e.cli_command(), *args],
        env=e2e.subprocess_env(),
        input=text,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


def test_login_with_token_stores_a_key_the_api_accepts_and_refuses_a_revoked_one(
    e2e: E2E,
) -> None:
    key = e2e.server.mint_key(sub="grace")["api_key"]
    result = run_with_stdin(e2e, f"{key}\n", "login", "--with-token")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"Logged in to {e2e.server.auth_domain} as grace@example.com with the given API key"
    )
    stored = e2e.stored()
    assert stored is not None
    assert stored.api_key == key
    whoami = e2e.run_cli("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert "grace@example.com" in whoami.stdout
    assert e2e.browser_records() == []  # no login ran

    revoked = e2e.server.mint_key(sub="ada")["api_key"]
    e2e.server.revoke(revoked)
    refused = run_with_stdin(e2e, revoked, "login", "--with-token")
    assert refused.returncode == 3, refused.stderr  # a refused key, as whoami's
    assert "rejected the API key" in refused.stderr
    assert e2e.stored() == stored
