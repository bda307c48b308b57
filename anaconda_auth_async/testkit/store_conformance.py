"""`TokenStoreTests`: the conformance suite a token store's own tests inherit.

Re-exported by `anaconda_auth_async.testing`. Like ``keyring.testing.backend``'s
``BackendBasicTests``: a test class sets `make_store` and inherits the tests; pytest (or
unittest's runner) collects them. The suite checks the three primitives (`load`,
`list_names`, `update`) through what the SDK builds on them, so a store that passes
behaves under logins, rejections and logouts as the SDK's own stores do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import anyio

from ..foundation.errors import StorageError
from ..storage.entry_names import EntryNames
from ..storage.stored_token import RepoToken, TokenInfo
from ..storage.token_store import TokenStore
from .fake_keys import make_api_key

__all__ = ["TokenStoreTests"]

_SITE = EntryNames(
    read=("conformance.example", "api.conformance.example"),
    write=("conformance.example", "api.conformance.example"),
)


class TokenStoreTests:
    """Tests every `TokenStore` must pass; inherit them in a test class of your store's::

        from anaconda_auth_async.testing import TokenStoreTests

        class TestVaultStore(TokenStoreTests):
            def make_store(self) -> VaultStore:
                return VaultStore(path=..., timeout=2.0)  # empty, and yours alone

    `make_store` returns an empty store for one test. A store shared between processes
    also overrides `make_peer`: a second store object on the same storage (what another
    process would open), so the concurrency tests go through both.
    `concurrent_workers` and `updates_per_worker` size those tests.
    """

    concurrent_workers = 4
    updates_per_worker = 10

    def make_store(self) -> TokenStore:
        """An empty store, for one test."""
        raise NotImplementedError("set make_store to return an empty store of yours")

    def make_peer(self, store: TokenStore) -> TokenStore:
        """Another store object on `store`'s storage (default: `store` itself)."""
        return store

    # --- round trip ---------------------------------------------------------------------

    def test_round_trip(self) -> None:
        store = self.make_store()
        token = TokenInfo(domain="conformance.example", api_key=make_api_key(), username="u")
        assert store.load(token.domain) is None
        store.save(token)
        loaded = store.load(token.domain)
        assert loaded == token
        assert loaded is not None
        assert loaded.api_key == token.api_key
        assert token.domain in store.list_names()
        assert store.delete(token.domain) is True
        assert store.delete(token.domain) is False
        assert store.load(token.domain) is None
        assert token.domain not in store.list_names()

    def test_unknown_fields_and_repo_tokens_are_kept(self) -> None:
        store = self.make_store()
        repo = RepoToken(org_name="acme", token="repo-secret")
        extra = {"future_field": {"nested": [1, 2]}, "version": 2}
        token = TokenInfo(
            domain="conformance.example", api_key=make_api_key(), repo_tokens=(repo,), extra=extra
        )
        store.save(token)
        loaded = store.load(token.domain)
        assert loaded is not None
        assert loaded.repo_tokens == (repo,)
        assert loaded.extra == extra
        new = store.save_login(_SITE, api_key=make_api_key(), username="u")
        assert new.repo_tokens == (repo,)  # a login keeps what the name held
        assert new.extra["future_field"] == {"nested": [1, 2]}

    def test_entries_are_kept_under_the_names_they_are_stored_under(self) -> None:
        store = self.make_store()
        key = make_api_key()
        # An entry whose domain field names another: stored and found under its own name.
        store.update(
            (), lambda _: {"conformance.example": TokenInfo(domain="elsewhere", api_key=key)}
        )
        assert store.load("elsewhere") is None
        assert "elsewhere" not in store.list_names()
        assert store.mark_rejected(_SITE, key, at=1.0) is True
        marked = store.load("conformance.example")
        assert marked is not None
        assert marked.rejected
        assert marked.api_key == key
        assert store.load("elsewhere") is None  # not saved under the domain field

    def test_update_sees_the_names_read_and_applies_its_writes(self) -> None:
        store = self.make_store()
        store.save(TokenInfo(domain="a.example", api_key=make_api_key()))
        store.save(TokenInfo(domain="b.example", api_key=make_api_key()))
        seen: list[set[str]] = []

        def change(found: Mapping[str, TokenInfo]) -> dict[str, TokenInfo | None]:
            seen.append(set(found))
            return {"a.example": None, "c.example": TokenInfo(domain="c.example", api_key="k")}

        written = store.update(["a.example", "missing.example"], change)
        assert seen
        assert all(names == {"a.example"} for names in seen)
        assert set(written) == {"a.example", "c.example"}
        assert store.load("a.example") is None
        assert store.load("b.example") is not None  # not read, not written: kept
        c = store.load("c.example")
        assert c is not None
        assert c.api_key == "k"
        assert store.update(["missing.example"], lambda found: dict.fromkeys(found)) == {}

    # --- concurrency --------------------------------------------------------------------

    def test_concurrent_updates_lose_nothing(self) -> None:
        store = self.make_store()
        stores = [store, self.make_peer(store)]
        name = "counter.example"
        store.save(TokenInfo(domain=name, api_key="k", extra={"n": 0}))

        def increment(found: Mapping[str, TokenInfo]) -> dict[str, TokenInfo | None]:
            entry = found[name]
            time.sleep(0.001)  # widen the window a lost update needs
            n = int(entry.extra["n"]) + 1
            return {name: TokenInfo(domain=name, api_key="k", extra={"n": n})}

        errors: list[BaseException] = []

        def worker(i: int) -> None:
            try:
                for _ in range(self.updates_per_worker):
                    stores[i % 2].update([name], increment)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [
            threading.Thread(target=worker, args=(i,)) for i in range(self.concurrent_workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        final = store.load(name)
        assert final is not None
        assert final.extra["n"] == self.concurrent_workers * self.updates_per_worker

    def test_a_rejection_never_overwrites_a_login_made_meanwhile(self) -> None:
        store = self.make_store()
        peer = self.make_peer(store)
        for i in range(self.updates_per_worker):
            old = store.save_login(_SITE, api_key=make_api_key(sub=f"old{i}"), username="u").api_key
            assert old is not None
            new = make_api_key(sub=f"new{i}")
            start = threading.Barrier(2)

            def mark(old: str = old, start: threading.Barrier = start) -> None:
                start.wait()
                store.mark_rejected(_SITE, old, at=1.0)

            def login(new: str = new, start: threading.Barrier = start) -> None:
                start.wait()
                peer.save_login(_SITE, api_key=new, username="u")

            threads = [threading.Thread(target=mark), threading.Thread(target=login)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for name in _SITE.write:
                entry = store.load(name)
                assert entry is not None
                assert entry.api_key == new
                assert not entry.rejected

    # --- time limits --------------------------------------------------------------------

    def test_a_store_that_does_not_answer_in_time_is_reported(self) -> None:
        store = self.make_store()
        store.timeout = 0.3
        release = threading.Event()

        def stuck(found: Mapping[str, TokenInfo]) -> dict[str, TokenInfo | None]:
            release.wait(10)  # a backend that does not answer
            return {}

        def call() -> object:
            return store.update(["stuck.example"], stuck)

        async def in_async() -> object:
            return await store.arun(call, action="update stuck.example")

        def bounded() -> object:
            return store.run_within(call, action="update stuck.example")

        def from_async() -> object:
            return anyio.run(in_async)

        faces: list[Callable[[], object]] = [bounded, from_async]
        try:
            for face in faces:
                started = time.monotonic()
                try:
                    face()
                except StorageError as exc:
                    message = str(exc)
                else:
                    raise AssertionError("a call that does not return was not limited in time")
                assert time.monotonic() - started < store.timeout + 2
                assert "update stuck.example" in message
                assert len(message.splitlines()) == 1
        finally:
            release.set()

    def test_async_faces_return_what_the_store_holds(self) -> None:
        store = self.make_store()
        token = TokenInfo(domain="conformance.example", api_key=make_api_key())

        async def main() -> None:
            await store.asave(token)
            assert await store.aload(token.domain) == token
            assert await store.aload_site(_SITE) == token
            assert await store.adelete_site(_SITE) is True
            assert await store.aload(token.domain) is None

        anyio.run(main)
