"""KeyringTokenStore: the seed's format, backend choice, errors, async faces and time limits;
default_store and the public testing helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import runpy
import shutil
import threading
import time
from pathlib import Path

import keyring.backend
import keyring.core
import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError
from processes import python

from anaconda_auth_async import CorruptTokenFileError, StorageError, TokenInfo
from anaconda_auth_async.settings.fields import AnacondaAuthSettings
from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring
from anaconda_auth_async.storage.keyring_store import (
    SERVICE,
    KeyringTokenStore,
    TokenStore,
    default_store,
)
from anaconda_auth_async.storage.stored_token import RepoToken
from anaconda_auth_async.storage.token_file import TokenFile
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key, use_store

FIXTURES = Path(__file__).parent / "fixtures"
SEED_FILE = FIXTURES / "seed_keyring.json"
DOMAIN = "id.anaconda.cloud"
SECRET = "sk-very-secret-value"


@pytest.fixture
def path(isolated_env: Path) -> Path:
    return isolated_env / ".anaconda" / "keyring"


@pytest.fixture
def seeded(path: Path) -> Path:
    """The user's keyring file exactly as anaconda-cloud-auth 0.6.0 left it."""
    path.parent.mkdir()
    shutil.copyfile(SEED_FILE, path)
    return path


@pytest.fixture
def store() -> KeyringTokenStore:
    return KeyringTokenStore(AnacondaAuthSettings())


class DictBackend(keyring.backend.KeyringBackend):
    """A keyring in a dict that records the thread of every call."""

    priority = 5
    viable = False  # never picked by keyring itself

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.threads: list[int] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.threads.append(threading.get_ident())
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.threads.append(threading.get_ident())
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.threads.append(threading.get_ident())
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("missing")


class LowBackend(DictBackend):
    priority = 1


class BrokenBackend(DictBackend):
    """Every call fails the way a locked or unreachable OS keyring does."""

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.exc

    def delete_password(self, service: str, username: str) -> None:
        raise self.exc


class BlockingBackend(DictBackend):
    """Never answers until released, like a keyring waiting on an unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(timeout=30)
        return None


# -- the seed's file ----------------------------------------------------------------


def test_fixture_is_byte_for_byte_what_the_seed_writes() -> None:
    pytest.importorskip("pydantic.v1")
    build = runpy.run_path(str(FIXTURES / "make_seed_keyring.py"))["build"]
    assert build() == SEED_FILE.read_bytes()


def test_reads_the_seeds_file(seeded: Path, store: KeyringTokenStore) -> None:
    token = store.load(DOMAIN)
    assert token is not None
    assert token.domain == DOMAIN
    assert token.username == "jane"
    assert token.api_key is not None
    assert token.api_key.count(".") == 2
    assert token.expires_at == 2_000_000_000
    assert token.repo_tokens == (
        RepoToken(token="repo-secret-acme", org_name="acme"),
        RepoToken(token="repo-secret-none", org_name=None),
    )
    staging = store.load("id.staging.example")
    assert staging is not None
    assert staging.api_key == "opaque-key-not-a-jwt"
    assert staging.expires_at is None
    assert not staging.expired
    future = store.load("id.future.example")
    assert future is not None
    assert future.extra == {
        "expires_at": "2030-01-01T00:00:00Z",
        "scopes": ["cloud:read", "cloud:write"],
    }
    assert store.load("id.absent.example") is None


def test_seed_file_round_trips_through_save_byte_for_byte(
    seeded: Path, store: KeyringTokenStore
) -> None:
    original = seeded.read_bytes()
    for domain in ("id.anaconda.cloud", "id.staging.example", "id.future.example"):
        token = store.load(domain)
        assert token is not None
        store.save(token)
    assert seeded.read_bytes() == original


def test_saving_one_domain_keeps_every_other_entry_and_field(
    seeded: Path, store: KeyringTokenStore
) -> None:
    before = AnacondaKeyring(path=seeded).read()
    future = store.load("id.future.example")
    assert future is not None
    store.save(dataclasses.replace(future, api_key="rotated-key"))
    store.save(TokenInfo(domain="id.new.example", api_key="new-key"))
    after = AnacondaKeyring(path=seeded).read()
    assert after["https://upload.pypi.org/legacy/"] == {"__token__": "pypi-secret-token"}
    for domain in ("id.anaconda.cloud", "id.staging.example"):
        assert after[SERVICE][domain] == before[SERVICE][domain]
    rotated = TokenInfo.decode(str(after[SERVICE]["id.future.example"]))
    assert rotated.api_key == "rotated-key"
    assert rotated.to_dict() == {**future.to_dict(), "api_key": "rotated-key"}
    assert list(rotated.to_dict()) == [
        "api_key",
        "username",
        "repo_tokens",
        "domain",
        "expires_at",
        "scopes",
    ]


def test_truncated_seed_file_is_reported_then_kept_aside(
    seeded: Path, store: KeyringTokenStore
) -> None:
    damaged = SEED_FILE.read_bytes()[:150]
    seeded.write_bytes(damaged)
    with pytest.raises(CorruptTokenFileError, match=str(seeded)):
        store.load(DOMAIN)
    store.save(TokenInfo(domain=DOMAIN, api_key="fresh-key"))
    (aside,) = seeded.parent.glob("keyring.corrupt-*")
    assert aside.read_bytes() == damaged
    token = store.load(DOMAIN)
    assert token is not None
    assert token.api_key == "fresh-key"


# -- the store ------------------------------------------------------------------------


def test_save_load_delete(store: KeyringTokenStore, path: Path) -> None:
    token = TokenInfo(domain=DOMAIN, api_key=SECRET, username="jane")
    assert store.load(DOMAIN) is None
    store.save(token)
    assert store.load(DOMAIN) == token
    assert KeyringTokenStore(AnacondaAuthSettings()).load(DOMAIN) == token  # from the file
    assert store.delete(DOMAIN) is True
    assert store.load(DOMAIN) is None
    assert store.delete(DOMAIN) is False
    assert str(path) in store.name
    assert SECRET not in repr(store)
    assert SECRET not in repr(token)


def test_save_requires_a_domain(store: KeyringTokenStore) -> None:
    with pytest.raises(ValueError, match="domain"):
        store.save(TokenInfo(domain="", api_key=SECRET))


def test_sees_a_login_by_another_process(store: KeyringTokenStore, path: Path) -> None:
    store.save(TokenInfo(domain=DOMAIN, api_key="first"))
    assert store.load(DOMAIN).api_key == "first"  # type: ignore[union-attr]
    AnacondaKeyring(path=path).set_password(
        SERVICE, DOMAIN, TokenInfo(domain=DOMAIN, api_key="second").encode()
    )
    assert store.load(DOMAIN).api_key == "second"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"{SECRET}!!not base64", id="not-base64"),
        pytest.param("WzEsIDJd", id="json-list"),  # base64 of [1, 2]
        pytest.param("eyJhcGlfa2V5IjogMTJ9", id="key-not-a-string"),  # {"api_key": 12}
    ],
)
def test_invalid_entry_names_the_domain_not_the_value(value: str) -> None:
    backend = DictBackend()
    backend.entries[(SERVICE, DOMAIN)] = value
    with pytest.raises(CorruptTokenFileError) as info:
        KeyringTokenStore(AnacondaAuthSettings(), backend=backend).load(DOMAIN)
    assert DOMAIN in str(info.value)
    assert value not in str(info.value)
    assert SECRET not in str(info.value)
    assert "anaconda-auth login" in str(info.value)


@pytest.mark.parametrize(
    "exc",
    [KeyringLocked("Keyring is locked"), PasswordSetError("denied"), RuntimeError("D-Bus gone")],
)
def test_backend_errors_become_storage_errors(exc: Exception) -> None:
    store = KeyringTokenStore(AnacondaAuthSettings(), backend=BrokenBackend(exc))
    for call in (
        lambda: store.load(DOMAIN),
        lambda: store.save(TokenInfo(domain=DOMAIN, api_key=SECRET)),
        lambda: store.delete(DOMAIN),
    ):
        with pytest.raises(StorageError) as info:
            call()
        message = str(info.value)
        assert "BrokenBackend" in message
        assert DOMAIN in message
        assert type(exc).__name__ in message
        assert SECRET not in message
        assert "\n" not in message
        assert info.value.__cause__ is exc


# -- choosing the backend -------------------------------------------------------------


@pytest.fixture
def no_keyring_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "load_env", lambda: None)
    monkeypatch.setattr(keyring.core, "load_config", lambda: None)


def test_anaconda_keyring_is_the_default(store: KeyringTokenStore, path: Path) -> None:
    assert isinstance(store.backend, TokenFile)
    assert store.backend.path == path
    assert store.name == f"Anaconda file keyring ({path})"


def test_the_file_store_never_imports_keyring(tmp_path: Path) -> None:
    # A client's first request reads the key on a worker thread; importing keyring there
    # (~20 ms of Python) holds the GIL against the event loop, so the file store must not.
    script = (
        "import sys\n"
        "from anaconda_auth_async.settings.fields import AnacondaAuthSettings\n"
        "from anaconda_auth_async.storage.keyring_store import default_store\n"
        "from anaconda_auth_async.storage.stored_token import TokenInfo\n"
        "store = default_store(AnacondaAuthSettings())\n"
        "store.save(TokenInfo(domain='id.example.test', api_key='k'))\n"
        "assert store.load('id.example.test').api_key == 'k'\n"
        "assert store.delete('id.example.test') and not store.delete('id.example.test')\n"
        "print(sorted(m for m in sys.modules if m == 'keyring' or m.startswith('keyring.')))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANACONDA_")},
        "HOME": str(tmp_path),
        "ANACONDA_AUTH_KEYRING_PATH": str(tmp_path / "keyring"),
    }
    assert python(script, env=env, timeout=60).stdout.strip() == "[]"


@pytest.mark.usefixtures("no_keyring_config")
def test_system_picks_the_best_backend_that_is_not_a_file_of_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    best, low = DictBackend(), LowBackend()
    calls: list[int] = []

    def all_keyrings() -> list[keyring.backend.KeyringBackend]:
        calls.append(1)
        return [low, AnacondaKeyring(), fail.Keyring(), best]

    monkeypatch.setattr(keyring.backend, "get_all_keyring", all_keyrings)
    store = KeyringTokenStore(AnacondaAuthSettings(preferred_token_storage="system"))
    assert calls == []  # chosen on first use, not when built
    store.save(TokenInfo(domain=DOMAIN, api_key=SECRET))
    assert store.backend is best
    assert (SERVICE, DOMAIN) in best.entries
    assert "DictBackend" in store.name
    store.load(DOMAIN)
    assert calls == [1]


@pytest.mark.usefixtures("no_keyring_config")
def test_system_falls_back_to_the_file_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [fail.Keyring()])
    store = KeyringTokenStore(AnacondaAuthSettings(preferred_token_storage="system"))
    with caplog.at_level(logging.WARNING):
        assert isinstance(store.backend, TokenFile)
    assert store.backend.path == path
    assert "No system keyring is available" in caplog.text


def test_system_honours_the_configured_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = LowBackend()
    monkeypatch.setattr(keyring.core, "load_env", lambda: configured)
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [DictBackend()])
    store = KeyringTokenStore(AnacondaAuthSettings(preferred_token_storage="system"))
    assert store.backend is configured


# -- async faces ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_faces_run_in_a_worker_thread() -> None:
    backend = DictBackend()
    store = KeyringTokenStore(AnacondaAuthSettings(), backend=backend)
    token = TokenInfo(domain=DOMAIN, api_key=SECRET)
    assert await store.aload(DOMAIN) is None
    await store.asave(token)
    assert await store.aload(DOMAIN) == token
    assert await store.adelete(DOMAIN) is True
    assert await store.adelete(DOMAIN) is False
    assert len(backend.threads) == 6  # load, set; load, load, delete (an update); load
    assert threading.get_ident() not in backend.threads


@pytest.mark.anyio
async def test_async_faces_on_the_file_keyring(store: KeyringTokenStore) -> None:
    token = TokenInfo(domain=DOMAIN, api_key=make_api_key(), username="jane")
    await store.asave(token)
    assert await store.aload(DOMAIN) == token
    assert await store.adelete(DOMAIN) is True


@pytest.mark.anyio
async def test_a_backend_that_does_not_answer_times_out_with_a_clear_error() -> None:
    backend = BlockingBackend()
    store = KeyringTokenStore(AnacondaAuthSettings(storage_timeout=0.05), backend=backend)
    try:
        with pytest.raises(StorageError) as info:
            await store.aload(DOMAIN)
    finally:
        backend.release.set()
    message = str(info.value)
    assert "BlockingBackend" in message
    assert "ANACONDA_AUTH_STORAGE_TIMEOUT" in message
    assert DOMAIN in message


@pytest.mark.anyio
async def test_a_backends_own_timeout_error_is_not_mistaken_for_the_limit() -> None:
    store = MemoryTokenStore(fail_with=TimeoutError("socket timed out"))
    with pytest.raises(TimeoutError, match="socket timed out"):
        await store.aload(DOMAIN)


@pytest.mark.anyio
async def test_async_errors_pass_through() -> None:
    store = KeyringTokenStore(AnacondaAuthSettings(), backend=BrokenBackend(KeyringLocked("x")))
    with pytest.raises(StorageError, match="KeyringLocked"):
        await store.asave(TokenInfo(domain=DOMAIN, api_key=SECRET))


# -- default_store and use_store --------------------------------------------------------


def test_default_store_is_cached_per_storage_configuration(isolated_env: Path) -> None:
    settings = AnacondaAuthSettings()
    first = default_store(settings)
    assert isinstance(first, KeyringTokenStore)
    assert default_store(AnacondaAuthSettings()) is first
    assert default_store() is first
    other = default_store(AnacondaAuthSettings(keyring_path=isolated_env / "other"))
    assert other is not first
    assert default_store(AnacondaAuthSettings(preferred_token_storage="system")) is not first
    assert default_store(AnacondaAuthSettings(storage_timeout=1)).timeout == 1


def test_use_store_overrides_and_restores() -> None:
    outer, inner = MemoryTokenStore(), MemoryTokenStore()
    settings = AnacondaAuthSettings()
    real = default_store(settings)
    with use_store(outer) as used:
        assert used is outer
        assert default_store(settings) is outer
        with use_store(inner):
            assert default_store(settings) is inner
        assert default_store(settings) is outer
    assert default_store(settings) is real


# -- MemoryTokenStore and make_api_key ----------------------------------------------------


def test_memory_store_behaves_like_a_store() -> None:
    token = TokenInfo(domain=DOMAIN, api_key=SECRET, extra={"x": [1]})
    store = MemoryTokenStore({DOMAIN: token})
    assert isinstance(store, TokenStore)
    assert store.calls == []
    loaded = store.load(DOMAIN)
    assert loaded == token
    assert loaded is not token
    assert loaded.extra == {"x": [1]}
    assert store.domains == [DOMAIN]
    assert store.delete(DOMAIN) is True
    assert store.delete(DOMAIN) is False
    assert store.load(DOMAIN) is None
    assert store.calls == [
        ("load", DOMAIN),
        ("read", DOMAIN),
        ("delete", DOMAIN),
        ("read", DOMAIN),  # nothing found: nothing deleted
        ("load", DOMAIN),
    ]
    assert store.name == "memory token store"


@pytest.mark.anyio
async def test_memory_store_async_and_failures() -> None:
    store = MemoryTokenStore()
    await store.asave(TokenInfo(domain=DOMAIN, api_key=SECRET))
    assert (await store.aload(DOMAIN)).api_key == SECRET  # type: ignore[union-attr]
    store.fail_with = StorageError("keyring locked")
    with pytest.raises(StorageError, match="keyring locked"):
        await store.aload(DOMAIN)


def test_make_api_key_expiry() -> None:
    fresh = TokenInfo(domain=DOMAIN, api_key=make_api_key())
    assert fresh.expires_at is not None
    assert not fresh.expired
    assert fresh.expires_at == pytest.approx(time.time() + 3600, abs=5)
    expired = TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(seconds=-5)))
    assert expired.expired
    at = TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=1_900_000_000))
    assert at.expires_at == 1_900_000_000
    when = dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)
    assert TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=when)).expires_at == when.timestamp()
    forever = TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=None))
    assert forever.expires_at is None
    assert not forever.expired


def test_make_api_key_is_a_jwt_with_a_fake_signature() -> None:
    import base64
    import json

    key = make_api_key(sub="alice", claims={"scope": "cloud:read"})
    _header, payload, signature = key.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "alice"
    assert claims["scope"] == "cloud:read"
    assert b"fake" in base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert make_api_key(sub="bob") != make_api_key(sub="alice")
