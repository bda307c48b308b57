"""The ``key`` check: which key requests would send, from where, until when, to where.

`session.token_in_use` decides which key is used (a configured one wins over the store);
`key_loading.bound_api_domain` decides where a stored key may go. Never shows the key.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..api_client.configured_key import configured_key
from ..api_client.key_loading import EXPIRY_WARNING_DAYS, bound_api_domain
from ..api_client.refusals import key_problem
from ..foundation.errors import ConfigurationError, StorageError
from ..logins.decision import unusable
from ..logins.session import token_in_use
from .report import DoctorCheck, sentence_part, split_advice

if TYPE_CHECKING:
    from ..api_client.site_context import SiteContext
    from ..storage.stored_token import TokenInfo

__all__ = ["key_check"]

_LOGIN = "run 'anaconda-auth login'"


async def key_check(context: SiteContext) -> DoctorCheck:
    """Source, user, expiry and days left, the rejected mark, scopes, and the API origin the
    key is bound to; ``warn`` when there is none or it expires soon, ``fail`` when it
    cannot be used."""
    settings = context.settings
    domain = settings.auth_domain
    try:
        token, source = await token_in_use(context)
        stored = configured_key(settings) is None
    except (ConfigurationError, StorageError) as exc:
        what, fix = split_advice(str(exc))
        return DoctorCheck(
            "key",
            "fail",
            f"The key for {domain} could not be read: {sentence_part(what)}",
            fix or "see 'anaconda-auth status', and the storage check below",
        )
    why = unusable(token)  # the one rule for "logged in"
    if token is None or why == "missing":
        return DoctorCheck("key", "warn", f"Not logged in to {domain} (looked in {source})", _LOGIN)
    renew = _LOGIN if stored else f"replace the key in {source}, or unset it and {_LOGIN}"
    if why is not None:
        at = token.expires_at if why == "expired" else token.rejected_at
        what = f"the API key for {domain} from {source}"
        return DoctorCheck("key", "fail", key_problem(why, what, when=at), renew)
    summary = f"Key for {domain} from {source}{_details(token)}"
    bound = bound_api_domain(token, settings.api_domain)
    if bound != settings.api_domain:
        return DoctorCheck(
            "key",
            "fail",
            f"{summary}; it was made for the API at {bound}, not {settings.api_domain}, so "
            "clients refuse to send it there",
            f"{_LOGIN} to get a key for {settings.api_domain}, or set api_domain to {bound}",
        )
    summary += f"; sent only to https://{bound}"
    left = token.expires_at - time.time() if token.expires_at is not None else None
    if left is not None and left <= EXPIRY_WARNING_DAYS * 86400:
        fix = f"{_LOGIN} --renew-within {EXPIRY_WARNING_DAYS}d" if stored else renew
        return DoctorCheck("key", "warn", summary, fix)
    return DoctorCheck("key", "ok", summary)


def _on(token: TokenInfo) -> str:
    if token.expires_at is None:
        return ""
    return " on " + time.strftime("%Y-%m-%d", time.gmtime(token.expires_at))


def _details(token: TokenInfo) -> str:
    parts = []
    if token.username:
        parts.append(f"user {token.username}")
    if token.expires_at is None:
        parts.append("no expiry date")
    else:
        days = int((token.expires_at - time.time()) // 86400)
        parts.append(f"expires{_on(token)} ({days} days left)")
    scopes = token.scopes  # recorded at login, else the key's own claim
    if scopes is not None:
        parts.append(f"scopes {' '.join(scopes) or '(none)'}")
    return ": " + ", ".join(parts) if parts else ""
