"""The site rules, built once on a store's primitives (`TokenStore`'s final methods call these).

A login saved under every name of a site, a rejection marked under the names it was read
from, a site's entries deleted, and the key to use among a site's names: each is a function
of `Primitives` (a store's `load` and atomic `update`) and nothing else, so every store, a
test's or a secrets manager's, follows the same rules. What each rule decides about names
is `entry_names`; this module turns it into reads and one update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from .entry_names import EntryNames, logged_out_elsewhere, login_entries, newest
from .stored_token import TokenInfo

__all__ = [
    "Change",
    "Primitives",
    "delete_names",
    "load_site",
    "mark_rejected",
    "save",
    "save_login",
]

logger = logging.getLogger(__name__)

Change = Callable[[Mapping[str, TokenInfo]], Mapping[str, "TokenInfo | None"]]
"""What `TokenStore.update` applies: the entries found -> the writes (None deletes)."""


class Primitives(Protocol):
    """The primitives the rules are built on (`TokenStore.load` and `TokenStore.update`)."""

    def load(self, domain: str) -> TokenInfo | None:
        """The entry stored under the name `domain`, or None."""

    def update(self, names: Iterable[str], change: Change) -> dict[str, TokenInfo | None]:
        """Read the entries of `names`, apply `change`, and write its result, atomically."""


def save(store: Primitives, token: TokenInfo) -> None:
    """Store `token` under ``token.domain``, keeping every other entry."""
    if not token.domain:
        raise ValueError("cannot store a token without a domain")
    store.update((), lambda _: {token.domain: token})


def delete_names(store: Primitives, names: Iterable[str]) -> list[str]:
    """Remove the entries under `names` in one update; the names that held one."""
    names = list(dict.fromkeys(names))
    removed = store.update(names, lambda found: dict.fromkeys(found))
    return [name for name in names if name in removed]


def load_site(store: Primitives, names: EntryNames) -> TokenInfo | None:
    """The newest entry among `names.read`; entries another tool logged out of are deleted
    (in one update that checks again) and not used."""
    found = {n: t for n in names.read if (t := store.load(n)) is not None}
    if logged_out_elsewhere(names, found):
        dropped = store.update(
            names.read, lambda now: dict.fromkeys(logged_out_elsewhere(names, now))
        )
        for name in dropped:
            logger.info(
                "The key stored for %s was logged out of by another tool (a name it was "
                "stored under with it is gone); removing it",
                name,
            )
            found.pop(name, None)
    return newest(list(found.values()))


def save_login(
    store: Primitives,
    names: EntryNames,
    *,
    api_key: str,
    username: str | None,
    api_domain: str | None = None,
    extra: dict[str, Any] | None = None,
) -> TokenInfo:
    """Store a new key under `names.write` in one update; the primary name's entry.

    The writes are given in the order a store without transactions should apply them: the
    primary entry (which records every name written) last of the entries, then the other
    names emptied, so no reader sees a record naming a missing name.
    """

    def change(found: Mapping[str, TokenInfo]) -> dict[str, TokenInfo | None]:
        write = login_entries(
            names,
            found,
            api_key=api_key,
            username=username,
            api_domain=api_domain,
            extra=extra,
        )
        writes: dict[str, TokenInfo | None] = {e.domain: e for e in reversed(write.entries)}
        writes.update(dict.fromkeys(write.delete))
        return writes

    entry = store.update(names.read, change)[names.primary]
    assert entry is not None  # a login writes the primary name
    return entry


def mark_rejected(store: Primitives, names: EntryNames, api_key: str, at: float) -> bool:
    """Mark `api_key` rejected at `at` in each of the site's entries holding it, in one
    update under the name each was read from; True if any was marked."""

    def change(found: Mapping[str, TokenInfo]) -> dict[str, TokenInfo | None]:
        return {
            name: token.with_rejection(at)
            for name, token in found.items()
            if token.api_key == api_key and not token.rejected
        }

    return bool(store.update(names.read, change))
