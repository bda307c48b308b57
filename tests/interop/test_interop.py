"""One login for every Anaconda tool, checked against the real packages (nox -s interop).

Each test gets a throwaway HOME and runs three programs against it, each in its own
process and virtual environment, with default settings everywhere (no ANACONDA_*
variable, no config file): this package (the session's own venv), anaconda-auth 0.15.3
and anaconda-cloud-auth 0.6.0. Logins skip only the network: each package's own login
code runs, with the step that asks the server for an API key replaced by a fixed key.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anaconda_auth_async.testing import make_api_key

ANACONDA_AUTH = os.environ.get("INTEROP_PYTHON_ANACONDA_AUTH", "")
CLOUD_AUTH = os.environ.get("INTEROP_PYTHON_ANACONDA_CLOUD_AUTH", "")

OUR_LOGIN = """
import sys
from anaconda_auth_async.logins import login as _login
from anaconda_auth_async.logins.key_exchange import APIKey
from anaconda_auth_async.sync import login

async def obtain_key(settings, **_):
    return APIKey(api_key=sys.argv[1], username="alice")

_login._obtain_key = obtain_key  # the network part; the storage part is the real one
print(login(force=True).api_key == sys.argv[1])
"""

THEIR_LOGIN = """
import sys
import anaconda_auth.actions as actions

actions._do_device_flow = lambda config: "access-token"  # the network part
actions.get_api_key = lambda access_token, config=None: sys.argv[1]
actions.login(force=True)
"""

THEIR_KEY = """
from anaconda_auth.exceptions import TokenNotFoundError
from anaconda_auth.token import TokenInfo

try:
    print(TokenInfo.load().get_access_token())
except TokenNotFoundError:
    print("not found")
"""

SEED_LOGIN = """
import sys
from anaconda_cloud_auth.config import AuthConfig
from anaconda_cloud_auth.token import TokenInfo

TokenInfo(domain=AuthConfig().domain, api_key=sys.argv[1], username="bob").save()
"""

SEED_KEY = """
from anaconda_cloud_auth.config import AuthConfig
from anaconda_cloud_auth.exceptions import TokenNotFoundError
from anaconda_cloud_auth.token import TokenInfo

try:
    print(TokenInfo.load(AuthConfig().domain).get_access_token())
except TokenNotFoundError:
    print("not found")
"""

OUR_REQUEST = """
import httpx
from anaconda_auth_async.sync import BaseClient

seen = []
def handler(request):
    seen.append(request.headers.get("Authorization"))
    return httpx.Response(200, json={})

with BaseClient(transport=httpx.MockTransport(handler)) as client:
    client.get("/api/account")
print(seen[0])
"""


def printed_key(result: subprocess.CompletedProcess[str]) -> str:
    """The key an ``api-key`` command printed, or "not found" where it failed."""
    return result.stdout.strip() if result.returncode == 0 else "not found"


class Machine:
    """One throwaway HOME shared by the three packages."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", ""),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "OTEL_SDK_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def command(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run `argv` in this home with this environment only (nothing of ours leaks in)."""
        return subprocess.run(
            list(argv), cwd=self.home, env=self.env, capture_output=True, text=True, timeout=120
        )

    def run(self, python: str, code: str, *args: str) -> str:
        result = self.command(python, "-c", textwrap.dedent(code), *args)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout.strip()

    def ours(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.command(sys.executable, "-m", "anaconda_auth_async", *args)

    def our_key(self) -> str:
        return printed_key(self.ours("api-key"))

    def anaconda(self, *args: str) -> subprocess.CompletedProcess[str]:
        """anaconda-auth's own command line: ``anaconda auth ...``."""
        return self.command(str(Path(ANACONDA_AUTH).parent / "anaconda"), "auth", *args)

    def their_cli_key(self) -> str:
        return printed_key(self.anaconda("api-key"))

    def their_logout(self, *args: str) -> None:
        """``anaconda auth logout`` (its defaults: the anaconda.com site)."""
        result = self.anaconda("logout", *args)
        assert result.returncode == 0, result.stderr[-2000:]

    def nobody_sends_a_key(self) -> None:
        """No tool finds a key: anaconda-auth (its load, migration included, and its CLI),
        anaconda-cloud-auth 0.6, and ours (CLI and a client's request)."""
        assert self.run(ANACONDA_AUTH, THEIR_KEY) == "not found"
        assert self.their_cli_key() == "not found"
        assert self.run(CLOUD_AUTH, SEED_KEY) == "not found"
        assert self.our_key() == "not found"
        assert self.run(sys.executable, OUR_REQUEST) == "None"

    def entries(self) -> dict[str, dict[str, object]]:
        """The decoded entries of the Anaconda Cloud service in ~/.anaconda/keyring."""
        data = json.loads((self.home / ".anaconda" / "keyring").read_text())
        return {
            name: json.loads(base64.b64decode(value))
            for name, value in data.get("Anaconda Cloud", {}).items()
            if name != "elsewhere.example"  # an opaque value another tool stored
        }


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    home.mkdir()
    return Machine(home)


def test_a_key_stored_by_anaconda_auth_is_found_and_sent_by_ours(machine: Machine) -> None:
    key = make_api_key()
    machine.run(ANACONDA_AUTH, THEIR_LOGIN, key)
    assert list(machine.entries()) == ["anaconda.com"]
    assert machine.our_key() == key
    status = machine.ours("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["logged_in"] is True
    assert machine.run(sys.executable, OUR_REQUEST) == f"Bearer {key}"
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == key  # and it is still theirs


def test_a_key_stored_by_our_login_is_found_by_both_other_packages(machine: Machine) -> None:
    key = make_api_key()
    assert machine.run(sys.executable, OUR_LOGIN, key) == "True"
    assert machine.run(CLOUD_AUTH, SEED_KEY) == key  # before anaconda-auth moves it
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == key
    assert machine.their_cli_key() == key  # `anaconda auth api-key`
    assert machine.our_key() == key
    # anaconda-auth moved it to its own name, where anaconda-cloud-auth 0.6 does not look
    # (docs/storage.md, combinations that cannot work)
    assert machine.run(CLOUD_AUTH, SEED_KEY) == "not found"


def test_anaconda_auth_load_and_migration_leave_us_logged_in(machine: Machine) -> None:
    key = make_api_key()
    machine.run(sys.executable, OUR_LOGIN, key)
    assert list(machine.entries()) == ["id.anaconda.cloud"]  # the one name we write
    assert machine.run(CLOUD_AUTH, SEED_KEY) == key
    # anaconda-auth's first load moves it to its own name (its migration): we follow it
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == key
    assert list(machine.entries()) == ["anaconda.com"]
    assert machine.our_key() == key
    assert machine.run(sys.executable, OUR_REQUEST) == f"Bearer {key}"

    # A login kept only under the old name (anaconda-cloud-auth 0.6's) is moved the same way.
    (machine.home / ".anaconda" / "keyring").unlink()
    seed_key = make_api_key()
    machine.run(CLOUD_AUTH, SEED_LOGIN, seed_key)
    assert list(machine.entries()) == ["id.anaconda.cloud"]
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == seed_key
    assert list(machine.entries()) == ["anaconda.com"]  # migrated, original deleted
    assert machine.our_key() == seed_key
    assert machine.run(sys.executable, OUR_REQUEST) == f"Bearer {seed_key}"


def test_after_anaconda_auth_logs_in_again_ours_uses_its_key_and_leaves_it(
    machine: Machine,
) -> None:
    ours = make_api_key(claims={"iat": 1_700_000_000})
    machine.run(sys.executable, OUR_LOGIN, ours)
    theirs = make_api_key(claims={"iat": 1_700_000_100})
    machine.run(ANACONDA_AUTH, THEIR_LOGIN, theirs)
    assert machine.our_key() == theirs  # the newer login wins
    assert machine.run(sys.executable, OUR_REQUEST) == f"Bearer {theirs}"
    assert machine.ours("status").returncode == 0
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == theirs
    assert machine.their_cli_key() == theirs

    # and our next login is everyone's: anaconda-cloud-auth's now, anaconda-auth's once
    # its next load has moved it
    newest = make_api_key(claims={"iat": 1_700_000_200})
    machine.run(sys.executable, OUR_LOGIN, newest)
    assert list(machine.entries()) == ["id.anaconda.cloud"]
    assert machine.run(CLOUD_AUTH, SEED_KEY) == newest
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == newest
    assert machine.our_key() == newest


def test_no_side_loses_the_others_entries_or_fields(machine: Machine) -> None:
    machine.run(ANACONDA_AUTH, THEIR_LOGIN, make_api_key())
    install_repo_token = """
    from anaconda_auth.token import TokenInfo
    token = TokenInfo.load()
    token.set_repo_token("acme", "repo-token-1")
    token.save()
    import keyring
    keyring.set_password("Some Other Tool", "user", "kept")
    keyring.set_password("Anaconda Cloud", "elsewhere.example", "opaque value")
    """
    machine.run(ANACONDA_AUTH, install_repo_token)
    key = make_api_key()
    machine.run(sys.executable, OUR_LOGIN, key)

    entries = machine.entries()
    assert list(entries) == ["id.anaconda.cloud"]  # anaconda.com emptied, its tokens kept
    ours = entries["id.anaconda.cloud"]
    assert ours["api_key"] == key
    assert ours["repo_tokens"] == [{"token": "repo-token-1", "org_name": "acme"}]
    assert ours["version"] == 2
    assert ours["domain"] == "id.anaconda.cloud"
    data = json.loads((machine.home / ".anaconda" / "keyring").read_text())
    assert data["Some Other Tool"] == {"user": "kept"}
    assert data["Anaconda Cloud"]["elsewhere.example"] == "opaque value"
    repo_token = """
    from anaconda_auth.token import TokenInfo
    print(TokenInfo.load().get_repo_token("acme"))
    """
    assert machine.run(ANACONDA_AUTH, repo_token) == "repo-token-1"  # after its migration
    assert machine.entries()["anaconda.com"]["api_key"] == key

    # anaconda-auth rewriting its entry keeps our key in use
    machine.run(ANACONDA_AUTH, install_repo_token)
    assert machine.our_key() == key


def test_our_logout_logs_out_every_tool(machine: Machine) -> None:
    machine.run(sys.executable, OUR_LOGIN, make_api_key())
    machine.run(CLOUD_AUTH, SEED_LOGIN, make_api_key())
    legacy = """
    import keyring, sys
    from anaconda_auth.token import TokenInfo
    TokenInfo(domain="anaconda.cloud", api_key=sys.argv[1]).save()
    """
    machine.run(ANACONDA_AUTH, legacy, make_api_key())
    result = machine.ours("logout")
    assert result.returncode == 0, result.stderr
    assert machine.entries() == {}
    assert machine.run(ANACONDA_AUTH, THEIR_KEY) == "not found"  # migration finds nothing
    assert machine.their_cli_key() == "not found"
    assert machine.run(CLOUD_AUTH, SEED_KEY) == "not found"
    assert machine.our_key() == "not found"


def test_anaconda_cloud_auth_login_still_works_with_ours(machine: Machine) -> None:
    key = make_api_key()
    machine.run(CLOUD_AUTH, SEED_LOGIN, key)
    assert machine.our_key() == key
    assert machine.run(sys.executable, OUR_REQUEST) == f"Bearer {key}"
    assert machine.run(CLOUD_AUTH, SEED_KEY) == key


def test_a_named_site_of_config_toml_shares_its_key(machine: Machine) -> None:
    config = machine.home / ".anaconda" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sites.work]\ndomain = "work.example.com"\n\n[sites.other]\ndomain = "x.example"\n'
    )
    theirs = make_api_key()
    site_login = THEIR_LOGIN.replace(
        "actions.login(force=True)", 'actions.login("work", force=True)'
    )
    machine.run(ANACONDA_AUTH, site_login, theirs)
    assert list(machine.entries()) == ["work.example.com"]
    found = machine.ours("api-key", "--at", "work")
    assert found.stdout.strip() == theirs, found.stderr
    assert machine.ours("status", "--at", "other").returncode == 3

    ours = make_api_key(claims={"iat": 2_000_000_000 - 10})
    our_site_login = OUR_LOGIN.replace("login(force=True)", 'login(force=True, site="work")')
    assert machine.run(sys.executable, our_site_login, ours) == "True"
    anaconda = str(Path(ANACONDA_AUTH).parent / "anaconda")
    result = subprocess.run(
        [anaconda, "auth", "api-key", "--at", "work"],
        cwd=machine.home,
        env=machine.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == ours, result.stderr
    assert machine.ours("logout", "--at", "work").returncode == 0
    assert machine.entries() == {}


SEED_LOGOUT = """
from anaconda_cloud_auth.actions import logout
logout()
"""

OUR_OLD_LOGIN = """
import base64, json, sys
from pathlib import Path

# What a login of this package wrote before one name: the same entry under both names.
path = Path.home() / ".anaconda" / "keyring"
path.parent.mkdir(parents=True, exist_ok=True)
entry = {"api_key": sys.argv[1], "username": "alice", "repo_tokens": [],
         "version": 2, "api_domain": "anaconda.cloud"}
names = ("id.anaconda.cloud", "anaconda.com")
data = {"Anaconda Cloud": {
    n: base64.b64encode(json.dumps({**entry, "domain": n}).encode()).decode() for n in names
}}
path.write_text(json.dumps(data))
"""


@pytest.mark.parametrize("their_load_first", [False, True], ids=["at-once", "after-migration"])
def test_anaconda_auth_logout_after_our_login_logs_out_every_tool(
    machine: Machine, their_load_first: bool
) -> None:
    key = make_api_key()
    machine.run(sys.executable, OUR_LOGIN, key)
    if their_load_first:  # anaconda-auth ran in between: its migration moved the key
        assert machine.run(ANACONDA_AUTH, THEIR_KEY) == key
    machine.their_logout()
    assert machine.entries() == {}
    machine.nobody_sends_a_key()  # anaconda-auth's loads (and migration) run again here


def test_anaconda_auth_logout_after_its_login_then_ours_logs_out_every_tool(
    machine: Machine,
) -> None:
    machine.run(ANACONDA_AUTH, THEIR_LOGIN, make_api_key(claims={"iat": 1_700_000_000}))
    machine.run(sys.executable, OUR_LOGIN, make_api_key(claims={"iat": 1_700_000_100}))
    machine.their_logout()
    machine.nobody_sends_a_key()


def test_anaconda_cloud_auth_logout_after_our_login_logs_out_every_tool(machine: Machine) -> None:
    machine.run(sys.executable, OUR_LOGIN, make_api_key())
    machine.run(CLOUD_AUTH, SEED_LOGOUT)
    machine.nobody_sends_a_key()


def test_anaconda_auth_logout_after_anaconda_cloud_auth_login(machine: Machine) -> None:
    machine.run(CLOUD_AUTH, SEED_LOGIN, make_api_key())
    machine.their_logout()  # its load migrates the entry first, then deletes it
    machine.nobody_sends_a_key()


def test_our_logout_after_anaconda_auth_login_and_migration(machine: Machine) -> None:
    machine.run(ANACONDA_AUTH, THEIR_LOGIN, make_api_key())
    machine.run(CLOUD_AUTH, SEED_LOGIN, make_api_key())
    assert machine.ours("logout").returncode == 0
    machine.nobody_sends_a_key()


def test_a_two_name_login_of_an_older_version_is_logged_out_by_anaconda_auth(
    machine: Machine,
) -> None:
    machine.run(sys.executable, OUR_OLD_LOGIN, make_api_key())
    machine.their_logout()  # deletes anaconda.com; id.anaconda.cloud is left
    assert list(machine.entries()) == ["id.anaconda.cloud"]
    assert machine.our_key() == "not found"  # we see its companion is gone, and remove it
    assert machine.entries() == {}
    machine.nobody_sends_a_key()


def test_a_named_site_logout_by_anaconda_auth_is_a_logout_here(machine: Machine) -> None:
    config = machine.home / ".anaconda" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sites.work]\ndomain = "work.example.com"\nauth_domain_override = "id.work.example.com"\n'
    )
    our_site_login = OUR_LOGIN.replace("login(force=True)", 'login(force=True, site="work")')
    key = make_api_key()
    assert machine.run(sys.executable, our_site_login, key) == "True"
    assert sorted(machine.entries()) == ["id.work.example.com", "work.example.com"]
    assert machine.ours("api-key", "--at", "work").stdout.strip() == key
    machine.their_logout("--at", "work")  # deletes its `domain` only
    assert machine.ours("api-key", "--at", "work").returncode != 0
    assert machine.entries() == {}
    assert machine.anaconda("api-key", "--at", "work").returncode != 0


THEIR_SCOPES = """
import json
import anaconda_auth.actions as actions

sent = []

class Created:
    status_code = 201
    def json(self):
        return {"api_key": "k"}

def post(self, url, json=None, **_):
    sent.append(json)
    return Created()

actions.BaseClient.post = post  # the network part: the body is what we compare
actions.get_api_key("access-token")
print(json.dumps(sent[0]["scopes"]))
"""

SEED_SCOPES = """
import json
import anaconda_cloud_auth.actions as actions

sent = []

class Created:
    status_code = 201
    def json(self):
        return {"api_key": "k"}

def post(url, json=None, **_):
    sent.append(json)
    return Created()

actions.requests.post = post
actions.get_api_key("access-token")
print(json.dumps(sent[0]["scopes"]))
"""

OUR_SCOPES = """
import json
from anaconda_auth_async import AnacondaAuthSettings
from anaconda_auth_async.logins.key_exchange import api_key_request

print(json.dumps(api_key_request(AnacondaAuthSettings())[1]["scopes"]))
"""


def test_our_key_asks_for_every_scope_either_package_asks_for(machine: Machine) -> None:
    theirs = json.loads(machine.run(ANACONDA_AUTH, THEIR_SCOPES))
    seeds = json.loads(machine.run(CLOUD_AUTH, SEED_SCOPES))
    ours = json.loads(machine.run(sys.executable, OUR_SCOPES))
    assert "repo:read" in theirs  # what its conda plugin needs at repo.anaconda.cloud
    assert sorted(ours) == sorted(set(theirs) | set(seeds))
