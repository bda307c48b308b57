"""`TokenStore`: the interface of a place API keys are kept, and its faces.

A store implements three primitives (`TokenStore.load`, `TokenStore.list_names` and the
atomic read-modify-write `TokenStore.update`); the site rules are built on them once
(`site_rules`), and the async and bounded faces here, so every store, a test's or a secrets
manager's, follows the same rules and gets the same time limits. The conformance suite for
implementers is `anaconda_auth_async.testing.TokenStoreTests`.

The faces run the sync call in a daemon thread under one time limit (`Deadline`), shared
with the file lock's wait inside it, so a slow or locked keyring never blocks the event
loop and the caller gets the precise reason. A keyring that never answers costs one
abandoned daemon thread, never a process that cannot exit.
"""

from __future__ import annotations

import abc
import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, final

from ..foundation.errors import StorageError
from ..foundation.public_names import publish
from ..foundation.threads import DaemonCall
from . import site_rules
from .entry_names import EntryNames
from .site_rules import Change
from .stored_token import TokenInfo
from .token_file_writes import Deadline

if TYPE_CHECKING:
    from pathlib import Path

    from typing_extensions import NotRequired, TypedDict, Unpack

    class _NewLogin(TypedDict):
        """`TokenStore.save_login`'s keyword arguments, for its async face."""

        api_key: str
        username: str | None
        api_domain: NotRequired[str | None]
        extra: NotRequired[dict[str, Any] | None]


__all__ = ["Change", "TokenStore"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")

# A worker whose own wait (the file lock's) ends at the caller's deadline is given this
# long to report its precise error, rather than the caller's vaguer time-out racing it.
_REPORT_SECONDS = 0.5
_THREAD = "anaconda-auth-storage"


class TokenStore(abc.ABC):
    """Where API keys are kept: entries (`TokenInfo`) under names (keyring user names).

    A store implements three primitives, and the conformance suite
    `anaconda_auth_async.testing.TokenStoreTests` checks them:

    - `load`: the entry under one name;
    - `list_names`: every name holding an entry (``[]`` for a store that cannot list);
    - `update`: one atomic read-modify-write of a set of names.

    It may also override `name`, `timeout`, `check_writable`, `keep_damaged_copy` and
    `remove_leftovers`, whose defaults suit a store with no file of its own. Everything
    else (`save`, `delete`, the site rules `load_site`, `save_login`, `mark_rejected`,
    `delete_site`, `delete_names`, and the async and bounded faces) is built on those once
    (the rules in `site_rules`) and is not overridden. The faces run the sync call in a
    daemon thread limited to `timeout` seconds: past it they raise `StorageError` and leave
    the thread behind, which cannot keep the process alive, so a hung keyring never hangs
    the program.
    """

    @property
    def name(self) -> str:
        """Human description of where tokens are kept, shown by ``anaconda-auth status``."""
        return type(self).__name__

    timeout: float = 10.0
    """Seconds the bounded methods wait for the store before raising `StorageError`."""

    # --- the primitives a store implements ---------------------------------------------

    @abc.abstractmethod
    def load(self, domain: str) -> TokenInfo | None:
        """The entry stored under the name `domain`, or None; `StorageError` if unreadable."""

    @abc.abstractmethod
    def list_names(self) -> list[str]:
        """Every name that holds an entry, sorted; ``[]`` when the store cannot be listed.

        ``logout --all`` deletes these besides the names it knows of every site.
        """

    @abc.abstractmethod
    def update(self, names: Iterable[str], change: Change) -> dict[str, TokenInfo | None]:
        """Read the entries of `names`, apply `change`, and write its result, atomically.

        `change` gets the entries found (name -> `TokenInfo`; absent names are left out)
        and returns the writes: name -> the entry to store under that name (whatever its
        ``domain`` field says), or None to delete it. A name it writes need not be one it
        read. No other update of the store, in this process or another sharing it, may
        come between the read and the write; a store that writes entries one by one
        applies them in the order given. Returns the writes applied. `change` may be
        called more than once (a store may try it before taking its lock, to skip the lock
        when nothing changes), so it only computes.
        """

    # --- optional: defaults for a store with no file of its own -------------------------

    def check_writable(self) -> None:  # noqa: B027 - optional: stores that can check do
        """Raise `StorageError` when a token could not be saved now (default: no check)."""

    def keep_damaged_copy(self) -> None:
        """Keep a copy of the store's current bytes before a damaged entry is replaced.

        Only a store kept in a file can; others log that the damaged value is replaced.
        """
        logger.warning("A damaged token entry in the %s is being replaced", self.name)

    def remove_leftovers(self, *, unreadable: bool = False) -> list[Path]:
        """Remove what may hold keys besides the entries; return it (default: nothing).

        For a file: copies of a damaged file kept aside and temp files of interrupted
        writes; with `unreadable` (``logout --all``), also the file itself when it cannot
        be parsed.
        """
        return []

    # --- built on the primitives, once ---------------------------------------------------

    @final
    def save(self, token: TokenInfo) -> None:
        """Store `token` under ``token.domain``, keeping every other entry."""
        site_rules.save(self, token)

    @final
    def delete(self, domain: str) -> bool:
        """Remove the entry under `domain`; True when there was one."""
        return bool(self.delete_names([domain]))

    @final
    def delete_names(self, names: Iterable[str]) -> list[str]:
        """Remove the entries under `names` in one update; the names that held one."""
        return site_rules.delete_names(self, names)

    @final
    def load_site(self, names: EntryNames) -> TokenInfo | None:
        """The entry to use among `names.read`: the newest key (see `entry_names.newest`).

        Entries of a login another tool has logged out of since (one of the names the
        login stored its key under is gone: `entry_names.logged_out_elsewhere`) are deleted
        here, in one update that checks again, and not used, so the logout holds for every
        tool.
        """
        return site_rules.load_site(self, names)

    @final
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

        One update: each name keeps its repo tokens and unknown fields as they are at the
        write, and the other names the site reads are emptied, their repo tokens carried
        over (`entry_names.login_entries`); `api_domain` records the API the key was made at,
        `extra` more fields. The writes are given in the order a store without
        transactions should apply them: the primary entry, which records every name
        written, last of the entries, and the other names emptied after it, so at no
        moment does a reader see a record naming a missing name.
        """
        return site_rules.save_login(
            self, names, api_key=api_key, username=username, api_domain=api_domain, extra=extra
        )

    @final
    def delete_site(self, names: EntryNames) -> bool:
        """Delete the site's key under every name it may be stored under; True if any was."""
        return bool(self.delete_names(names.read))

    @final
    def mark_rejected(self, names: EntryNames, api_key: str, at: float) -> bool:
        """Record that the server rejected `api_key` in each of the site's entries holding it.

        One update, each entry saved under the name it was read from; entries holding
        another key (a newer login, even one saved a moment ago) are left alone. True if
        any was marked.
        """
        return site_rules.mark_rejected(self, names, api_key, at)

    # --- the async and bounded faces -----------------------------------------------------

    @final
    async def arun(self, func: Callable[[], _R], *, action: str) -> _R:
        """`func()` (calls to this store) in a daemon thread, limited to `timeout` seconds.

        `action` completes the time-out message: "... when asked to <action>".
        """
        return await self._in_thread(lambda _: func(), None, action=action)

    @final
    def run_within(self, func: Callable[[], _R], *, action: str) -> _R:
        """`func()` for synchronous callers, limited to `timeout` seconds (blocks the caller)."""
        return self._bounded(lambda _: func(), None, action=action)

    @final
    async def acheck_writable(self) -> None:
        """`check_writable` in a daemon thread, limited to `timeout` seconds."""
        await self._in_thread(lambda _: self.check_writable(), None, action="check")

    @final
    async def amark_rejected(self, names: EntryNames, api_key: str, at: float) -> bool:
        """`mark_rejected` in a daemon thread, limited to `timeout` seconds."""
        mark = functools.partial(self.mark_rejected, api_key=api_key, at=at)
        return await self._in_thread(mark, names, action=f"mark the key for {names.primary}")

    @final
    def mark_rejected_within(self, names: EntryNames, api_key: str, at: float) -> bool:
        """`mark_rejected` for synchronous callers, limited to `timeout` seconds."""
        mark = functools.partial(self.mark_rejected, api_key=api_key, at=at)
        return self._bounded(mark, names, action=f"mark the key for {names.primary}")

    @final
    async def aload_site(self, names: EntryNames) -> TokenInfo | None:
        """`load_site` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(
            self.load_site, names, action=f"read the token for {names.primary}"
        )

    @final
    async def asave_login(self, names: EntryNames, **login: Unpack[_NewLogin]) -> TokenInfo:
        """`save_login` in a daemon thread, limited to `timeout` seconds."""
        save = functools.partial(self.save_login, **login)
        return await self._in_thread(save, names, action=f"store the token for {names.primary}")

    @final
    async def adelete_site(self, names: EntryNames) -> bool:
        """`delete_site` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(
            self.delete_site, names, action=f"delete the token for {names.primary}"
        )

    @final
    async def aload(self, domain: str) -> TokenInfo | None:
        """`load` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(self.load, domain, action=f"read the token for {domain}")

    @final
    async def akeep_damaged_copy(self) -> None:
        """`keep_damaged_copy` in a daemon thread, limited to `timeout` seconds."""
        await self._in_thread(lambda _: self.keep_damaged_copy(), None, action="keep a copy")

    @final
    async def asave(self, token: TokenInfo) -> None:
        """`save` in a daemon thread, limited to `timeout` seconds."""
        await self._in_thread(self.save, token, action=f"store the token for {token.domain}")

    @final
    async def adelete(self, domain: str) -> bool:
        """`delete` in a daemon thread, limited to `timeout` seconds."""
        return await self._in_thread(self.delete, domain, action=f"delete the token for {domain}")

    @final
    def load_within(self, domain: str) -> TokenInfo | None:
        """`load` for synchronous callers, limited to `timeout` seconds (blocks the caller)."""
        return self._bounded(self.load, domain, action=f"read the token for {domain}")

    @final
    def load_site_within(self, names: EntryNames) -> TokenInfo | None:
        """`load_site` for synchronous callers, limited to `timeout` seconds."""
        return self._bounded(self.load_site, names, action=f"read the token for {names.primary}")

    def _bounded(self, func: Callable[[_T], _R], arg: _T, *, action: str) -> _R:
        deadline = Deadline(self.timeout)
        call = DaemonCall(functools.partial(_call, deadline, func, arg), name=_THREAD)
        if not call.wait_blocking(self.timeout) and not (
            deadline.waiting and call.wait_blocking(_REPORT_SECONDS)
        ):
            raise self._timed_out(action)
        return call.result()

    def _label(self) -> str:
        """Name of the backend for a time-out message; must not block."""
        return self.name

    async def _in_thread(self, func: Callable[[_T], _R], arg: _T, *, action: str) -> _R:
        deadline = Deadline(self.timeout)
        call = DaemonCall(functools.partial(_call, deadline, func, arg), name=_THREAD)
        if not await call.wait(self.timeout) and not (
            deadline.waiting and await call.wait(_REPORT_SECONDS)
        ):
            raise self._timed_out(action)
        return call.result()

    def _timed_out(self, action: str) -> StorageError:
        return StorageError(
            f"The {self._label()} did not answer within {self.timeout:g} seconds when "
            f"asked to {action}; make sure it is unlocked and responsive, or allow it more "
            "time with ANACONDA_AUTH_STORAGE_TIMEOUT."
        )


def _call(deadline: Deadline, func: Callable[[_T], _R], arg: _T) -> _R:
    """`func(arg)` with every wait inside it (the file lock's) ending by `deadline`."""
    with deadline.applied():
        return func(arg)


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
