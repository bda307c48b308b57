"""The test kit is sealed, proven the way it failed: the downstream example's tests run
in a subprocess, as a package built on the SDK runs them (its own conftest enabling the
plugin, none of this repository's fixtures), on a machine where the developer is logged
in: a real-looking ``~/.anaconda/keyring`` (and a copy kept aside, and a config.toml) in
a temporary HOME, and port 8000 held by another program. Afterwards every file there is
byte for byte what it was."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from anaconda_auth_async import TokenInfo
from anaconda_auth_async.storage.keyring_store import SERVICE
from anaconda_auth_async.testing import make_api_key

DOWNSTREAM = Path(__file__).parent / "downstream"


@pytest.fixture
def port_8000_held() -> Iterator[None]:
    """Another program listens on 127.0.0.1:8000 (the redirect URI's fixed port)."""
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 8000))
        held.listen()
    except OSError:
        pass  # something else holds it already: just as good
    try:
        yield
    finally:
        held.close()


def developer_home(home: Path) -> dict[Path, bytes]:
    """A HOME whose owner is logged in to Anaconda under every name the SDK reads."""
    anaconda = home / ".anaconda"
    anaconda.mkdir(parents=True, mode=0o700)
    entries = {
        name: TokenInfo(domain=name, api_key=make_api_key(sub=f"real-{name}"), username="dev")
        for name in ("anaconda.com", "id.anaconda.cloud", "anaconda.cloud", "id.anaconda.test")
    }
    import json

    data = {SERVICE: {name: token.encode() for name, token in entries.items()}}
    (anaconda / "keyring").write_text(json.dumps(data))
    (anaconda / "keyring").chmod(0o600)
    aside = anaconda / "keyring.corrupt-20260101T000000Z"
    aside.write_bytes(b"{an older copy kept aside, with keys")
    aside.chmod(0o600)
    (anaconda / "config.toml").write_text('[plugin.auth]\nclient_id = "the-developers"\n')
    return {path: path.read_bytes() for path in sorted(anaconda.iterdir())}


def test_the_downstream_tests_leave_a_real_login_byte_for_byte(
    tmp_path: Path, port_8000_held: None
) -> None:
    home = tmp_path / "home"
    before = developer_home(home)
    project = tmp_path / "acme-cloud"
    shutil.copytree(DOWNSTREAM, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "conftest.py").write_text(
        'pytest_plugins = ["anaconda_auth_async.pytest_plugin"]\n'  # as the how-to says
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("ANACONDA_", "PYTEST_", "COV_"))
    }
    env["HOME"] = str(home)
    env.pop("BROWSER", None)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    last = ran.stdout.strip().splitlines()[-1]
    assert " passed" in last
    assert "failed" not in last
    assert "skipped" not in last
    after = {path: path.read_bytes() for path in sorted((home / ".anaconda").iterdir())}
    assert after == before  # no file changed, added (a lock, a temp file) or removed
