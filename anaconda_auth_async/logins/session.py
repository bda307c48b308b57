"""An existing login: the key in use and where it comes from, whether it is usable, logout.

`current_token` is where a key is looked up (the configured key first, then the store);
`is_logged_in` asks `decision.unusable` of it; `logout` removes the site's key under every
name it is stored under (`storage.site_cleanup` does the removing).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from ..api_client.site_context import SiteContext, site_context
from ..foundation.public_names import publish
from ..settings.fields import AnacondaAuthSettings
from ..storage.stored_token import TokenInfo
from .decision import unusable

if TYPE_CHECKING:
    from ..storage.keyring_store import TokenStore

__all__ = [
    "LogoutReport",
    "current_token",
    "is_logged_in",
    "logout",
    "logout_report",
    "token_in_use",
]


async def logout(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    auth_domain: str | None = None,
    store: TokenStore | None = None,
    all_sites: bool = False,
) -> bool:
    """Remove the stored API key of the site under every name it is stored under.

    Returns whether there was one. The names include anaconda-auth's and
    anaconda-cloud-auth's (see ``docs/storage.md``), so the user is logged out of every tool.
    Also removes the files beside the keyring file that may hold keys: copies of a damaged
    keyring file kept aside (``keyring.corrupt-*``) and temp files of interrupted writes.

    With ``all_sites=True`` (``anaconda-auth logout --all``), removes every key this
    package can find, for every site: each entry of the Anaconda keyring file, the
    Anaconda names and those of every site in ``~/.anaconda/config.toml``; `site` and
    `auth_domain` must then not be given. A key set in ``ANACONDA_AUTH_API_KEY`` or a key
    file is never touched.
    """
    report = await logout_report(
        settings=settings, site=site, auth_domain=auth_domain, store=store, all_sites=all_sites
    )
    return bool(report.removed)


@dataclasses.dataclass(frozen=True)
class LogoutReport:
    """What a logout removed (`logout_report`; ``anaconda-auth logout`` prints it)."""

    settings: AnacondaAuthSettings
    removed: tuple[str, ...]
    """The names whose key was removed: with ``all_sites``, every one; else the site's."""
    files: tuple[Path, ...]
    """The leftover files removed (copies kept aside, temp files; the damaged file)."""


async def logout_report(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    auth_domain: str | None = None,
    store: TokenStore | None = None,
    all_sites: bool = False,
) -> LogoutReport:
    """`logout`, reporting what it removed: its one implementation, argument checks included."""
    if all_sites and (site is not None or auth_domain is not None):
        raise ValueError("all_sites=True logs out of every site; do not pass site or auth_domain.")
    context = site_context(settings, store=store, site=site, auth_domain=auth_domain)
    from ..storage.site_cleanup import (  # storage only when logging out
        logout_and_clean,
        logout_everywhere,
    )

    # storage/ sits below the context: it is handed the context's settings and store.
    if all_sites:
        names, files = await logout_everywhere(context.settings, context.store)
        return LogoutReport(context.settings, tuple(names), tuple(files))
    removed, files = await logout_and_clean(context.settings, context.store)
    removed_names = (context.names.primary,) if removed else ()
    return LogoutReport(context.settings, removed_names, tuple(files))


async def current_token(
    settings: AnacondaAuthSettings | None = None, *, store: TokenStore | None = None
) -> tuple[TokenInfo | None, str]:
    """The key requests would use, and where it comes from (for ``anaconda-auth status``).

    A key the settings configure wins (``ANACONDA_AUTH_API_KEY`` or the file named by
    ``ANACONDA_AUTH_API_KEY_FILE``): its source is ``"argument"``, ``"environment variable
    ANACONDA_AUTH_API_KEY"`` (or the name that was set), the ``.env`` file, or ``"file
    <path> (from ...)"``. Otherwise the stored entry (``None`` when there is none; it may
    be expired) and the store's name.
    """
    return await token_in_use(site_context(settings, store=store))


async def token_in_use(context: SiteContext) -> tuple[TokenInfo | None, str]:
    """`current_token` for a context already built (the public functions' own)."""
    from ..api_client.configured_key import (
        configured_key,  # the key-file module only when api_key_file is set
    )

    settings = context.settings
    configured = configured_key(settings)
    if configured is not None:
        token = TokenInfo(domain=settings.auth_domain, api_key=configured.key)
        return token, configured.source
    store = context.store
    return await store.aload_site(context.names), store.name


async def is_logged_in(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    auth_domain: str | None = None,
    store: TokenStore | None = None,
) -> bool:
    """True when an unexpired API key the server has not rejected is available.

    An ``api_key`` setting (``ANACONDA_AUTH_API_KEY``, for CI) counts, because it is the
    key clients send; so ``if not await is_logged_in(): await login()`` never starts an
    interactive login where a key is configured. `current_token` says where the key is.
    """
    context = site_context(settings, store=store, site=site, auth_domain=auth_domain)
    token, _ = await token_in_use(context)
    return unusable(token) is None


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
