"""Removing keys: one site's, under every name it is stored under, or every site's.

`logout_and_clean` is `logout`'s work for one site; `logout_everywhere` is ``logout
--all``. Both also remove the leftover files beside the keyring file that may hold keys
(copies of a damaged file kept aside, temp files of interrupted writes). A keyring file
that cannot be parsed stops a one-site logout with nothing changed (the site's key cannot
be found in it, and replacing it would lose every other site's); ``--all`` deletes it.

Everything goes through the store given (listing, deleting, cleaning leftovers), so a
test's `use_store` store is the only one touched; the system keyring's store brings the
Anaconda file keyring along (`_stores`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..foundation.errors import ConfigurationError, CorruptTokenFileError
from ..settings.config_file import PRESETS, read_config, translate
from ..settings.fields import AnacondaAuthSettings
from .entry_names import ANACONDA_NAMES, entry_names
from .keyring_store import KeyringTokenStore
from .token_file import TokenFile

if TYPE_CHECKING:
    from pathlib import Path

    from .token_store import TokenStore

__all__ = ["logout_and_clean", "logout_everywhere"]

logger = logging.getLogger(__name__)


async def logout_and_clean(
    settings: AnacondaAuthSettings, store: TokenStore
) -> tuple[bool, list[Path]]:
    """`logout`'s work: whether a key was removed, and the leftover files removed.

    Both through `store` (`TokenStore.delete_site`, `TokenStore.remove_leftovers`), in
    one call within its time limit.
    """
    names = entry_names(settings.auth_domain, settings.api_domain)
    stores = _stores(settings, store)

    def work() -> tuple[bool, list[Path]]:
        removed = stores[0].delete_site(names)
        return removed, [path for each in stores for path in each.remove_leftovers()]

    try:
        removed, files = await store.arun(work, action=f"log out of {names.primary}")
    except CorruptTokenFileError as exc:
        raise CorruptTokenFileError(
            f"Could not log out of {settings.auth_domain}: the token file {exc.path} could "
            f"not be parsed ({exc.reason}), so its key could not be removed; nothing was "
            "changed. Run `anaconda-auth logout --all` (in Python, logout(all_sites=True)) "
            "to delete the file with every key it may hold, or repair it by hand.",
            path=exc.path,
            reason=exc.reason,
        ) from None
    logger.debug("Logout from %s: %s", settings.auth_domain, "key removed" if removed else "none")
    return removed, files


def _stores(settings: AnacondaAuthSettings, store: TokenStore) -> list[TokenStore]:
    """The stores a logout clears: `store`; and when it is the system keyring, also the
    Anaconda file keyring, where anaconda-cloud-auth kept keys (and the SDK falls back)."""
    if not isinstance(store, KeyringTokenStore) or isinstance(store.backend, TokenFile):
        return [store]  # a store of the caller's (a test's) is the only one
    file_settings = settings.with_overrides(preferred_token_storage="anaconda-keyring")
    return [store, KeyringTokenStore(file_settings)]


def _site_domains() -> list[tuple[str, str]]:
    """``(auth_domain, api_domain)`` of every site of config.toml and of every preset."""
    fields = AnacondaAuthSettings.model_fields
    try:
        config = read_config()
    except ConfigurationError as exc:
        logger.warning("%s; only the sites known without it are logged out", exc)
        config = None
    tables = {**PRESETS, **(config.sites if config is not None else {})}
    domains = []
    for name, table in tables.items():
        where = functools.partial("[sites.{}] {}".format, name)
        try:
            values = translate(table, fields, where=where)
        except ConfigurationError as exc:
            logger.warning("%s; skipping that site", exc)
            continue
        auth, api = values.get("auth_domain"), values.get("api_domain")
        domains.append(
            (
                str(auth[0]) if auth else str(fields["auth_domain"].default),
                str(api[0]) if api else str(fields["api_domain"].default),
            )
        )
    return domains


def _known_names(settings: AnacondaAuthSettings, file_names: Iterable[str]) -> list[str]:
    """Every keyring name a key of any site may be under, as far as this package knows:
    the selected site's, every config.toml site's and preset's, the Anaconda names, and
    `file_names` (what the store lists)."""
    sites = [(settings.auth_domain, settings.api_domain), *_site_domains()]
    names = [name for auth, api in sites for name in entry_names(auth, api).read]
    names += ANACONDA_NAMES
    names += file_names
    return list(dict.fromkeys(names))


async def logout_everywhere(
    settings: AnacondaAuthSettings, store: TokenStore
) -> tuple[list[str], list[Path]]:
    """Remove every API key this package can find, for every site; and the leftover files.

    The names tried, in `store` (`TokenStore.delete_names`): every name it lists, the
    Anaconda names (``anaconda.com``, ``id.anaconda.cloud``, ``anaconda.cloud``), and the
    names of the selected site and of every site in ``~/.anaconda/config.toml`` (and the
    presets). A store that cannot be read (a keyring file that cannot be parsed) is
    removed whole (`TokenStore.remove_leftovers` with ``unreadable=True``). Returns the
    names that held a key, and the files removed (as `logout`). A key in
    ``ANACONDA_AUTH_API_KEY`` or a key file is not touched.
    """
    known = _known_names(settings, ())  # config.toml read here, not inside the time limit
    stores = _stores(settings, store)

    def work() -> tuple[list[str], list[Path]]:
        removed: list[str] = []
        files: list[Path] = []
        for each in stores:
            try:
                listed = each.list_names()
            except CorruptTokenFileError:  # it goes, with whatever keys it held
                files += each.remove_leftovers(unreadable=True)
                listed = []
            removed += each.delete_names([*known, *listed])
            files += each.remove_leftovers()
        return list(dict.fromkeys(removed)), files

    removed, files = await store.arun(work, action="log out of every site")
    logger.info("Logged out of every site: %s", ", ".join(removed) or "no key was stored")
    return removed, files
