"""``anaconda-auth`` configured by ``~/.anaconda/config.toml`` alone: no ANACONDA_* variable.

The file is written as an anaconda-auth user would write it, into a throwaway HOME; each
command runs in a fresh process whose environment has no ``ANACONDA_*`` name at all.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from conftest import E2E

pytestmark = pytest.mark.e2e


def run(e2e: E2E, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in e2e.subprocess_env().items() if not k.startswith("ANACONDA_")}
    env["HOME"] = str(home)
    return e2e.run_cli(*args, environ=env)


def write_config(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "config-home"
    (home / ".anaconda").mkdir(parents=True)
    (home / ".anaconda" / "config.toml").write_text(text)
    return home


def common(e2e: E2E) -> str:
    server = e2e.server
    return (
        f'client_id = "{server.client_id}"\n'
        f'ssl_verify = "{server.ca_bundle}"\n'
        f'redirect_uri = "{e2e.redirect_uri}"\n'
    )


def entries(home: Path) -> dict[str, dict[str, object]]:
    data = json.loads((home / ".anaconda" / "keyring").read_text())
    return {k: json.loads(base64.b64decode(v)) for k, v in data["Anaconda Cloud"].items()}


def test_login_with_only_config_toml(e2e: E2E, tmp_path: Path) -> None:
    server = e2e.server
    home = write_config(
        tmp_path,
        "[plugin.auth]\n"
        f'api_domain = "{server.api_domain}"\n'
        f'auth_domain = "{server.auth_domain}"\n' + common(e2e),
    )
    login = run(e2e, home, "login")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"Logged in to {server.auth_domain} as ada@example.com."
    stored = entries(home)
    assert set(stored) == {server.auth_domain, server.api_domain}  # ours and anaconda-auth's
    assert len({e["api_key"] for e in stored.values()}) == 1

    whoami = run(e2e, home, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.splitlines()[1] == "Email: ada@example.com"

    status = run(e2e, home, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    config = home / ".anaconda" / "config.toml"
    assert report["site"] is None
    assert report["settings"]["api_domain"]["from"] == (
        f"api_domain in [plugin.auth] of {config}, line 2"
    )
    assert report["settings"]["ssl_verify"]["from"].startswith("ssl_verify in [plugin.auth]")

    logout = run(e2e, home, "logout")
    assert logout.returncode == 0, logout.stderr
    assert entries(home) == {}


def test_at_selects_one_of_two_sites(e2e: E2E, tmp_path: Path) -> None:
    server = e2e.server
    home = write_config(
        tmp_path,
        'default_site = "decoy"\n'
        "[plugin.auth]\n" + common(e2e) + "\n[sites.decoy]\n"
        'domain = "127.0.0.1:9"\n'
        "\n[sites.e2e]\n"
        f'domain = "{server.api_domain}"\n'
        f'auth_domain_override = "{server.auth_domain}"\n'
        "use_device_flow = false\n",
    )
    login = run(e2e, home, "login", "--at", "e2e")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"Logged in to {server.auth_domain} as ada@example.com."

    status = run(e2e, home, "status", "--at", "e2e")
    assert status.returncode == 0, status.stderr
    assert "Site:        e2e" in status.stdout.splitlines()
    assert "  site          e2e  (from --at)" in status.stdout.splitlines()

    whoami = run(e2e, home, "whoami", "--at", "e2e")
    assert whoami.returncode == 0, whoami.stderr

    default = run(e2e, home, "status", "--json")  # the default site: not logged in there
    assert default.returncode == 3
    assert json.loads(default.stdout)["site"] == "decoy"

    logout = run(e2e, home, "logout", "--at", "e2e")
    assert logout.returncode == 0, logout.stderr
    assert run(e2e, home, "status", "--at", "e2e").returncode == 3
