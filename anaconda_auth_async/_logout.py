"""Removing keys: one site's, under every name it is stored under, or every site's.

`logout_and_clean` is `logout`'s work for one site; `logout_everywhere` is ``logout
--all``. Both also remove the leftover files beside the keyring file that may hold keys
(copies of a damaged file kept aside, temp files of interrupted writes). A keyring file
that cannot be parsed stops a one-site logout with nothing changed (the site's key cannot
be found in it, and replacing it would lose every other site's); ``--all`` deletes it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import anyio.to_thread

from ._config import AnacondaAuthSettings
from ._configfile import PRESETS, read_config, translate
from ._exceptions import ConfigurationError, CorruptTokenFileError
from ._sharing import ANACONDA_NAMES, entry_names
from ._storage import SERVICE, KeyringTokenStore
from ._tokenfile import TokenFile

if TYPE_CHECKING:
    from pathlib import Path

    from ._storage import TokenStore

__all__ = ["logout_and_clean", "logout_everywhere"]

logger = logging.getLogger(__name__)


async def logout_and_clean(
    settings: AnacondaAuthSettings, store: TokenStore
) -> tuple[bool, list[Path]]:
    """`logout`'s work: whether a key was removed, and the leftover files removed."""
    names = entry_names(settings.auth_domain, settings.api_domain)
    try:
        removed = await store.adelete_site(names)
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
    keyring = TokenFile(settings.keyring_path, lock_timeout=settings.storage_timeout)
    # The keyring's lock (lock_timeout) bounds the wait; no second limit is applied here.
    files = await anyio.to_thread.run_sync(keyring.remove_leftovers, abandon_on_cancel=True)
    return removed, files


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
    whatever the file keyring holds."""
    sites = [(settings.auth_domain, settings.api_domain), *_site_domains()]
    names = [name for auth, api in sites for name in entry_names(auth, api).read]
    names += ANACONDA_NAMES
    names += file_names
    return list(dict.fromkeys(names))


def _file_names(keyring: TokenFile) -> list[str] | None:
    """The names in the file keyring; None when it is damaged (each delete then repairs it)."""
    try:
        return sorted(keyring.read().get(SERVICE, {}))
    except CorruptTokenFileError:
        return None


async def logout_everywhere(
    settings: AnacondaAuthSettings, store: TokenStore
) -> tuple[list[str], list[Path]]:
    """Remove every API key this package can find, for every site; and the leftover files.

    The names tried: every entry of the Anaconda file keyring (``keyring_path``), the
    Anaconda names (``anaconda.com``, ``id.anaconda.cloud``, ``anaconda.cloud``), and the
    names of the selected site and of every site in ``~/.anaconda/config.toml`` (and the
    presets). Each is deleted from `store` and from the file keyring. Returns the names
    that held a key, and the leftover files removed (as `logout`). A key in
    ``ANACONDA_AUTH_API_KEY`` or a key file is not touched.
    """
    keyring = TokenFile(settings.keyring_path, lock_timeout=settings.storage_timeout)
    file_store = KeyringTokenStore(settings, backend=keyring)
    listed = await anyio.to_thread.run_sync(_file_names, keyring, abandon_on_cancel=True)
    damaged = None
    if listed is None:  # the file cannot be parsed: it goes, with whatever keys it held
        damaged = await anyio.to_thread.run_sync(keyring.remove_damaged, abandon_on_cancel=True)
    names = _known_names(settings, listed or ())
    removed: list[str] = []
    for name in names:
        found = await store.adelete(name)
        if listed is not None and name in listed:
            found = await file_store.adelete(name) or found
        if found:
            removed.append(name)
    files = await anyio.to_thread.run_sync(keyring.remove_leftovers, abandon_on_cancel=True)
    files = [damaged, *files] if damaged is not None else files
    logger.info("Logged out of every site: %s", ", ".join(removed) or "no key was stored")
    return removed, files
