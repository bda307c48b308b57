"""Which flow a login runs, and running it: the requested flow checked, ``auto``'s choice.

``flow=`` (else the ``login_flow`` setting) is ``browser``, ``device``, ``password``
(deprecated; ``basic=True`` is anaconda-cloud-auth's spelling), or ``auto``: the browser,
unless no browser can be opened here (no ``BROWSER`` set, and no display, or
`webbrowser.get` finds nothing) and the provider offers device-code login. ``auto`` also
switches to a device code, saying why in a ``device_fallback`` event, when the browser does
not open or the redirect URI's port is taken (`run_flow` decides both).
"""

from __future__ import annotations

import logging
import os
import webbrowser
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, get_args

from ..foundation.errors import ConfigurationError
from ..foundation.threads import in_daemon_thread
from ..foundation.warnings import warn_at_caller
from ..settings.fields import AnacondaAuthSettings, LoginFlow
from .events import EventSink, LoginEvent

if TYPE_CHECKING:
    import httpx

    from .events import FlowResult
    from .flows.password import CredentialsCallback
    from .provider import ProviderMetadata

__all__ = [
    "PASSWORD_DEPRECATION",
    "browser_available",
    "choose_flow",
    "password_warning_given",
    "requested_flow",
    "run_flow",
    "warn_if_password_login",
]

logger = logging.getLogger(__name__)

PASSWORD_DEPRECATION = (
    "Logging in with a user name and password (basic=True) is deprecated and will stop "
    "working; log in with the browser or a device code instead."
)

# Set by `sync.login`, which gives the warning on the caller's own thread.
password_warning_given: ContextVar[bool] = ContextVar("password_warning_given", default=False)


def warn_if_password_login(settings: AnacondaAuthSettings) -> None:
    """The password flow's deprecation: a `FutureWarning` (shown by default) at the caller."""
    if settings.login_flow == "password" and not password_warning_given.get():
        warn_at_caller(PASSWORD_DEPRECATION, FutureWarning)


def requested_flow(flow: LoginFlow | None, basic: bool) -> LoginFlow | None:
    """The flow the arguments ask for (``basic=True``: the password flow), or None."""
    if flow is not None and flow not in get_args(LoginFlow):  # named as passed
        choices = ", ".join(map(repr, get_args(LoginFlow)))
        raise ConfigurationError(f"Invalid argument flow={flow!r}: expected one of {choices}.")
    if not basic:
        return flow
    if flow not in (None, "password"):
        raise ConfigurationError(
            f"basic=True selects the password flow but flow={flow!r} was also given; "
            "pass only one of them."
        )
    return "password"


def _webbrowser_found() -> bool:
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


async def browser_available() -> bool:
    """Whether a browser can be opened here: ``BROWSER`` is set, or a display and a browser.

    `webbrowser.get` may start a process to ask the desktop, so it runs in a worker thread.
    """
    from .flows.browser_opener import (
        no_display,  # the opener module only when a browser may be needed
    )

    if os.environ.get("BROWSER"):
        return True
    if no_display():
        return False
    return await in_daemon_thread(_webbrowser_found, name="anaconda-auth browser check")


async def choose_flow(requested: LoginFlow, metadata: ProviderMetadata) -> LoginFlow:
    """The flow to run: `requested`, or for ``auto`` the browser unless none can open here."""
    if requested != "auto":
        return requested
    if metadata.device_authorization_endpoint and not await browser_available():
        logger.info("No browser can be opened here; logging in with a device code")
        return "device"
    return "browser"


async def run_flow(
    flow: LoginFlow,
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    *,
    on_event: EventSink,
    ask_credentials: CredentialsCallback | None,
    open_browser: Callable[[str], bool] | None,
    open_device_page: bool = False,
    fallback_to_device: bool = False,
) -> FlowResult:
    """Run `flow`; with `fallback_to_device`, a browser that cannot open or a port that is
    taken switches to the device flow (a ``device_fallback`` event says why)."""
    # Each flow is imported on use: the browser flow brings in authlib and a listener.
    if flow == "device":
        from .flows.browser_opener import default_open_browser
        from .flows.device_code import device_flow  # on use, as every flow (see above)

        opener = open_browser
        if opener is None and open_device_page and await browser_available():
            opener = default_open_browser
        return await device_flow(http, metadata, settings, on_event=on_event, open_browser=opener)
    if flow == "password":
        from .flows.password import password_flow  # on use, as every flow

        return await password_flow(http, metadata, settings, ask_credentials=ask_credentials)
    from .flows.browser import browser_flow  # on use: authlib and the listener
    from .flows.browser_opener import NoBrowserError
    from .flows.loopback_listener import PortInUseError

    try:
        return await browser_flow(
            http,
            metadata,
            settings,
            on_event=on_event,
            open_browser=open_browser,
            give_up_without_browser=fallback_to_device,
        )
    except (NoBrowserError, PortInUseError) as exc:
        if not fallback_to_device:  # an explicit browser login: its error says what to do
            raise
        why = exc.reason if isinstance(exc, PortInUseError) else "No browser could be opened"
        logger.info("%s; logging in with a device code instead", why)
        on_event(LoginEvent(kind="device_fallback", message=why))
        return await run_flow(
            "device",
            http,
            metadata,
            settings,
            on_event=on_event,
            ask_credentials=None,
            open_browser=None,
        )
