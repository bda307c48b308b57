"""Where API keys are kept: `TokenStore` and its keyring implementation.

Entries use anaconda-cloud-auth's format: keyring service ``"Anaconda Cloud"``, username
the auth domain, value `TokenInfo.encode` (base64 of the JSON form). Every store has a
sync face (``load``/``save``/``delete``) and an async one (``aload``/``asave``/``adelete``)
that runs the sync call in a daemon thread under a time limit, so a slow or locked
keyring never blocks the event loop; `TokenStore.load_within` is the same limit for
synchronous callers. A keyring that never answers costs one abandoned daemon thread,
never a process that cannot exit.

A site's key may be stored under several names (anaconda-auth's and anaconda-cloud-auth's,
see `_sharing`): `load_site`, `save_login` and `delete_site` apply those rules on top of
the one-name methods, so every store, including a test store, follows them.

`default_store` is the store the SDK uses; ``anaconda_auth_async.testing.use_store``
replaces it in tests.

Over 400 lines on purpose: the store's sync and async faces and the keyring backend choice
are one contract (see docs/internals.md); the file itself is `_tokenfile`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import anyio
import sniffio

from ._exceptions import AnacondaAuthError, CorruptTokenFileError, StorageError
from ._public import publish
from ._sharing import EntryNames, logged_out_elsewhere, login_entries, newest
from ._text import safe_line
from ._token import TokenInfo
from ._tokenfile import TokenFile

if TYPE_CHECKING:
    from pathlib import Path

    from keyring.backend import KeyringBackend
    from typing_extensions import NotRequired, TypedDict, Unpack

    from ._config import AnacondaAuthSettings  # pydantic only when no settings were given

    class _NewLogin(TypedDict):
        """`TokenStore.save_login`'s keyword arguments, for its async face."""

        api_key: str
        username: str | None
        api_domain: NotRequired[str | None]
        extra: NotRequired[dict[str, Any] | None]


__all__ = ["SERVICE", "KeyringTokenStore", "TokenStore", "default_store"]

logger = logging.getLogger(__name__)


class DamagedEntryError(CorruptTokenFileError):
    """One entry of a readable store is not a token (the store itself is sound)."""


SERVICE = "Anaconda Cloud"
"""The keyring service name anaconda-cloud-auth stores its entries under."""

_T = TypeVar("_T")
_R = TypeVar("_R")


class TokenStore(abc.ABC):
    """Loads, saves and deletes the `TokenInfo` of an auth domain.

    Subclasses implement the sync methods. The async faces (``aload``, ...) and the
    bounded sync ones (``load_within``, ...) run them in a daemon thread limited to
    `timeout` seconds: past it they raise `StorageError` and leave the thread behind,
    which cannot keep the process alive, so a hung keyring never hangs the program.
    """

    @property
    def name(self) -> str:
        """Human description of where tokens are kept, shown by ``anaconda-auth status``."""
        return type(self).__name__

    timeout: float = 10.0
    """Seconds the bounded methods wait for the backend before raising `StorageError`."""

    def check_writable(self) -> None:  # noqa: B027 - optional: stores that can check do
        """Raise `StorageError` when a token could not be saved now (default: no check)."""

    async def acheck_writable(self) -> None:
        """`check_writable` in a worker thread, within `timeout`."""
        await self._in_thread(lambda _: self.check_writable(), None, action="check")

    @abc.abstractmethod
    def load(self, domain: str) -> TokenInfo | None:
        """The token stored for `domain`, or None; raises `StorageError` if unreadable."""

    @abc.abstractmethod
    def save(self, token: TokenInfo) -> None:
        """Store `token` under ``token.domain``, keeping every other entry."""

    @abc.abstractmethod
    def delete(self, domain: str) -> bool:
        """Remove the token of `domain`; True when there was one."""

    def load_site(self, names: EntryNames) -> TokenInfo | None:
        """The entry to use among `names.read`: the newest key (see `_sharing.newest`).

        Entries of a login another tool has logged out of since (one of the names the
        login stored its key under is gone: `_sharing.logged_out_elsewhere`) are deleted
        here and not used, so the logout holds for every tool.
        """
        found = {n: t for n in names.read if (t := self.load(n)) is not None}
        for name in logged_out_elsewhere(names, found):
            logger.info(
                "The key stored for %s was logged out of by another tool (a name it was "
                "stored under with it is gone); removing it",
                name,
            )
            self.delete(name)
            del found[name]
        return newest(list(found.values()))

    def save_login(
        self,
        names: EntryNames,
        *,
        api_key: str,
        username: str | None,
        api_domain: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> TokenInfo:
        """Store a new key under the site's `names.write`; return the primary name's entry.

        Each name keeps its repo tokens and unknown fields, and the other names the site
        reads are emptied, their repo tokens carried over (`_sharing.login_entries`);
        `api_domain` records the API the key was made at, `extra` more fields. The primary
        entry, which records every name written, is written last, and the other names are
        emptied after it: at no moment does a reader see a record naming a missing name.
        """
        found = {n: t for n in names.read if (t := self.load(n)) is not None}
        write = login_entries(
            names, found, api_key=api_key, username=username, api_domain=api_domain, extra=extra
        )
        for entry in reversed(write.entries):
            self.save(entry)
        for name in write.delete:
            self.delete(name)
        return write.entries[0]

    def delete_site(self, names: EntryNames) -> bool:
        """Delete the site's key under every name it may be stored under; True if any was."""
        removed = [self.delete(name) for name in names.read]  # every one, no short cut
        return any(removed)

    def mark_rejected(self, names: EntryNames, api_key: str, at: float) -> bool:
        """Record that the server rejected `api_key` in each of the site's entries holding it.

        Entries holding another key (a newer login) are left alone. True if any was marked.
        """
        marked = False
        for name in names.read:
            token = self.load(name)
            if token is not None and token.api_key == api_key and not token.rejected:
                self.save(token.with_rejection(at))
                marked = True
        return marked

    async def amark_rejected(self, names: EntryNames, api_key: str, at: float) -> bool:
        """`mark_rejected` in a daemon thread, limited to `timeout` seconds."""
        mark = functools.partial(self.mark_rejected, api_key=api_key, at=at)
        return await self._in_thread(mark, names, action=f"mark the key for {names.primary}")

    def mark_rejected_within(self, names: EntryNames, api_key: str, at: float) -> bool:
        """`mark_rejected` for synchronous callers, limited to `timeout` seconds."""
        mark = functools.partial(self.mark_rejected, api_key=api_key, at=at)
        return self._bounded(mark, names, action=f"mark the key for {names.primary}")

    async def aload_site(self, names: EntryNames) -> TokenInfo | None:
        """`load_site` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(
            self.load_site, names, action=f"read the token for {names.primary}"
        )

    async def asave_login(self, names: EntryNames, **login: Unpack[_NewLogin]) -> TokenInfo:
        """`save_login` in a daemon thread, limited to `timeout` seconds."""
        save = functools.partial(self.save_login, **login)
        return await self._in_thread(save, names, action=f"store the token for {names.primary}")

    async def adelete_site(self, names: EntryNames) -> bool:
        """`delete_site` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(
            self.delete_site, names, action=f"delete the token for {names.primary}"
        )

    async def aload(self, domain: str) -> TokenInfo | None:
        """`load` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(self.load, domain, action=f"read the token for {domain}")

    def keep_damaged_copy(self) -> None:
        """Keep a copy of the store's current bytes before a damaged entry is replaced.

        Only a store kept in a file can; others log that the damaged value is replaced.
        """
        logger.warning("A damaged token entry in the %s is being replaced", self.name)

    async def akeep_damaged_copy(self) -> None:
        """`keep_damaged_copy` in a daemon thread, limited to `timeout` seconds."""
        await self._in_thread(lambda _: self.keep_damaged_copy(), None, action="keep a copy")

    async def asave(self, token: TokenInfo) -> None:
        """`save` in a daemon thread, limited to `timeout` seconds."""
        await self._in_thread(self.save, token, action=f"store the token for {token.domain}")

    async def adelete(self, domain: str) -> bool:
        """`delete` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(self.delete, domain, action=f"delete the token for {domain}")

    def load_within(self, domain: str) -> TokenInfo | None:
        """`load` for synchronous callers, limited to `timeout` seconds (blocks the caller)."""
        return self._bounded(self.load, domain, action=f"read the token for {domain}")

    def load_site_within(self, names: EntryNames) -> TokenInfo | None:
        """`load_site` for synchronous callers, limited to `timeout` seconds."""
        return self._bounded(self.load_site, names, action=f"read the token for {names.primary}")

    def _bounded(self, func: Callable[[_T], _R], arg: _T, *, action: str) -> _R:
        call = _Call(func, arg)
        if not call.done.wait(self.timeout):
            raise self._timed_out(action)
        return call.outcome()

    def _label(self) -> str:
        """Name of the backend for a time-out message; must not block."""
        return self.name

    async def _in_thread(self, func: Callable[[_T], _R], arg: _T, *, action: str) -> _R:
        if sniffio.current_async_library() == "asyncio":
            # asyncio's own future: anyio.Event() would import anyio's asyncio backend
            # (~20 ms in one piece) on a client's first request (see TokenProvider._lock).
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            call = _Call(func, arg, notify=lambda: loop.call_soon_threadsafe(_resolve, done))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done, self.timeout)
        else:  # trio, the other loop anyio runs on
            import trio  # optional: only where trio is the running loop

            event = anyio.Event()
            token = trio.lowlevel.current_trio_token()
            call = _Call(func, arg, notify=lambda: token.run_sync_soon(event.set))
            with anyio.move_on_after(self.timeout):
                await event.wait()
        if not call.done.is_set():
            raise self._timed_out(action)
        return call.outcome()

    def _timed_out(self, action: str) -> StorageError:
        return StorageError(
            f"The {self._label()} did not answer within {self.timeout:g} seconds when "
            f"asked to {action}; make sure it is unlocked and responsive, or allow it more "
            "time with ANACONDA_AUTH_STORAGE_TIMEOUT."
        )


class _Call(Generic[_T, _R]):
    """`func(arg)` in a new daemon thread; `notify` is called (from it) when it is done.

    A daemon thread, not a pooled worker: one stuck in a keyring that never answers is
    abandoned at the time limit and cannot hold the process open at exit.
    """

    def __init__(
        self, func: Callable[[_T], _R], arg: _T, *, notify: Callable[[], object] | None = None
    ) -> None:
        self.done = threading.Event()
        self._func, self._arg, self._notify = func, arg, notify
        self._result: _R | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="anaconda-auth-storage", daemon=True).start()

    def _run(self) -> None:
        try:
            self._result = self._func(self._arg)
        except BaseException as exc:
            self._error = exc
        self.done.set()
        if self._notify is not None:
            try:
                self._notify()
            except Exception:  # the waiting event loop is gone: nobody to tell
                logger.debug("A storage call finished after its caller stopped waiting")

    def outcome(self) -> _R:
        if self._error is not None:
            raise self._error
        return cast(_R, self._result)


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():  # not already given up on (time limit, cancellation)
        done.set_result(None)


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
            from ._config import AnacondaAuthSettings  # pydantic only when no settings were given

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
        if value is None:
            return None
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

    def save(self, token: TokenInfo) -> None:
        """Store `token` under ``token.domain``, keeping every other entry."""
        if not token.domain:
            raise ValueError("cannot store a token without a domain")
        value = token.encode()
        try:
            self.backend.set_password(SERVICE, token.domain, value)
        except Exception as exc:
            raise self._backend_error(exc, f"store the token for {token.domain}") from exc
        self._decoded[token.domain] = (value, token)

    def delete(self, domain: str) -> bool:
        """Remove the token of `domain`; True when there was one."""
        self._decoded.pop(domain, None)
        backend = self.backend
        try:
            if isinstance(backend, TokenFile):
                return backend.delete(SERVICE, domain)
            from keyring.errors import PasswordDeleteError  # a system keyring's: keyring is loaded

            try:
                backend.delete_password(SERVICE, domain)
            except PasswordDeleteError:
                return False
        except Exception as exc:
            raise self._backend_error(exc, f"delete the token for {domain}") from exc
        return True

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
_override: TokenStore | None = None


def default_store(settings: AnacondaAuthSettings | None = None) -> TokenStore:
    """The store the SDK uses: the `use_store` override, else a cached `KeyringTokenStore`."""
    if _override is not None:
        return _override
    if settings is None:
        from ._config import AnacondaAuthSettings  # pydantic only when no settings were given

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
