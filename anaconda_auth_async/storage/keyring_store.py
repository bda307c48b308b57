"""The SDK's token store: `KeyringTokenStore`, and `default_store`.

Entries use anaconda-cloud-auth's format: keyring service ``"Anaconda Cloud"``, username
the entry's name (the auth domain, or another tool's name for the site: see `entry_names`),
value `TokenInfo.encode` (base64 of the JSON form). The store is the Anaconda file keyring
(`token_file`, whose lock makes `update` atomic across processes) or, with
``preferred_token_storage = "system"``, the system keyring. The interface and everything
built on it is `token_store.TokenStore`.

`default_store` is the store the SDK uses; ``anaconda_auth_async.testing.use_store``
replaces it in tests.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..foundation.errors import AnacondaAuthError, CorruptTokenFileError, StorageError
from ..foundation.public_names import publish
from ..foundation.safe_text import safe_line
from .stored_token import TokenInfo
from .token_file import TokenFile
from .token_store import Change, TokenStore

if TYPE_CHECKING:
    from pathlib import Path

    from keyring.backend import KeyringBackend

    from ..settings.fields import AnacondaAuthSettings  # pydantic only when no settings were given
    from .token_file_writes import Data

__all__ = ["SERVICE", "Change", "KeyringTokenStore", "TokenStore", "default_store"]

logger = logging.getLogger(__name__)


class DamagedEntryError(CorruptTokenFileError):
    """One entry of a readable store is not a token (the store itself is sound)."""


SERVICE = "Anaconda Cloud"
"""The keyring service name anaconda-cloud-auth stores its entries under."""


class KeyringTokenStore(TokenStore):
    """Tokens in a keyring backend: the Anaconda file keyring, or the system keyring.

    The backend follows ``preferred_token_storage``: ``"anaconda-keyring"`` (default) is
    the file at ``keyring_path``; ``"system"`` is the best viable keyring backend other
    than that file (falling back to it, with a warning, when there is none). A `backend`
    argument overrides both.
    """

    def __init__(
        self,
        settings: AnacondaAuthSettings | None = None,
        *,
        backend: KeyringBackend | TokenFile | None = None,
    ) -> None:
        if settings is None:
            from ..settings.fields import (
                AnacondaAuthSettings,  # pydantic only when no settings were given
            )

            settings = AnacondaAuthSettings()
        self.timeout = settings.storage_timeout
        self._path = settings.keyring_path
        self._system = backend is None and settings.preferred_token_storage == "system"
        if backend is None and not self._system:
            backend = TokenFile(self._path, lock_timeout=settings.storage_timeout)
        self._backend = backend
        self._resolve_lock = threading.Lock()
        # domain -> (stored value, its decoded TokenInfo): decode each value once
        self._decoded: dict[str, tuple[str, TokenInfo]] = {}

    @property
    def backend(self) -> KeyringBackend | TokenFile:
        """The keyring backend in use (the system one is chosen on first use)."""
        backend = self._backend
        if backend is None:
            with self._resolve_lock:
                if self._backend is None:
                    self._backend = _system_backend(self._path, self.timeout)
                backend = self._backend
        return backend

    @property
    def name(self) -> str:
        """The backend and, for the file keyring, its path."""
        return _backend_name(self.backend)

    def _label(self) -> str:
        if self._backend is None:
            return "system keyring"
        return _backend_name(self._backend)

    def __repr__(self) -> str:
        return f"KeyringTokenStore({self._label()})"

    def keep_damaged_copy(self) -> None:
        """For the file keyring, copy the file aside (``keyring.corrupt-<time>``)."""
        backend = self.backend
        if isinstance(backend, TokenFile):
            backend.keep_copy()
        else:
            super().keep_damaged_copy()

    def check_writable(self) -> None:
        """For the file keyring: its directory can be written and its lock taken."""
        backend = self.backend
        if not isinstance(backend, TokenFile):
            return  # a system keyring says so only when asked to store
        try:
            backend.check_writable()
        except StorageError as exc:
            raise StorageError(
                f"{str(exc).rstrip('.')}. The key could not be stored, so no login was "
                "started; set ANACONDA_AUTH_KEYRING_PATH to a file in a writable directory "
                "(or ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE=system)."
            ) from exc

    def load(self, domain: str) -> TokenInfo | None:
        """The token stored for `domain`, or None."""
        try:
            value = self.backend.get_password(SERVICE, domain)
        except Exception as exc:
            raise self._backend_error(exc, f"read the token for {domain}") from exc
        return None if value is None else self._decode(domain, value)

    def list_names(self) -> list[str]:
        """The names in the file keyring; ``[]`` for a system keyring (it cannot list)."""
        backend = self.backend
        if not isinstance(backend, TokenFile):
            return []
        return sorted(n for n, v in backend.read().get(SERVICE, {}).items() if isinstance(v, str))

    def update(self, names: Iterable[str], change: Change) -> dict[str, TokenInfo | None]:
        """`TokenStore.update`: under the file's lock, shared by every process writing it.

        The file is looked at without the lock first: an update that changes nothing (a
        mark for a key already replaced, a logout with nothing stored) takes no lock and
        creates no directory. A file that cannot be parsed is set aside and started afresh
        when `change` stores an entry; otherwise its `CorruptTokenFileError` is raised with
        nothing changed. A system keyring has no transaction: its updates are serialised
        within this process only.
        """
        names = tuple(dict.fromkeys(names))
        backend = self.backend
        if isinstance(backend, TokenFile):
            return self._update_file(backend, names, change)
        with _system_lock:
            writes = dict(change({n: t for n in names if (t := self.load(n)) is not None}))
            for name, entry in writes.items():
                if entry is None:
                    self._delete_entry(backend, name)
                else:
                    self._set_entry(backend, name, entry)
            return writes

    def _update_file(
        self, file: TokenFile, names: tuple[str, ...], change: Change
    ) -> dict[str, TokenInfo | None]:
        # Without a file there is nothing to read: no error for a directory that cannot
        # exist (a logout works where nothing could be written; a save then says why).
        exists = os.path.lexists(file.path)
        try:
            first = dict(change(self._entries(file.read() if exists else {}, names)))
        except CorruptTokenFileError as exc:
            first = {} if isinstance(exc, DamagedEntryError) else dict(change({}))
            if not any(first.values()):
                raise  # nothing to store: the damaged file stays as it is
        if not first:
            return {}
        applied: dict[str, TokenInfo | None] = {}

        def apply(data: Data) -> bool:
            applied.clear()
            applied.update(change(self._entries(data, names)))
            entries = data.setdefault(SERVICE, {})
            changed = False
            for name, entry in applied.items():
                if entry is None:
                    changed = entries.pop(name, None) is not None or changed
                    self._decoded.pop(name, None)
                else:
                    entries[name] = value = entry.encode()
                    self._decoded[name] = (value, entry)
                    changed = True
            return changed

        try:
            file.modify(apply, repair=any(first.values()))
        except Exception as exc:
            raise self._backend_error(exc, f"update the tokens for {', '.join(names)}") from exc
        return applied

    def _entries(self, data: Data, names: tuple[str, ...]) -> dict[str, TokenInfo]:
        entries = data.get(SERVICE, {})
        return {
            name: self._decode(name, value)
            for name in names
            if isinstance(value := entries.get(name), str)
        }

    def _decode(self, domain: str, value: str) -> TokenInfo:
        cached = self._decoded.get(domain)
        if cached is not None and cached[0] == value:
            return cached[1]
        try:
            token = TokenInfo.decode(value, domain=domain)
        except (ValueError, RecursionError):
            raise DamagedEntryError(
                f"The token stored for {domain} in the {self._label()} is not valid "
                "(expected base64 of a JSON object); log in again with `anaconda-auth login` "
                "to replace it."
            ) from None
        self._decoded[domain] = (value, token)
        return token

    def _set_entry(self, backend: KeyringBackend, name: str, entry: TokenInfo) -> None:
        value = entry.encode()
        try:
            backend.set_password(SERVICE, name, value)
        except Exception as exc:
            raise self._backend_error(exc, f"store the token for {name}") from exc
        self._decoded[name] = (value, entry)

    def _delete_entry(self, backend: KeyringBackend, name: str) -> None:
        from keyring.errors import PasswordDeleteError  # a system keyring's: keyring is loaded

        self._decoded.pop(name, None)
        try:
            backend.delete_password(SERVICE, name)
        except PasswordDeleteError:
            return  # nothing there: no change
        except Exception as exc:
            raise self._backend_error(exc, f"delete the token for {name}") from exc

    def remove_leftovers(self, *, unreadable: bool = False) -> list[Path]:
        """For the file keyring: the copies kept aside and temp files beside it (and with
        `unreadable`, the file itself when it cannot be parsed), removed under its lock."""
        backend = self.backend
        if not isinstance(backend, TokenFile):
            return []
        damaged = backend.remove_damaged() if unreadable else None
        removed = backend.remove_leftovers()
        return [damaged, *removed] if damaged is not None else removed

    def _backend_error(self, exc: Exception, action: str) -> Exception:
        if isinstance(exc, AnacondaAuthError):
            return exc  # already says what happened and what to do
        detail = safe_line(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return StorageError(
            f"The {self._label()} could not {action} ({reason}); check that the keyring is "
            "unlocked and reachable, or set ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE="
            "anaconda-keyring to use the Anaconda file keyring."
        )


def _backend_name(backend: KeyringBackend | TokenFile) -> str:
    if isinstance(backend, TokenFile):
        return f"Anaconda file keyring ({backend.path})"
    cls = type(backend)
    return f"keyring backend {backend.name!r} ({cls.__module__}.{cls.__qualname__})"


def _is_excluded(backend: KeyringBackend) -> bool:
    """Not a system keyring: ours, anaconda-cloud-auth's, and keyring's placeholders."""
    module = type(backend).__module__
    return module.startswith(("anaconda_auth", "anaconda_cloud_auth")) or module in {
        "keyring.backends.fail",
        "keyring.backends.chainer",
        "keyring.backends.null",
    }


def _system_backend(path: Path, timeout: float) -> KeyringBackend | TokenFile:
    """The keyring the user configured, else the best viable one that is not a file of ours."""
    import keyring.backend  # the system keyring's backends only when it is chosen
    import keyring.core

    try:
        configured = keyring.core.load_env() or keyring.core.load_config()
    except Exception:
        logger.warning("The configured keyring backend could not be loaded", exc_info=True)
        configured = None
    if configured is not None and not _is_excluded(configured):
        return configured
    candidates = [b for b in keyring.backend.get_all_keyring() if not _is_excluded(b)]
    best = max(candidates, key=keyring.backend.by_priority, default=None)
    if best is not None:
        logger.debug("Using the system keyring %s", _backend_name(best))
        return best
    fallback = TokenFile(path, lock_timeout=timeout)
    logger.warning(
        "No system keyring is available; storing tokens in the %s instead", _backend_name(fallback)
    )
    return fallback


# One store per distinct storage configuration, so repeated calls are cheap.
_stores: dict[tuple[str, str, float], KeyringTokenStore] = {}
_stores_lock = threading.Lock()
# A system keyring offers no transaction: `KeyringTokenStore.update` holds this around each.
_system_lock = threading.RLock()
_override: TokenStore | None = None


def default_store(settings: AnacondaAuthSettings | None = None) -> TokenStore:
    """The store the SDK uses: the `use_store` override, else a cached `KeyringTokenStore`."""
    if _override is not None:
        return _override
    if settings is None:
        from ..settings.fields import (
            AnacondaAuthSettings,  # pydantic only when no settings were given
        )

        settings = AnacondaAuthSettings()
    key = (settings.preferred_token_storage, str(settings.keyring_path), settings.storage_timeout)
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = KeyringTokenStore(settings)
    return store


def set_override(store: TokenStore | None) -> TokenStore | None:
    """Make `default_store` return `store` (None restores the default); returns the old one."""
    global _override
    previous, _override = _override, store
    return previous


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
