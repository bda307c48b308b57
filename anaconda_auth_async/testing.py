"""Test support for packages built on anaconda-auth-async.

Keep tokens in memory instead of the user's keyring, fake Anaconda's login provider and
API (`FakePlatform`), and make API keys whose expiry you choose, without patching the
SDK's internals::

    from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store

    def test_my_client() -> None:
        platform = FakePlatform()
        with use_store(MemoryTokenStore()) as store, use_platform(platform):
            store.save(platform.token_info())  # a logged-in user
            ...  # every SDK client now talks to `platform`, and the SDK reads `store`

The same as pytest fixtures (``anaconda_platform``, ``anaconda_store``,
``anaconda_logged_in``): add ``pytest_plugins = ["anaconda_auth_async.pytest_plugin"]``
to your top-level ``conftest.py`` (the plugin is opt-in: it is not loaded otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from .foundation.public_names import publish
from .network.transport import set_transport_override
from .storage.keyring_store import set_override
from .storage.stored_token import TokenInfo
from .storage.token_store import Change, TokenStore
from .testkit.fake_keys import make_api_key
from .testkit.fake_platform import FakePlatform
from .testkit.seal import sealed, with_environment
from .testkit.store_conformance import TokenStoreTests

__all__ = [
    "FakePlatform",
    "MemoryTokenStore",
    "TokenStoreTests",
    "make_api_key",
    "use_platform",
    "use_store",
]


class MemoryTokenStore(TokenStore):
    """A `TokenStore` in a dict, for tests; entries are kept encoded, as a keyring would.

    `tokens` seeds it; `fail_with` makes every call raise that exception (to test how your
    code handles an unreadable keyring).
    """

    def __init__(
        self,
        tokens: Mapping[str, TokenInfo] | None = None,
        *,
        timeout: float = 10.0,
        fail_with: BaseException | None = None,
    ) -> None:
        self.timeout = timeout
        self.fail_with = fail_with
        self._entries: dict[str, str] = {}
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        """Every call made, as ``(method, name)``, for assertions: ``load``, ``list``, and for
        an update each name it ``read`` and each it will ``save`` or ``delete``."""
        for token in (tokens or {}).values():
            self.save(token)
        self.calls.clear()

    @property
    def name(self) -> str:
        """Always ``"memory token store"``."""
        return "memory token store"

    @property
    def domains(self) -> list[str]:
        """The domains that have a token, sorted."""
        with self._lock:
            return sorted(self._entries)

    def load(self, domain: str) -> TokenInfo | None:
        """The token stored for `domain`, or None."""
        self._record("load", domain)
        with self._lock:
            value = self._entries.get(domain)
        return None if value is None else TokenInfo.decode(value, domain=domain)

    def list_names(self) -> list[str]:
        """The names that hold an entry, sorted (as `domains`)."""
        self._record("list", "")
        return self.domains

    def update(self, names: Iterable[str], change: Change) -> dict[str, TokenInfo | None]:
        """`TokenStore.update` under the store's lock."""
        names = list(dict.fromkeys(names))
        for name in names:
            self._record("read", name)
        with self._lock:
            found = {
                name: TokenInfo.decode(value, domain=name)
                for name in names
                if (value := self._entries.get(name)) is not None
            }
            writes = dict(change(found))
            for name, entry in writes.items():
                self._record("save" if entry is not None else "delete", name)
            for name, entry in writes.items():
                if entry is None:
                    self._entries.pop(name, None)
                else:
                    self._entries[name] = entry.encode()
        return writes

    def _record(self, method: str, domain: str) -> None:
        self.calls.append((method, domain))
        if self.fail_with is not None:
            raise self.fail_with


@contextmanager
def use_store(store: TokenStore) -> Iterator[TokenStore]:
    """Make the SDK use `store` (everywhere `default_store()` is consulted) inside the block.

    Sealed: inside it, the settings name a temporary keyring file and config file, never
    ``~/.anaconda`` (so a `KeyringTokenStore` made there, a logout's clean-up or the CLI
    touch nothing real either), and never the system keyring. Nests; the previous store
    is restored on exit.
    """
    with sealed():
        previous = set_override(store)
        try:
            yield store
        finally:
            set_override(previous)


@contextmanager
def use_platform(platform: FakePlatform) -> Iterator[FakePlatform]:
    """Inside the block, every client the SDK builds without a ``transport`` (your
    `AsyncAuthClient`/`BaseClient` subclasses and a login's own requests) talks to
    `platform`, and the settings name its domains.

    Sealed, as `use_store`: the keyring and config files are temporary ones, never
    ``~/.anaconda``, so a login, a logout or a rejected key there cannot reach the
    developer's own; and a browser login listens on a free port, never a fixed one.
    Nests; the previous platform is restored on exit.
    """
    from .logins.provider import clear_caches  # the provider's documents are cached per process

    domains = {
        "ANACONDA_AUTH_AUTH_DOMAIN": platform.auth_domain,
        "ANACONDA_AUTH_API_DOMAIN": platform.api_domain,
    }
    with sealed(), with_environment(domains):
        previous = set_transport_override(platform.transport)
        clear_caches()
        try:
            yield platform
        finally:
            set_transport_override(previous)
            clear_caches()


publish(globals(), module=__name__)  # tracebacks and repr name this public module
