"""The file keyring through a symbolic link (a dotfile manager's ``~/.anaconda/keyring``):
every operation acts on the file the link leads to, and the link stays a link."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from keyring.errors import PasswordDeleteError

from anaconda_auth_async import StorageError, sync
from anaconda_auth_async.settings.fields import AnacondaAuthSettings
from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore
from anaconda_auth_async.storage.stored_token import TokenInfo
from anaconda_auth_async.testing import make_api_key

NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def link(isolated_env: Path) -> Path:
    """``~/.anaconda/keyring``, the path every test reaches the keyring by."""
    (isolated_env / ".anaconda").mkdir(mode=0o700)
    return isolated_env / ".anaconda" / "keyring"


@pytest.fixture
def target(link: Path, isolated_env: Path) -> Path:
    """``~/dotfiles/anaconda/keyring``, holding one entry, which `link` leads to."""
    directory = isolated_env / "dotfiles" / "anaconda"
    directory.mkdir(mode=0o700, parents=True)
    target = directory / "keyring"
    target.write_text(json.dumps({"svc": {"old": "kept"}}))
    target.chmod(0o600)
    link.symlink_to(target)
    return target


READ_AND_WRITE: list[Callable[[AnacondaKeyring], object]] = [
    lambda backend: backend.get_password("svc", "old"),
    lambda backend: backend.set_password("svc", "user", "secret"),
]


def _is_still_the_link(link: Path, target: Path) -> bool:
    return link.is_symlink() and Path(os.readlink(link)) == target


def test_read_write_delete_through_a_link_to_a_file_in_another_directory(
    link: Path, target: Path
) -> None:
    backend = AnacondaKeyring(path=link)
    assert backend.get_password("svc", "old") == "kept"
    backend.set_password("svc", "user", "secret")
    assert _is_still_the_link(link, target)
    assert json.loads(target.read_text()) == {"svc": {"old": "kept", "user": "secret"}}
    assert _mode(target) == 0o600
    # the lock and every write's temp file live beside the target, none beside the link
    assert target.with_name("keyring.lock").exists()
    assert sorted(p.name for p in link.parent.iterdir()) == ["keyring"]
    backend.delete_password("svc", "user")
    assert _is_still_the_link(link, target)
    assert json.loads(target.read_text()) == {"svc": {"old": "kept"}}
    with pytest.raises(PasswordDeleteError):
        backend.delete_password("svc", "user")


def test_a_repointed_link_is_followed_to_its_new_target(link: Path, target: Path) -> None:
    backend = AnacondaKeyring(path=link)
    backend.set_password("svc", "user", "first")
    other = target.with_name("other-keyring")
    link.unlink()
    link.symlink_to(other)  # the dotfile manager switched profiles
    backend.set_password("svc", "user", "second")
    assert json.loads(other.read_text()) == {"svc": {"user": "second"}}
    assert json.loads(target.read_text())["svc"]["user"] == "first"
    assert other.with_name("other-keyring.lock").exists()


@needs_root
def test_a_link_to_a_file_owned_by_another_user_is_refused(link: Path, target: Path) -> None:
    os.chown(target, NOBODY, NOBODY)
    with pytest.raises(StorageError, match="owned by another user") as caught:
        AnacondaKeyring(path=link).get_password("svc", "old")
    assert str(target) in str(caught.value)
    with pytest.raises(StorageError, match="owned by another user"):
        AnacondaKeyring(path=link).set_password("svc", "user", "secret")
    assert json.loads(target.read_text()) == {"svc": {"old": "kept"}}


def test_a_link_to_a_file_in_a_world_writable_directory_is_refused(
    link: Path, target: Path
) -> None:
    target.parent.chmod(0o777)  # anyone could replace the target
    for action in READ_AND_WRITE:
        with pytest.raises(StorageError, match="writable by every user") as caught:
            action(AnacondaKeyring(path=link))
        assert str(target.parent) in str(caught.value)
    assert json.loads(target.read_text()) == {"svc": {"old": "kept"}}


def test_a_link_in_a_world_writable_directory_is_refused(link: Path, target: Path) -> None:
    # Whoever can replace the link decides where keys are written (say, over ~/.bashrc).
    link.parent.chmod(0o777)
    with pytest.raises(StorageError, match="writable by every user") as caught:
        AnacondaKeyring(path=link).set_password("svc", "user", "secret")
    assert f"of the symbolic link {link}" in str(caught.value)
    assert json.loads(target.read_text()) == {"svc": {"old": "kept"}}


@needs_root
def test_a_link_made_by_another_user_is_refused(link: Path, target: Path) -> None:
    link.parent.chmod(0o1777)  # like /tmp: anyone may add a link, nobody may replace ours
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(StorageError, match=r"symbolic link .* is owned by another user"):
        AnacondaKeyring(path=link).set_password("svc", "user", "secret")
    assert json.loads(target.read_text()) == {"svc": {"old": "kept"}}


def test_a_dangling_link_is_created_through(link: Path, isolated_env: Path) -> None:
    # A fresh dotfiles checkout: the link is there, the secret file never committed.
    target = isolated_env / "dotfiles" / "private" / "anaconda" / "keyring"
    link.symlink_to(target)
    backend = AnacondaKeyring(path=link)
    assert backend.get_password("svc", "user") is None
    with pytest.raises(PasswordDeleteError):
        backend.delete_password("svc", "user")
    assert not (isolated_env / "dotfiles").exists()  # neither created anything
    backend.set_password("svc", "user", "secret")
    assert _is_still_the_link(link, target)
    assert json.loads(target.read_text()) == {"svc": {"user": "secret"}}
    assert _mode(target) == 0o600
    for created in (target.parent, target.parent.parent, isolated_env / "dotfiles"):
        assert _mode(created) == 0o700


@pytest.mark.parametrize("hops", [1, 2])
def test_a_link_that_loops_is_a_clear_error(link: Path, hops: int) -> None:
    if hops == 1:
        link.symlink_to(link)
    else:
        other = link.with_name("other")
        link.symlink_to(other)
        other.symlink_to(link)
    backend = AnacondaKeyring(path=link)
    for action in (
        lambda: backend.get_password("svc", "user"),
        lambda: backend.set_password("svc", "user", "secret"),
        lambda: backend.delete_password("svc", "user"),
    ):
        with pytest.raises(StorageError) as caught:
            action()
        message = str(caught.value)
        assert str(link) in message
        assert "loops back on itself; point the link at a file, or remove it." in message
        assert "\n" not in message
    assert link.is_symlink()


def test_a_link_to_a_directory_is_a_clear_error(link: Path, isolated_env: Path) -> None:
    directory = isolated_env / "dotfiles"
    directory.mkdir()
    link.symlink_to(directory)
    for action in READ_AND_WRITE:
        with pytest.raises(StorageError) as caught:
            action(AnacondaKeyring(path=link))
        assert str(caught.value) == (
            f"The token file {link} is a symbolic link to the directory {directory}; point "
            f"the link (or ANACONDA_AUTH_KEYRING_PATH) at a file, such as {directory}/keyring."
        )
    assert list(directory.iterdir()) == []


def test_a_symlinked_directory_keeps_its_link_and_its_files_inside(isolated_env: Path) -> None:
    real = isolated_env / "dotfiles" / "anaconda"
    real.mkdir(parents=True, mode=0o700)
    (isolated_env / ".anaconda").symlink_to(real, target_is_directory=True)
    via_link = AnacondaKeyring(path=isolated_env / ".anaconda" / "keyring")
    via_link.set_password("svc", "user", "secret")
    assert (isolated_env / ".anaconda").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["keyring", "keyring.lock"]
    assert AnacondaKeyring(path=real / "keyring").get_password("svc", "user") == "secret"


def test_a_dangling_directory_link_is_created_through(isolated_env: Path) -> None:
    real = isolated_env / "dotfiles" / "anaconda"
    (isolated_env / ".anaconda").symlink_to(real, target_is_directory=True)
    AnacondaKeyring(path=isolated_env / ".anaconda" / "keyring").set_password("svc", "u", "pw")
    assert (isolated_env / ".anaconda").is_symlink()
    assert json.loads((real / "keyring").read_text()) == {"svc": {"u": "pw"}}
    assert _mode(real) == 0o700
    assert _mode(real / "keyring") == 0o600


def test_a_damaged_target_is_set_aside_beside_the_target(link: Path, target: Path) -> None:
    target.write_bytes(b"{damaged")
    AnacondaKeyring(path=link).set_password("svc", "user", "secret")
    (aside,) = target.parent.glob("keyring.corrupt-*")
    assert aside.read_bytes() == b"{damaged"
    assert _mode(aside) == 0o600
    assert sorted(p.name for p in link.parent.iterdir()) == ["keyring"]
    assert _is_still_the_link(link, target)
    assert json.loads(target.read_text()) == {"svc": {"user": "secret"}}


def test_remove_damaged_removes_the_target_and_keeps_the_link(link: Path, target: Path) -> None:
    target.write_bytes(b"{damaged")
    assert AnacondaKeyring(path=link).remove_damaged() == target
    assert not target.exists()
    assert link.is_symlink()  # dangling now; the next login creates the file through it


def test_logout_removes_the_leftovers_beside_the_target(link: Path, target: Path) -> None:
    leftovers = sorted(
        [
            target.with_name("keyring.corrupt-20260101T000000Z"),
            target.with_name(".keyring.k3y8a9.tmp"),
        ]
    )
    for path in leftovers:
        path.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "old-secret"}}')
    beside_link = link.with_name("keyring.corrupt-20260101T000000Z")
    beside_link.write_text("not the target's: left alone")
    assert AnacondaKeyring(path=link).leftovers() == leftovers
    settings = AnacondaAuthSettings()
    assert settings.keyring_path == link
    store = KeyringTokenStore(settings)
    store.save(TokenInfo(domain="id.anaconda.cloud", api_key=make_api_key()))
    assert sync.logout(settings=settings, store=store) is True
    assert not any(path.exists() for path in leftovers)
    assert beside_link.exists()
    assert _is_still_the_link(link, target)
    assert json.loads(target.read_text())["svc"] == {"old": "kept"}


def test_a_directory_at_the_keyring_path_says_so(link: Path) -> None:
    link.mkdir()
    with pytest.raises(StorageError) as caught:
        AnacondaKeyring(path=link).set_password("svc", "user", "secret")
    assert str(caught.value) == (
        f"The token file {link} is a directory; move it away, or set "
        f"ANACONDA_AUTH_KEYRING_PATH to a file, such as {link}/keyring."
    )
