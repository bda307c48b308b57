"""Security: the file keyring trusts only what the user alone could have written
(issue 13, finding 6: symlinked lock, planted file, chmod of $HOME, stale temp files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from anaconda_auth_async import StorageError
from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_finding6_symlinked_lock_never_truncates_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("the user's thesis\n")
    store = tmp_path / "store"
    store.mkdir(mode=0o700)
    (store / "keyring.lock").symlink_to(victim)  # planted by an attacker
    with pytest.raises(StorageError):
        AnacondaKeyring(path=store / "keyring").set_password("svc", "user", "secret")
    assert victim.read_text() == "the user's thesis\n"
    assert not (store / "keyring").exists()


def test_filelock_floor_is_a_version_that_refuses_symlinks() -> None:
    from importlib.metadata import requires, version

    floor = next(r for r in requires("anaconda-auth-async") or [] if r.startswith("filelock"))
    assert ">=3.20.3" in floor
    installed = tuple(int(p) for p in version("filelock").split(".")[:3])
    assert installed >= (3, 20, 3)


def test_finding6_keyring_file_writable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    path.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "planted"}}')
    path.chmod(0o666)
    with pytest.raises(StorageError, match="writable by other users"):
        AnacondaKeyring(path=path).get_password("Anaconda Cloud", "id.anaconda.cloud")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_finding6_keyring_file_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone may create files
    path = shared / "keyring"
    path.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "attackers-key"}}')
    path.chmod(0o600)
    os.chown(path, NOBODY, NOBODY)
    keyring = AnacondaKeyring(path=path)
    with pytest.raises(StorageError, match="owned by another user") as caught:
        keyring.get_password("Anaconda Cloud", "id.anaconda.cloud")
    assert "attackers-key" not in str(caught.value)


def test_directory_writable_by_everyone_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    shared.chmod(0o777)  # no sticky bit: anyone may replace the file
    with pytest.raises(StorageError, match="writable by every user"):
        AnacondaKeyring(path=shared / "keyring").set_password("svc", "user", "secret")


def test_finding6_keyring_path_in_home_does_not_chmod_home(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_env.chmod(0o755)
    monkeypatch.setenv("ANACONDA_AUTH_KEYRING_PATH", str(isolated_env / "x"))
    AnacondaKeyring().set_password("svc", "user", "secret")
    assert _mode(isolated_env) == 0o755
    assert _mode(isolated_env / "x") == 0o600


def test_directories_it_creates_are_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "keyring"
    AnacondaKeyring(path=path).set_password("svc", "user", "secret")
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_finding6_temp_files_left_by_a_crash_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    keyring = AnacondaKeyring(path=path)
    keyring.set_password("svc", "user", "secret")
    stale = tmp_path / ".keyring.crashed1.tmp"
    stale.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "old-key"}}')
    aside = tmp_path / "keyring.corrupt-20260101T000000Z"
    aside.write_text("kept for recovery")
    keyring.set_password("svc", "user", "newer")
    assert not stale.exists()
    assert aside.exists()  # a copy kept aside is the user's to remove (logout reports it)
