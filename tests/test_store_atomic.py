"""The file store's site writes are atomic read-modify-writes, forced into the interleavings
that lost updates before: another process's login (or anaconda-auth's repo tokens) saved
between a writer's read and its write; entries saved under the names they were read from;
and one time limit whose "another process held the lock" reaches every face."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from anaconda_auth_async import KeyringTokenStore, StorageError, TokenInfo
from anaconda_auth_async.settings.fields import AnacondaAuthSettings
from anaconda_auth_async.storage.entry_names import entry_names
from anaconda_auth_async.storage.stored_token import RepoToken
from anaconda_auth_async.storage.token_file import TokenFile
from anaconda_auth_async.testing import make_api_key

NAMES = entry_names("id.anaconda.cloud", "anaconda.cloud")  # read: 3 names, write: 2


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "anaconda" / "keyring"


def file_store(path: Path, timeout: float = 10.0) -> KeyringTokenStore:
    return KeyringTokenStore(AnacondaAuthSettings(keyring_path=path, storage_timeout=timeout))


def between_read_and_write(store: KeyringTokenStore, meanwhile: object) -> list[int]:
    """Run `meanwhile()` (another process's write) right after `store`'s next read of the
    file, before it writes: where the old load-then-save let another writer in."""
    backend = store.backend
    assert isinstance(backend, TokenFile)
    original = backend.read
    done: list[int] = []

    def read() -> object:
        data = original()
        if not done:
            done.append(1)
            meanwhile()  # type: ignore[operator]
        return data

    backend.read = read  # type: ignore[method-assign]
    return done


def test_a_rejection_keeps_a_login_saved_by_another_process_meanwhile(path: Path) -> None:
    ours, theirs = file_store(path), file_store(path)
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    ours.save_login(NAMES, api_key=old, username="alice")
    forced = between_read_and_write(
        ours, lambda: theirs.save_login(NAMES, api_key=new, username="alice")
    )
    assert ours.mark_rejected(NAMES, old, at=time.time()) is False
    assert forced == [1]  # the login did land between the read and the write
    for name in NAMES.write:
        entry = file_store(path).load(name)
        assert entry is not None
        assert entry.api_key == new
        assert not entry.rejected


def test_a_login_keeps_repo_tokens_written_by_another_tool_meanwhile(path: Path) -> None:
    ours, theirs = file_store(path), file_store(path)
    ours.save_login(NAMES, api_key=make_api_key(sub="old"), username="alice")
    repo = RepoToken(token="repo-secret", org_name="acme")

    def anaconda_auth_adds_a_repo_token() -> None:  # `anaconda token install`
        entry = theirs.load(NAMES.primary)
        assert entry is not None
        theirs.update((), lambda _: {NAMES.primary: _with_repo(entry, repo)})

    forced = between_read_and_write(ours, anaconda_auth_adds_a_repo_token)
    ours.save_login(NAMES, api_key=make_api_key(sub="new"), username="alice")
    assert forced == [1]
    entry = file_store(path).load(NAMES.primary)  # the login's one name: repo tokens carried
    assert entry is not None
    assert entry.repo_tokens == (repo,)


def _with_repo(entry: TokenInfo, repo: RepoToken) -> TokenInfo:
    return TokenInfo(
        domain=entry.domain,
        api_key=entry.api_key,
        username=entry.username,
        repo_tokens=(repo,),
        extra=entry.extra,
    )


def raw_entries(path: Path) -> dict[str, dict[str, object]]:
    data = json.loads(path.read_text())["Anaconda Cloud"]
    return {name: json.loads(base64.b64decode(value)) for name, value in data.items()}


def test_a_rejection_is_saved_under_the_name_it_was_read_from(path: Path) -> None:
    store = file_store(path)
    rejected, other = make_api_key(sub="rejected"), make_api_key(sub="other")
    # anaconda.com's entry says it is id.anaconda.cloud's; id.anaconda.cloud holds another key.
    store.update(
        (),
        lambda _: {
            "anaconda.com": TokenInfo(domain="id.anaconda.cloud", api_key=rejected),
            "id.anaconda.cloud": TokenInfo(domain="id.anaconda.cloud", api_key=other),
        },
    )
    assert store.mark_rejected(NAMES, rejected, at=1.0) is True
    entries = raw_entries(path)
    assert entries["anaconda.com"]["api_key"] == rejected
    assert "rejected" in json.dumps(entries["anaconda.com"])
    assert entries["anaconda.com"]["domain"] == "id.anaconda.cloud"  # its fields kept
    assert entries["id.anaconda.cloud"]["api_key"] == other  # not overwritten
    assert not file_store(path).load("id.anaconda.cloud").rejected  # type: ignore[union-attr]


def test_an_update_that_changes_nothing_takes_no_lock_and_creates_nothing(path: Path) -> None:
    store = file_store(path)
    assert store.mark_rejected(NAMES, make_api_key(), at=1.0) is False
    assert store.delete_site(NAMES) is False
    assert not path.parent.exists()


# --- one time limit; the lock's own message reaches every face -----------------------------


@pytest.fixture
def held_lock(path: Path):
    """Another process holds the file's lock (a FileLock of its own, on another thread)."""
    file_store(path).save(TokenInfo(domain="id.anaconda.cloud", api_key=make_api_key()))
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with FileLock(str(path) + ".lock"):
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    yield
    release.set()
    holder.join()


LOCK_MESSAGE = "Another process held the lock"


def test_the_bounded_face_says_another_process_holds_the_lock(path: Path, held_lock: None) -> None:
    store = file_store(path, timeout=2)  # long enough to reach the lock on a busy machine
    key = file_store(path).load("id.anaconda.cloud").api_key  # type: ignore[union-attr]
    started = time.monotonic()
    with pytest.raises(StorageError, match=LOCK_MESSAGE) as caught:
        store.mark_rejected_within(NAMES, key, 1.0)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2 + 1.0
    assert "for more than 2 seconds" in str(caught.value)


@pytest.mark.anyio
async def test_the_async_faces_say_another_process_holds_the_lock(
    path: Path, held_lock: None
) -> None:
    store = file_store(path, timeout=2)
    started = time.monotonic()
    with pytest.raises(StorageError, match=LOCK_MESSAGE):
        await store.asave_login(NAMES, api_key=make_api_key(sub="new"), username=None)
    with pytest.raises(StorageError, match=LOCK_MESSAGE):
        await store.adelete_site(NAMES)
    assert time.monotonic() - started < 2 * (2 + 1.0)


def test_a_backend_that_never_answers_still_gets_the_time_out(path: Path) -> None:
    store = file_store(path, timeout=0.3)
    release = threading.Event()
    with pytest.raises(StorageError, match=r"did not answer within 0\.3 seconds"):
        store.run_within(lambda: release.wait(10), action="wait")
    release.set()
