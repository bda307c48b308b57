"""The life of an API key beyond a login: mint one for a machine, store one you already have.

`create_api_key` runs a fresh login (browser or device code, as `login` chooses) and asks
the API for a new key with the scopes and tags given, and **stores nothing**: the person's
own stored login stays exactly as it was. The new key goes to the caller (the CLI prints it
on stdout), typically to be put in a CI secret or a Kubernetes secret file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ._config import resolve_settings
from ._login import _ignore, _requested_flow, obtain_key_in_time

if TYPE_CHECKING:
    from ._apikey import APIKey
    from ._config import AnacondaAuthSettings, LoginFlow
    from ._flows import EventSink

__all__ = ["create_api_key"]

logger = logging.getLogger(__name__)


async def create_api_key(
    *,
    scopes: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    settings: AnacondaAuthSettings | None = None,
    auth_domain: str | None = None,
    ssl_verify: bool | str | None = None,
    flow: LoginFlow | None = None,
    on_event: EventSink | None = None,
    open_browser: Callable[[str], bool] | None = None,
    timeout: float | None = None,
) -> APIKey:
    """Log in afresh and create a new API key for another machine; store nothing.

    `scopes` default to the scopes a login's own key gets (``cloud:read``,
    ``cloud:write``); `tags` are sent after the tag naming this SDK. The login always
    runs, even while a key is stored, and that stored key is left untouched. `flow`,
    `on_event`, `open_browser` and `timeout` work as in `login`. Returns the `APIKey`
    (the key, its id, expiry, scopes and tags). Raises `LoginError` (for instance
    `LoginDeniedError`, `LoginTimeoutError` or `APIKeyExchangeError`) when it fails.
    """
    settings = resolve_settings(
        settings,
        auth_domain=auth_domain,
        ssl_verify=ssl_verify,
        login_flow=_requested_flow(flow, False),
    )
    key = await obtain_key_in_time(
        settings, timeout=timeout, on_event=on_event or _ignore, scopes=scopes, tags=tags
    )
    logger.info(
        "Created API key %s for %s (not stored)", key.id or "(no id)", key.username or "unknown"
    )
    return key
