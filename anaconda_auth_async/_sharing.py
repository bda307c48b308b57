"""One login for every Anaconda tool: the names a key is stored under (pure, no I/O).

Three packages keep API keys in the same keyring service (``"Anaconda Cloud"``) and file
(``~/.anaconda/keyring``), each under its own user name:

- anaconda-cloud-auth 0.6 reads and writes its auth domain (``id.anaconda.cloud``);
- anaconda-auth 0.7+ reads and writes its ``domain`` (``anaconda.com``), and when that is
  missing *moves* an ``id.anaconda.cloud`` or ``anaconda.cloud`` entry to it, deleting
  the original;
- this package follows `entry_names`: for the Anaconda family of names it reads all
  three and writes both tools' names, so whichever tool logs in, every tool finds the
  key, and anaconda-auth's move never takes the key away from anyone.

When several names hold a key, `newest` picks the one to use: an unexpired key before an
expired one, then the latest ``iat`` (a key logged in later wins), then the read order.
The rules are documented in ``docs/storage.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._token import TokenInfo

__all__ = [
    "ANACONDA_NAMES",
    "ENTRY_VERSION",
    "EntryNames",
    "entry_names",
    "login_entries",
    "newest",
    "same_api",
]

ANACONDA_NAMES = ("anaconda.com", "id.anaconda.cloud", "anaconda.cloud")
"""One account system under three names: anaconda-auth's ``MIGRATIONS`` maps the last two
to the first. Reading any of them finds a login made under another."""

_WRITTEN = ("anaconda.com", "id.anaconda.cloud")
"""The names anaconda-auth (its default ``domain``) and anaconda-cloud-auth (its auth
domain) read by default."""

ENTRY_VERSION = 2
"""anaconda-auth's ``TokenInfo.version``; entries we write carry it (others ignore it)."""


@dataclass(frozen=True)
class EntryNames:
    """The keyring user names of one site: `read` in order, `write` on every login.

    A login also rewrites every `read` name that already holds an entry, so no name is
    left with a stale key; `logout` deletes every `read` name.
    """

    read: tuple[str, ...]
    write: tuple[str, ...]

    @property
    def primary(self) -> str:
        """The name this package has always used: the auth domain."""
        return self.write[0]


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


def entry_names(auth_domain: str, api_domain: str) -> EntryNames:
    """The names a site's key is read from and written to.

    A site whose auth domain is one of `ANACONDA_NAMES` reads its auth domain, then
    ``anaconda.com``, ``id.anaconda.cloud``, ``anaconda.cloud``, and writes its auth
    domain, ``anaconda.com`` and ``id.anaconda.cloud``. Any other site reads and writes
    its auth domain (this package's and anaconda-cloud-auth's name) and its API domain
    (anaconda-auth's ``domain``; a key is made by and for that API), unless the API
    domain is one of `ANACONDA_NAMES` (a key of another provider is never mixed in there).
    """
    if auth_domain in ANACONDA_NAMES:
        return EntryNames(
            read=_unique([auth_domain, *ANACONDA_NAMES]), write=_unique([auth_domain, *_WRITTEN])
        )
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


def login_entries(
    names: EntryNames,
    found: Mapping[str, TokenInfo],
    *,
    api_key: str,
    username: str | None,
    api_domain: str | None = None,
) -> list[TokenInfo]:
    """The entries a login writes: one per `names.write` and per `found` read name.

    Each keeps what its name held (repo tokens, fields this package does not know, the
    user name when the login gave none); a new name starts from the entry in use. Every
    entry's ``domain`` is the name it is stored under, because anaconda-auth and
    anaconda-cloud-auth save an entry back under its ``domain``. `api_domain`, when
    given, is recorded in every entry (the API the key was made at).
    """
    current = newest([found[n] for n in names.read if n in found])
    targets = _unique([*names.write, *(n for n in names.read if n in found)])
    entries = []
    for name in targets:
        base = found.get(name) or current
        extra = dict(base.extra) if base is not None else {}
        extra.setdefault("version", ENTRY_VERSION)
        if api_domain:
            extra["api_domain"] = api_domain
        entries.append(
            TokenInfo(
                domain=name,
                api_key=api_key,
                username=username or (base.username if base is not None else None),
                repo_tokens=base.repo_tokens if base is not None else (),
                extra=extra,
            )
        )
    return entries
