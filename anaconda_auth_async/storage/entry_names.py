"""One login for every Anaconda tool: the names a key is stored under (pure, no I/O).

Three packages keep API keys in the same keyring service (``"Anaconda Cloud"``) and file
(``~/.anaconda/keyring``), each under its own user name:

- anaconda-cloud-auth 0.6 reads and writes its auth domain (``id.anaconda.cloud``);
- anaconda-auth 0.7+ reads and writes its ``domain`` (``anaconda.com``), and when that is
  missing *moves* an ``id.anaconda.cloud`` or ``anaconda.cloud`` entry to it, deleting
  the original;
- this package follows `entry_names`: for the Anaconda family of names it reads all
  three and writes only ``id.anaconda.cloud``, emptying the other two: anaconda-cloud-auth
  reads it there, anaconda-auth moves it to ``anaconda.com`` on its next load, and
  anaconda-auth's ``logout`` (which deletes ``anaconda.com`` and ``anaconda.cloud``, after
  that move when ``anaconda.com`` is missing) then leaves no key for its migration to bring
  back. Two names holding one key would: anaconda-auth's logout deletes ``anaconda.com``
  and its next load moves ``id.anaconda.cloud`` back, logging the user in again.

A site of another provider is stored under its auth domain and its API domain (the
names anaconda-cloud-auth and anaconda-auth read there; anaconda-auth migrates neither).
The auth domain's entry records both names (`STORED_UNDER`); when one of them is gone,
another tool logged out, and `logged_out_elsewhere` names the entries to drop.

When several names hold a key, `newest` picks the one to use: an unexpired key before an
expired one, then the latest ``iat`` (a key logged in later wins), then the read order.
The rules are documented in ``docs/storage.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .stored_token import RepoToken, TokenInfo

__all__ = [
    "ANACONDA_NAMES",
    "ENTRY_VERSION",
    "STORED_UNDER",
    "EntryNames",
    "LoginWrite",
    "entry_names",
    "logged_out_elsewhere",
    "login_entries",
    "newest",
    "same_api",
]

ANACONDA_NAMES = ("anaconda.com", "id.anaconda.cloud", "anaconda.cloud")
"""One account system under three names: anaconda-auth's ``MIGRATIONS`` maps the last two
to the first. Reading any of them finds a login made under another."""

_FAMILY_WRITE = "id.anaconda.cloud"
"""The one name a login in the Anaconda family writes: anaconda-cloud-auth reads it, and
anaconda-auth moves it to ``anaconda.com`` (its migration) on its next load."""

_LEGACY_WRITE = ("anaconda.com", "id.anaconda.cloud")
"""What logins of this package wrote before `STORED_UNDER` existed: both names at once."""

STORED_UNDER = "stored_under"
"""The field of our entries listing every name the login stored that key under."""

ENTRY_VERSION = 2
"""anaconda-auth's ``TokenInfo.version``; entries we write carry it (others ignore it)."""


@dataclass(frozen=True)
class EntryNames:
    """The keyring user names of one site: `read` in order, `write` on every login.

    A login empties every other `read` name (`clear`), so no name is left with a stale
    key; `logout` deletes every `read` name.
    """

    read: tuple[str, ...]
    write: tuple[str, ...]

    @property
    def primary(self) -> str:
        """The name a login writes first (and the one its `TokenInfo` is returned for)."""
        return self.write[0]

    @property
    def clear(self) -> tuple[str, ...]:
        """The `read` names a login empties: every one it does not write."""
        return tuple(n for n in self.read if n not in self.write)

    @property
    def family(self) -> bool:
        """Whether these are the Anaconda names (anaconda-auth migrates between them)."""
        return self.write == (_FAMILY_WRITE,) and "anaconda.com" in self.read


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


def entry_names(auth_domain: str, api_domain: str) -> EntryNames:
    """The names a site's key is read from and written to.

    A site whose auth domain is one of `ANACONDA_NAMES` reads its auth domain, then
    ``anaconda.com``, ``id.anaconda.cloud``, ``anaconda.cloud``, and writes
    ``id.anaconda.cloud`` only (see the module docstring for why one name). Any other
    site reads and writes its auth domain (this package's and anaconda-cloud-auth's name)
    and its API domain (anaconda-auth's ``domain``; a key is made by and for that API),
    unless the API domain is one of `ANACONDA_NAMES` (a key of another provider is never
    mixed in there).
    """
    if auth_domain in ANACONDA_NAMES:
        return EntryNames(read=_unique([auth_domain, *ANACONDA_NAMES]), write=(_FAMILY_WRITE,))
    own = _unique([auth_domain, "" if api_domain in ANACONDA_NAMES else api_domain])
    return EntryNames(read=own, write=own)


def same_api(recorded: str, configured: str) -> bool:
    """Whether a key recorded for API domain `recorded` may go to `configured`.

    True when they are equal, or both are Anaconda's (anaconda-auth sends keys made at
    ``anaconda.cloud`` to ``anaconda.com``, and the reverse).
    """
    return recorded == configured or (recorded in ANACONDA_NAMES and configured in ANACONDA_NAMES)


def newest(found: Sequence[TokenInfo]) -> TokenInfo | None:
    """The entry whose key to use, of those `found` (in read order).

    Entries with a key beat entries without; unexpired keys beat expired ones; among those
    the latest ``iat`` wins (keys without one rank last), ties going to the read order.
    """
    with_key = [t for t in found if t.api_key]
    if not with_key:
        return found[0] if found else None
    usable = [t for t in with_key if not t.expired] or with_key
    return max(usable, key=lambda t: -math.inf if t.issued_at is None else t.issued_at)


def _recorded(name: str, entry: TokenInfo, names: EntryNames) -> tuple[str, ...]:
    """The names `entry` (under `name`) says its key was stored under with it."""
    value = entry.extra.get(STORED_UNDER)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if value is None and entry.api_domain is not None and entry.extra.get("version") == 2:
        # a login of ours from before the field existed (it always wrote both fields)
        if names.family and name in _LEGACY_WRITE:
            return _LEGACY_WRITE
        return names.write if name in names.write else ()
    return ()


def logged_out_elsewhere(names: EntryNames, found: Mapping[str, TokenInfo]) -> tuple[str, ...]:
    """The names in `found` whose entry is a login another tool has since logged out of.

    An entry we wrote records every name its key was stored under (`STORED_UNDER`); when
    one of those that this site reads holds nothing now, another tool deleted it in a
    logout (anaconda-auth deletes only its ``domain``), so the key is logged out and
    every entry still holding it must go too. A name holding another key is a newer
    login, not a logout. Entries our logins wrote before the field existed are taken to
    record what those logins wrote.
    """
    gone: list[str] = []
    for name, entry in found.items():
        recorded = [n for n in _recorded(name, entry, names) if n in names.read]
        if any(n not in found for n in recorded):
            gone.append(name)
    return tuple(gone)


@dataclass(frozen=True)
class LoginWrite:
    """What a login does to the store: save `entries` (primary first), delete `delete`."""

    entries: tuple[TokenInfo, ...]
    delete: tuple[str, ...]


def _merged_repo_tokens(entries: Sequence[TokenInfo]) -> tuple[RepoToken, ...]:
    """Every repo token of `entries`, the first entry's winning for an organisation."""
    seen: dict[str | None, RepoToken] = {}
    for entry in entries:
        for token in entry.repo_tokens:
            seen.setdefault(token.org_name, token)
    return tuple(seen.values())


def login_entries(
    names: EntryNames,
    found: Mapping[str, TokenInfo],
    *,
    api_key: str,
    username: str | None,
    api_domain: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> LoginWrite:
    """What a login writes: one entry per `names.write`, and the `names.clear` to empty.

    Each written entry keeps what its name held (fields this package does not know, the
    user name when the login gave none); a new name starts from the entry in use. The
    repo tokens (``anaconda token install``) of every emptied name are carried over, so
    none is lost. Every entry's ``domain`` is the name it is stored under, because
    anaconda-auth and anaconda-cloud-auth save an entry back under its ``domain``. The
    primary entry records the names written (`STORED_UNDER`). `api_domain`, when given,
    is recorded in every entry (the API the key was made at), and `extra` too (the key's
    scopes).
    """
    current = newest([found[n] for n in names.read if n in found])
    cleared = [found[n] for n in names.clear if n in found]
    entries = []
    for name in names.write:
        base = found.get(name) or current
        fields = dict(base.extra) if base is not None else {}
        fields.pop(STORED_UNDER, None)
        fields.setdefault("version", ENTRY_VERSION)
        if api_domain:
            fields["api_domain"] = api_domain
        fields.update(extra or {})
        if name == names.primary:
            fields[STORED_UNDER] = list(names.write)
        own = [found[name]] if name in found else []
        entries.append(
            TokenInfo(
                domain=name,
                api_key=api_key,
                username=username or (base.username if base is not None else None),
                repo_tokens=_merged_repo_tokens([*own, *cleared, *(b for b in [base] if b)]),
                extra=fields,
            )
        )
    return LoginWrite(entries=tuple(entries), delete=tuple(n for n in names.clear if n in found))
