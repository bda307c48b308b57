"""Security round 2, finding 8: another user's lock file is reported up front.

The review's attack: with the keyring in a shared sticky directory, another user
pre-created ``keyring.lock``; every save and logout then failed ("lock file belongs to uid
2002"), or waited on a lock that user held. Now a lock file owned by another user is
refused before it is opened or waited on, in one sentence naming it and what to do, and
the stored key is left as it was. Runs the installed command's entry point.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from anaconda_auth_async import StorageError
from anaconda_auth_async.cli import cli
from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring
from anaconda_auth_async.testing import make_api_key

NOBODY = 65534
pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown"
)


@pytest.fixture
def shared_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keyring in a sticky directory anyone may write (like /tmp), with a key in it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    path = shared / "keyring"
    monkeypatch.setenv("ANACONDA_AUTH_KEYRING_PATH", str(path))
    assert CliRunner().invoke(cli, ["login", "--with-token"], input=make_api_key()).exit_code == 0
    (shared / "keyring.lock").unlink(missing_ok=True)
    return path


def plant_lock(path: Path) -> Path:
    lock = path.with_name("keyring.lock")
    lock.write_text("")
    lock.chmod(0o600)
    os.chown(lock, NOBODY, NOBODY)  # made by another user
    return lock


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["logout"], None), (["login", "--with-token"], "KEY")],
)
def test_finding8_another_users_lock_is_reported_up_front(
    shared_keyring: Path, args: list[str], stdin: str | None
) -> None:
    before = shared_keyring.read_bytes()
    lock = plant_lock(shared_keyring)
    key = make_api_key(sub="new")
    result = CliRunner().invoke(cli, args, input=key if stdin else None)
    assert result.exit_code != 0, result.output
    assert f"The lock file {lock} belongs to another user (uid {NOBODY})" in result.output
    assert "ANACONDA_AUTH_KEYRING_PATH" in result.output
    assert "Traceback" not in result.output
    assert key not in result.output
    assert shared_keyring.read_bytes() == before  # nothing lost, nothing half-written


def test_finding8_the_store_refuses_without_waiting(shared_keyring: Path) -> None:
    plant_lock(shared_keyring)
    keyring = AnacondaKeyring(path=shared_keyring)
    with pytest.raises(StorageError, match="belongs to another user"):
        keyring.set_password("Anaconda Cloud", "id.anaconda.cloud", "k")
    assert keyring.get_password("Anaconda Cloud", "id.anaconda.cloud")  # reads still work


def test_the_users_own_lock_is_used(shared_keyring: Path) -> None:
    lock = shared_keyring.with_name("keyring.lock")
    lock.write_text("")
    lock.chmod(0o600)
    AnacondaKeyring(path=shared_keyring).set_password("Anaconda Cloud", "x.example", "k")
