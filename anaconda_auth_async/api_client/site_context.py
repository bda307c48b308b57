"""`SiteContext`: one site, resolved once where a public function or client is entered.

It holds what every layer below an entry point needs about the site: the resolved
settings, the auth domain whose key is read, the names that key is stored under, the
store, the transport configuration and the extra origins a key may go to. `site_context`
is the one function that builds it from a public function's arguments; everything below
takes the context, not the same arguments again. The parts derived from the settings are
worked out on first use, once, so building a context adds nothing to the first request
(a key given directly never makes a store; a bare `AnacondaAuth` never builds a TLS
context). See docs/decisions.md, "One context per public call".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..network.origins import Origin, parse_origins
from ..storage.entry_names import EntryNames, entry_names
from ..storage.keyring_store import default_store

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..network.transport import TransportConfig
    from ..settings.fields import AnacondaAuthSettings, SettingsOverrides
    from ..storage.token_store import TokenStore

__all__ = ["SiteContext", "site_context"]


@dataclass(frozen=True, eq=False)
class SiteContext:
    """The resolved settings of one site, and what follows from them (each part once)."""

    settings: AnacondaAuthSettings
    auth_domain: str
    """The auth domain whose stored key is read (``settings.auth_domain``, unless
    `AnacondaAuth` was given another)."""
    allowed_origins: frozenset[Origin] = frozenset()
    """Origins beyond the key's own that it may be sent to (``allowed_origins=``)."""
    given_store: TokenStore | None = field(default=None, repr=False)
    """The store the caller passed (``store=``), if any."""

    @cached_property
    def names(self) -> EntryNames:
        """The names the site's key is read from and written to (`entry_names`)."""
        return entry_names(self.auth_domain, self.settings.api_domain)

    @cached_property
    def store(self) -> TokenStore:
        """The store given, else `default_store` (the `use_store` override, else the
        keyring store for these settings), made on first use."""
        if self.given_store is not None:
            return self.given_store
        return default_store(self.settings)

    @cached_property
    def transport(self) -> TransportConfig:
        """The shared TLS context, proxy and timeout for these settings."""
        # On use: a bare AnacondaAuth builds no TLS context and needs no transport module.
        from ..network.transport import transport_config

        return transport_config(self.settings)


def site_context(
    settings: AnacondaAuthSettings | None = None,
    *,
    store: TokenStore | None = None,
    allowed_origins: Iterable[str] = (),
    key_domain: str | None = None,
    **changes: Unpack[SettingsOverrides],
) -> SiteContext:
    """The context of one public call: `settings` with `changes` applied (`resolve_settings`;
    None: from the environment), `store` (None: the default store, on first use), the
    `allowed_origins` checked (`parse_origins`), and `key_domain` (`AnacondaAuth`'s
    ``auth_domain=``, which chooses the stored key without changing the settings).
    """
    # On use: pydantic only when a context is built (a bare AnacondaAuth import needs none).
    from ..settings.fields import resolve_settings

    resolved = resolve_settings(settings, **changes)
    return SiteContext(
        settings=resolved,
        auth_domain=key_domain or resolved.auth_domain,
        allowed_origins=parse_origins(allowed_origins),
        given_store=store,
    )
