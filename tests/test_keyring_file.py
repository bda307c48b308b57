"""The Anaconda file keyring backend: keyring conformance, hardening, corrupt files,
and many processes writing at once."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from filelock import FileLock
from keyring.errors import PasswordDeleteError
from keyring.testing.backend import BackendBasicTests
from processes import python

from anaconda_auth_async import CorruptTokenFileError, StorageError
from anaconda_auth_async.settings.fields import AnacondaAuthSettings
from anaconda_auth_async.storage import keyring_backend as keyring_module
from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring, default_keyring_path
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore
from anaconda_auth_async.storage.stored_token import TokenInfo


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def path(isolated_env: Path) -> Path:
    return isolated_env / ".anaconda" / "keyring"


class TestConformance(BackendBasicTests):  # type: ignore[misc]
    """keyring's own test suite for backends, run against ours (at the default path)."""

    def init_keyring(self) -> AnacondaKeyring:
        return AnacondaKeyring()


def test_set_get_delete(path: Path) -> None:
    backend = AnacondaKeyring(path=path)
    assert backend.get_password("svc", "user") is None
    backend.set_password("svc", "user", "secret")
    assert backend.get_password("svc", "user") == "secret"
    assert json.loads(path.read_text()) == {"svc": {"user": "secret"}}
    backend.delete_password("svc", "user")
    assert backend.get_password("svc", "user") is None
    with pytest.raises(PasswordDeleteError):
        backend.delete_password("svc", "user")
    with pytest.raises(PasswordDeleteError):
        backend.delete_password("other-svc", "user")


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (its keyring chooses a backend from scratch)."""
    return python(code, env=env, cwd=cwd)


def test_other_programs_keyring_is_never_ours(tmp_path: Path) -> None:
    # A plaintext file must not become the keyring of every program in the environment:
    # no entry point, and a priority keyring never picks, even after our module is imported.
    names = {ep.value for ep in entry_points(group="keyring.backends")}
    assert not any(name.startswith("anaconda_auth_async") for name in names)
    assert AnacondaKeyring.name == "Anaconda file keyring"
    code = (
        "import keyring, anaconda_auth_async, anaconda_auth_async.storage.keyring_backend\n"
        "from keyring.backends import chainer\n"
        "print(type(keyring.get_keyring()).__name__)\n"
        "print([type(k).__name__ for k in chainer.ChainerBackend.backends])\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHON_KEYRING_BACKEND" and not k.upper().startswith("ANACONDA_")
    }
    env["HOME"] = str(tmp_path)
    result = _python(code, env, tmp_path)
    assert "AnacondaKeyring" not in result.stdout
    # explicitly chosen, it still works (keyring's own way of naming a backend class)
    env["PYTHON_KEYRING_BACKEND"] = "anaconda_auth_async._keyring.AnacondaKeyring"
    code = "import keyring; keyring.set_password('svc', 'user', 'pw'); print(keyring.get_keyring())"
    result = _python(code, env, tmp_path)
    assert "AnacondaKeyring" in result.stdout
    assert (tmp_path / ".anaconda" / "keyring").exists()


def test_default_path_follows_the_setting(isolated_env: Path, monkeypatch: pytest.MonkeyPatch):
    assert default_keyring_path() == isolated_env / ".anaconda" / "keyring"
    monkeypatch.delenv("ANACONDA_AUTH_KEYRING_PATH")
    assert default_keyring_path() == Path("~/.anaconda/keyring").expanduser()
    (isolated_env / ".env").write_text(f"ANACONDA_AUTH_KEYRING_PATH={isolated_env}/from-env\n")
    assert default_keyring_path() == Path("~/.anaconda/keyring").expanduser()  # not allowed
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "keyring_path")
    assert default_keyring_path() == isolated_env / "from-env"
    assert AnacondaKeyring().path == isolated_env / "from-env"
    assert default_keyring_path() == AnacondaAuthSettings().keyring_path


def test_viable_creates_nothing(path: Path, isolated_env: Path) -> None:
    assert AnacondaKeyring.viable
    assert not path.parent.exists()
    path.parent.mkdir()
    path.write_text("")
    assert AnacondaKeyring.viable
    path.unlink()
    path.mkdir()  # a directory where the file should be
    assert not AnacondaKeyring.viable


@pytest.mark.parametrize("broken", ["config.toml", "site"])
def test_a_broken_configuration_makes_the_backend_not_viable_instead_of_raising(
    broken: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keyring asks `viable` of every backend outside its own exception guard, so raising
    # here would break keyring.get_password() in every program of the environment.
    monkeypatch.delenv("ANACONDA_AUTH_KEYRING_PATH")
    if broken == "config.toml":
        (isolated_env / ".anaconda").mkdir()
        (isolated_env / ".anaconda" / "config.toml").write_text("[plugin.auth\n")
    else:
        monkeypatch.setenv("ANACONDA_AUTH_SITE", "no-such-site")
    assert AnacondaKeyring.viable is False
    script = "import keyring; print(keyring.get_keyring())"
    result = python(
        script, env={k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    )
    assert "AnacondaKeyring" not in result.stdout


def test_new_file_is_0600_in_a_0700_directory(path: Path) -> None:
    AnacondaKeyring(path=path).set_password("svc", "user", "secret")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_existing_loose_file_is_tightened_but_not_a_directory_it_did_not_create(
    path: Path,
) -> None:
    path.parent.mkdir(mode=0o755)
    path.parent.chmod(0o755)
    path.write_text(json.dumps({"svc": {"old": "value"}}))
    path.chmod(0o644)  # as anaconda-cloud-auth left it
    AnacondaKeyring(path=path).set_password("svc", "user", "secret")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o755  # not ours: its mode is the user's business
    assert json.loads(path.read_text()) == {"svc": {"old": "value", "user": "secret"}}


def test_writes_in_the_seeds_format(path: Path) -> None:
    backend = AnacondaKeyring(path=path)
    backend.set_password("Anaconda Cloud", "id.anaconda.cloud", "dmFsdWU=")
    assert path.read_bytes() == b'{"Anaconda Cloud": {"id.anaconda.cloud": "dmFsdWU="}}'


def test_empty_file_is_empty_not_corrupt(path: Path) -> None:
    path.parent.mkdir()
    path.write_text("")  # anaconda-cloud-auth's viable check creates an empty file
    backend = AnacondaKeyring(path=path)
    assert backend.get_password("svc", "user") is None
    backend.set_password("svc", "user", "secret")
    assert backend.get_password("svc", "user") == "secret"
    assert not list(path.parent.glob("*.corrupt-*"))


DAMAGED = [
    pytest.param(b'{"Anaconda Cloud": {"id.anaconda.cloud": "eyJh', id="truncated"),
    pytest.param(b"\x00\xff\xfe garbage \x89PNG", id="binary"),
    pytest.param(b"[1, 2, 3]", id="not-an-object"),
    pytest.param(b'{"Anaconda Cloud": "a string"}', id="service-not-an-object"),
    pytest.param(b"[" * 100_000, id="deeply-nested"),
]


@pytest.mark.parametrize("damaged", DAMAGED)
def test_damaged_file_raises_naming_the_file(path: Path, damaged: bytes) -> None:
    path.parent.mkdir()
    path.write_bytes(damaged)
    with pytest.raises(CorruptTokenFileError) as info:
        AnacondaKeyring(path=path).get_password("Anaconda Cloud", "id.anaconda.cloud")
    message = str(info.value)
    assert str(path) in message
    assert "anaconda-auth login" in message
    assert "\n" not in message
    assert path.read_bytes() == damaged  # reading never changes the file


@pytest.mark.parametrize("damaged", DAMAGED)
def test_save_after_damage_keeps_the_bytes_aside(
    path: Path, damaged: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir()
    path.write_bytes(damaged)
    backend = AnacondaKeyring(path=path)
    with caplog.at_level(logging.WARNING, logger="anaconda_auth_async.storage.keyring_backend"):
        backend.set_password("svc", "user", "secret")
    (aside,) = path.parent.glob("keyring.corrupt-*")
    assert aside.read_bytes() == damaged
    assert _mode(aside) == 0o600
    assert json.loads(path.read_text()) == {"svc": {"user": "secret"}}
    assert str(aside) in caplog.text
    assert "secret" not in caplog.text
    # a second damage on the same second does not overwrite the first one kept aside
    path.write_bytes(b"{broken")
    backend.set_password("svc", "user", "again")
    assert sorted(p.read_bytes() for p in path.parent.glob("keyring.corrupt-*")) == sorted(
        [damaged, b"{broken"]
    )


def test_a_truncated_file_says_where_the_json_stops(path: Path) -> None:
    """json's message alone would read "Unterminated string starting at)"."""
    path.parent.mkdir()
    path.write_bytes(b'{"Anaconda Cloud": {"id.anaconda.cloud": "eyJ')
    with pytest.raises(CorruptTokenFileError) as info:
        AnacondaKeyring(path=path).get_password("Anaconda Cloud", "id.anaconda.cloud")
    assert info.value.reason == "not valid JSON: unterminated string at line 1, column 42"
    assert "eyJ" not in str(info.value)  # a position, never the content


def test_delete_from_a_damaged_file_changes_nothing(path: Path) -> None:
    # The entry cannot be found in it, and replacing it would lose every other entry.
    path.parent.mkdir()
    path.write_bytes(b"{not json")
    with pytest.raises(CorruptTokenFileError) as info:
        AnacondaKeyring(path=path).delete_password("svc", "user")
    assert info.value.path == str(path)
    assert path.read_bytes() == b"{not json"
    assert {p.name for p in path.parent.iterdir()} <= {"keyring", "keyring.lock"}  # no copy


def test_delete_without_a_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "keyring"
    with pytest.raises(PasswordDeleteError):
        AnacondaKeyring(path=path).delete_password("svc", "user")
    assert not path.parent.exists()


def test_remove_damaged_deletes_only_a_damaged_file(path: Path) -> None:
    backend = AnacondaKeyring(path=path)
    assert backend.remove_damaged() is None  # no file
    backend.set_password("svc", "user", "kept")
    assert backend.remove_damaged() is None  # sound: untouched
    assert backend.get_password("svc", "user") == "kept"
    path.write_bytes(b"{not json")
    assert backend.remove_damaged() == path
    assert not path.exists()
    assert backend.leftovers() == []  # removed, not set aside


def test_unreadable_file_is_a_storage_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.parent.mkdir()
    path.write_text("{}")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(keyring_module.os, "lstat", refuse)
    with pytest.raises(StorageError, match="Permission denied") as info:
        AnacondaKeyring(path=path).get_password("svc", "user")
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "action",
    [
        lambda backend: backend.get_password("svc", "user"),
        lambda backend: backend.set_password("svc", "user", "secret"),
    ],
    ids=["read", "write"],
)
def test_a_file_where_a_directory_should_be_is_named_with_the_setting(
    tmp_path: Path, action: Callable[[AnacondaKeyring], object]
) -> None:
    (tmp_path / "home").write_text("not a directory")
    backend = AnacondaKeyring(path=tmp_path / "home" / ".anaconda" / "keyring")
    with pytest.raises(StorageError) as info:
        action(backend)
    message = str(info.value)
    assert f"{tmp_path / 'home'} is a file, not a directory" in message
    assert "ANACONDA_AUTH_KEYRING_PATH" in message
    assert (tmp_path / "home").read_text() == "not a directory"  # left as it was


def test_failed_write_leaves_the_old_file_and_no_temp_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = AnacondaKeyring(path=path)
    backend.set_password("svc", "user", "old")
    before = path.read_bytes()

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keyring_module.os, "fsync", full)
    with pytest.raises(StorageError, match="No space left on device"):
        backend.set_password("svc", "user", "new")
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".keyring.*"))


def test_held_lock_times_out_with_a_clear_error(path: Path) -> None:
    backend = AnacondaKeyring(path=path, lock_timeout=0.05)
    backend.set_password("svc", "user", "old")
    other = FileLock(path.with_name("keyring.lock"), thread_local=False)
    with other, pytest.raises(StorageError, match="lock"):
        backend.set_password("svc", "user", "new")
    assert backend.get_password("svc", "user") == "old"  # reads take no lock


def test_reads_see_rewrites_by_other_writers(path: Path) -> None:
    """A rewrite in place keeping size and mtime (coarse clocks) is still seen."""
    backend = AnacondaKeyring(path=path)
    backend.set_password("svc", "user", "aaaa")
    st = path.stat()
    assert backend.get_password("svc", "user") == "aaaa"
    path.write_text(json.dumps({"svc": {"user": "bbbb"}}))  # same size, same inode
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert backend.get_password("svc", "user") == "bbbb"


def test_settled_file_is_read_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = AnacondaKeyring(path=path)
    backend.set_password("svc", "user", "secret")
    old = time.time() - 60
    os.utime(path, (old, old))
    assert backend.get_password("svc", "user") == "secret"
    opened: list[object] = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    for _ in range(5):
        assert backend.get_password("svc", "user") == "secret"
    assert opened == []
    os.utime(path, (old + 1, old + 1))  # a new version: read again
    assert backend.get_password("svc", "user") == "secret"
    assert len(opened) == 1


def test_concurrent_threads_lose_nothing(path: Path) -> None:
    shared = AnacondaKeyring(path=path)

    def work(n: int) -> None:
        backend = shared if n % 2 else AnacondaKeyring(path=path)
        for i in range(25):
            backend.set_password("svc", f"{n}-{i}", "value")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert len(AnacondaKeyring(path=path).read()["svc"]) == 6 * 25


# -- many processes at once ----------------------------------------------------------

PROCESSES = 8
SAVES = 40


def _save_many(path: str, worker: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    store = KeyringTokenStore(AnacondaAuthSettings(keyring_path=path))
    barrier.wait(timeout=60)
    for i in range(SAVES):
        store.save(TokenInfo(domain=f"w{worker}-{i}.example", api_key=f"key-{worker}-{i}"))


def _run_processes(
    target: Callable[..., None],
    args: list[tuple[object, ...]],
    *,
    seconds: float,
    poll: Callable[[], None] | None = None,
) -> list[int | None]:
    """Run one spawned process per `args` (each gets a shared barrier last), calling `poll`
    while any runs; their exit codes. Any still running after `seconds` is terminated."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args))
    workers = [context.Process(target=target, args=(*a, barrier), daemon=True) for a in args]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + seconds
    try:
        while poll is not None and any(w.is_alive() for w in workers):
            if time.monotonic() > deadline:
                break
            poll()
            time.sleep(0.005)
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
    return [w.exitcode for w in workers]


def test_concurrent_processes_lose_nothing(path: Path) -> None:
    reader = AnacondaKeyring(path=path)
    seen = 0

    def never_less() -> None:
        # a reader never sees half a file, and never an entry disappear
        nonlocal seen
        count = len(reader.read().get("Anaconda Cloud", {}))
        assert count >= seen
        seen = count

    args: list[tuple[object, ...]] = [(str(path), n) for n in range(PROCESSES)]
    exits = _run_processes(_save_many, args, seconds=180, poll=never_less)
    assert exits == [0] * PROCESSES

    store = KeyringTokenStore(AnacondaAuthSettings(keyring_path=path))
    for n in range(PROCESSES):
        for i in range(SAVES):
            token = store.load(f"w{n}-{i}.example")
            assert token is not None
            assert token.api_key == f"key-{n}-{i}"
    assert len(reader.read()["Anaconda Cloud"]) == PROCESSES * SAVES
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert not list(path.parent.glob(".keyring.*"))


def test_importing_the_backend_imports_no_httpx(tmp_path: Path) -> None:
    """Loading this module and asking it whether it is viable (as keyring does when it is
    named in PYTHON_KEYRING_BACKEND) imports neither httpx nor pydantic where nothing is set."""
    import os

    code = (
        "import sys, anaconda_auth_async.storage.keyring_backend as k\n"
        "k.AnacondaKeyring.viable\n"
        "print(k.default_keyring_path())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'pydantic')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ANACONDA_")}
    env["HOME"] = str(tmp_path)
    out = python(code, env=env, cwd=tmp_path).stdout.splitlines()
    assert out == [str(tmp_path / ".anaconda" / "keyring"), "[]"]


def test_the_default_path_is_the_settings_default() -> None:
    from anaconda_auth_async.storage.keyring_backend import _DEFAULT_PATH

    field = AnacondaAuthSettings.model_fields["keyring_path"]
    assert Path(_DEFAULT_PATH).expanduser() == field.get_default(call_default_factory=True)


# -- the keyring path as a symbolic link, reached by it and by its target at once ------------

WRITERS = 4
WRITES = 20


def _write_many(path: str, worker: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    backend = AnacondaKeyring(path=path)
    barrier.wait(timeout=60)
    for i in range(WRITES):
        backend.set_password("svc", f"{worker}-{i}", "value")


def test_writers_through_a_link_and_through_its_target_lose_nothing(tmp_path: Path) -> None:
    # Half the processes name the link, half the target: one lock must serialise them all.
    target = tmp_path / "dotfiles" / "keyring"
    target.parent.mkdir(mode=0o700)
    link = tmp_path / "keyring"
    link.symlink_to(target)
    args: list[tuple[object, ...]] = [(str(link if n % 2 else target), n) for n in range(WRITERS)]
    assert _run_processes(_write_many, args, seconds=120) == [0] * WRITERS
    assert len(AnacondaKeyring(path=target).read()["svc"]) == WRITERS * WRITES
    assert link.is_symlink()
    assert _mode(target) == 0o600
    assert not list(tmp_path.glob("keyring.*"))  # no lock beside the link
