"""The token provider: which API key a request carries, loaded once and cached.

Sources, in order: a key given to the client, the ``api_key`` setting (the
``ANACONDA_AUTH_API_KEY`` / ``ANACONDA_CLOUD_API_KEY`` variables) or the key file the
``api_key_file`` setting names (`configured_key`), then the token store for the auth domain,
under every name the site's key may be stored under (``entry_names``). The first two cost
nothing and never touch the store; the store is
read on the first request and cached as a `Credential` whose expiry is a plain number.

Loading and re-reading are single-flight: concurrent requests wait on one lock per
provider (an asyncio or anyio lock on the async path, a `threading.Lock` on the sync one) and
share the result, so 1,000 concurrent first requests cause one store read. The async
path reads through the store's async face, which runs the backend in a daemon thread
(`foundation.threads`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import anyio
import httpx
import sniffio

from ..foundation.errors import StorageError
from ..foundation.jwt import jwt_expiry
from ..network.origins import Origin, describe, key_origins, origin_of
from ..storage.entry_names import same_api

if TYPE_CHECKING:
    from ..storage.entry_names import EntryNames
    from ..storage.keyring_store import TokenStore
    from ..storage.stored_token import TokenInfo
    from .site_context import SiteContext

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "Credential",
    "Source",
    "TokenProvider",
    "bound_api_domain",
    "warn_if_expiring",
]

logger = logging.getLogger(__name__)

EXPIRY_WARNING_DAYS = 14
"""A key that expires within this many days is worth one warning per process."""
_warned = False
_warned_lock = threading.Lock()

Source = Literal["argument", "setting", "store"]


@dataclass(frozen=True, slots=True, eq=False)
class Credential:
    """One API key as sent: its source, its expiry (``math.inf`` when unknown), and the
    origins it may be sent to (`bound_to` names them for a message).

    Compared by identity: every load makes a new one, so a request can tell whether the
    key it sent has been re-read since.
    """

    key: str = field(repr=False)
    source: Source
    expires_at: float = math.inf
    origins: frozenset[Origin] = frozenset()
    bound_to: str = ""
    header: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", f"Bearer {self.key}")


def warn_if_expiring(credential: Credential, domain: str | None) -> None:
    """Log one warning per process when the key in use expires within 14 days.

    Runs when a key is loaded (not per request); an expired key is not warned about here,
    since it is refused before any request with `TokenExpiredError`.
    """
    global _warned
    left = credential.expires_at - time.time()
    if _warned or not 0 < left <= EXPIRY_WARNING_DAYS * 86400:
        return
    with _warned_lock:
        if _warned:
            return
        _warned = True
    when = time.strftime("%Y-%m-%d", time.gmtime(credential.expires_at))
    if credential.source == "store":
        fix = "run `anaconda-auth login --renew-within 30d` to renew it"
    else:
        fix = "replace it with a new one (`anaconda-auth api-key --new` makes one)"
    days = int(left // 86400)
    key = f"The API key for {domain}" if domain else "The API key in use"
    logger.warning("%s expires on %s (in %d days); %s.", key, when, days, fix)


class TokenProvider:
    """Finds, caches and re-reads the API key for one auth domain.

    `ready` and `current` are the hot path (two attribute reads); `aget`/`get` load on a
    cache miss and `areload`/`reload` re-read the store after the server rejected a key.
    """

    def __init__(
        self, context: SiteContext, *, api_key: str | None = None, base_url: str | None = None
    ) -> None:
        self.context = context
        self._base_url = base_url
        self._home: frozenset[Origin] | None = None
        self._sync_lock = threading.Lock()
        self._async_lock: asyncio.Lock | anyio.Lock | None = None
        self._async_loop: object = None  # the asyncio loop, or the library, it belongs to
        self._rejected: str | None = None  # the key last recorded as rejected
        self.current: Credential | None = None
        self.ready = False
        if api_key:
            self._use(api_key, "argument")
            return
        # On use: the key-file module is read only when api_key_file is set.
        from .configured_key import configured_key

        configured = configured_key(context.settings)
        if configured is not None:
            self._use(configured.key, "setting")

    def __repr__(self) -> str:
        if self.current is None:
            source = "store" if not self.ready else "none"
        else:
            source = self.current.source
        return f"TokenProvider(domain={self.domain!r}, source={source!r})"

    @property
    def domain(self) -> str:
        """The auth domain whose stored key this provider reads."""
        return self.context.auth_domain

    @property
    def home(self) -> frozenset[Origin]:
        """The origins of the API this provider's client talks to (its base URL, else the
        ``api_domain`` setting): a request there with a key bound elsewhere is an error,
        not a silent request without the key."""
        if self._home is None:
            url = self._base_url or self.context.settings.api_base_url
            self._home = key_origins(url) | {origin_of(httpx.URL(url))}
        return self._home

    @property
    def names(self) -> EntryNames:
        """The store names the key is read from: the auth domain's, and other tools'."""
        return self.context.names

    @property
    def store(self) -> TokenStore:
        """The token store, made on first use (a key given directly never needs one)."""
        return self.context.store

    async def aget(self) -> Credential | None:
        """The cached credential, loading it from the store first if needed."""
        if not self.ready:
            async with self._lock():
                if not self.ready:
                    store = self.store  # cheap: the file store imports no keyring
                    self._set(await store.aload_site(self.names))
        return self.current

    def get(self) -> Credential | None:
        """`aget` for synchronous callers: the store's sync face under a thread lock."""
        if not self.ready:
            with self._sync_lock:
                if not self.ready:
                    self._set(self.store.load_site_within(self.names))
        return self.current

    async def areload(self, stale: Credential) -> Credential | None:
        """Re-read the store after `stale` was rejected or expired; return the new credential.

        Requests that sent the same `stale` credential share one read. A key given to the
        client or set in the environment is not re-read: `stale` is returned.
        """
        if stale.source != "store":
            return stale
        async with self._lock():
            if self.current is stale:
                self._set(await self.store.aload_site(self.names))
        return self.current

    def reload(self, stale: Credential) -> Credential | None:
        """`areload` for synchronous callers."""
        if stale.source != "store":
            return stale
        with self._sync_lock:
            if self.current is stale:
                self._set(self.store.load_site_within(self.names))
        return self.current

    async def amark_rejected(self, stale: Credential) -> None:
        """Record in the store that the server rejected `stale`, if it is the stored key.

        `login()` then logs in again instead of keeping it, and ``anaconda-auth status``
        says so. A store that cannot be written only loses the note: the request's own
        error already tells the person what to do.
        """
        if stale.source != "store" or stale.key == self._rejected:
            return
        async with self._lock():  # concurrent rejections of one key record it once
            if stale.key != self._rejected:
                self._rejected = stale.key
                try:
                    await self.store.amark_rejected(self.names, stale.key, time.time())
                except StorageError as exc:
                    logger.debug("could not record that the key was rejected: %s", exc)

    def mark_rejected(self, stale: Credential) -> None:
        """`amark_rejected` for synchronous callers."""
        if stale.source != "store" or stale.key == self._rejected:
            return
        with self._sync_lock:
            if stale.key != self._rejected:
                self._rejected = stale.key
                try:
                    self.store.mark_rejected_within(self.names, stale.key, time.time())
                except StorageError as exc:
                    logger.debug("could not record that the key was rejected: %s", exc)

    def _lock(self) -> asyncio.Lock | anyio.Lock:
        # A lock belongs to one event loop; a provider may outlive one. On asyncio it is
        # asyncio's own: anyio.Lock() would import anyio's asyncio backend (~20 ms in one
        # piece) on the first request, a stall httpcore's gradual import of it never makes.
        library = sniffio.current_async_library()
        loop = asyncio.get_running_loop() if library == "asyncio" else library
        if self._async_lock is None or loop is not self._async_loop:
            self._async_lock = asyncio.Lock() if library == "asyncio" else anyio.Lock()
            self._async_loop = loop
        return self._async_lock

    def _use(self, key: str, source: Source) -> None:
        # A key given directly is for the client's API; a key from the settings is for the
        # configured API domain.
        if source == "argument" and self._base_url:
            url = self._base_url
        else:
            url = self.context.settings.api_base_url
        self.current = self._credential(key, source, jwt_expiry(key), url)
        self.ready = True
        warn_if_expiring(self.current, self.domain)

    def _credential(self, key: str, source: Source, expiry: float | None, url: str) -> Credential:
        origins = key_origins(url)
        bound = describe(max(origins)) if origins else url  # max: https before http
        allowed = self.context.allowed_origins
        return Credential(
            key, source, math.inf if expiry is None else expiry, origins | allowed, bound
        )

    def _set(self, token: TokenInfo | None) -> None:
        if token is None or not token.api_key:
            self.current = None
            logger.debug("no API key stored for %s", self.domain)
        else:
            # The API domain the key was created at; an entry written before it was
            # recorded (or by another tool) is taken to be for the configured one, and so
            # is a key of Anaconda's family of domains when the configured one is too.
            api_domain = bound_api_domain(token, self.context.settings.api_domain)
            self.current = self._credential(
                token.api_key, "store", token.expires_at, f"https://{api_domain}"
            )
            logger.debug("loaded the stored API key for %s", self.domain)
            warn_if_expiring(self.current, self.domain)
        self.ready = True


def bound_api_domain(token: TokenInfo, configured: str) -> str:
    """The API domain a stored key is sent to: the one it was created at, if recorded and
    not the configured one's (`same_api`), else the configured one. An entry written before
    this was recorded (or by another tool) is taken to be for the configured domain."""
    recorded = token.api_domain
    return recorded if recorded and not same_api(recorded, configured) else configured
