"""The login-path checks: ``redirect_port``, ``browser`` and ``login_flow``.

Each asks the code that decides at login time: the loopback listener binds the redirect
port (and lets it go at once), `flow_choice.browser_available` and `browser_opener.no_display`
say whether a browser can be opened, `flow_choice.choose_flow` picks the flow ``auto`` would.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..foundation.errors import LoginError
from ..foundation.process_finder import describe_process, port_holder
from ..foundation.threads import in_daemon_thread
from ..logins.flow_choice import browser_available, choose_flow
from ..logins.flows.browser_opener import no_display
from ..logins.flows.loopback_listener import PortInUseError, listen_for_callback
from .report import DoctorCheck, split_advice

if TYPE_CHECKING:
    from ..logins.provider import ProviderMetadata
    from ..settings.fields import AnacondaAuthSettings

__all__ = ["browser_check", "flow_check", "no_browser_reason", "redirect_port_check"]

_SSH_VARS = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
_CONTAINER_MARKS = ("/.dockerenv", "/run/.containerenv")


async def redirect_port_check(settings: AnacondaAuthSettings) -> tuple[DoctorCheck, bool]:
    """Whether the login redirect can be received (the listener binds and lets go), and
    whether its port is taken. ``auto`` then logs in with a device code
    (`flow_choice.run_flow`), so a taken port fails only an explicit browser login."""
    uri = settings.redirect_uri
    if settings.ephemeral_port:
        return DoctorCheck(
            "redirect_port", "ok", "The login listener takes any free port (ephemeral_port)"
        ), False
    try:
        async with listen_for_callback(
            uri, state="doctor", success_url="about:blank", error_url="about:blank"
        ):
            pass
    except PortInUseError as exc:
        holder = exc.holder
        if holder is None:
            found = await in_daemon_thread(
                functools.partial(port_holder, exc.port), name="anaconda-auth-doctor-port"
            )
            holder = describe_process(found) if found is not None else None
        summary = (
            f"The login redirect port {exc.port} of {uri} is in use"
            + (f" by {holder}" if holder else "")
            + ": a browser login cannot receive its redirect"
        )
        fix = _fix_of(str(exc))  # the listener's own advice: stop it, --device, the settings
        flow = settings.login_flow
        if flow == "auto":
            summary += " (auto logs in with a device code instead, if the provider offers one)"
            return DoctorCheck("redirect_port", "warn", summary, fix), True
        if flow == "browser":
            return DoctorCheck("redirect_port", "fail", summary, fix), True
        return DoctorCheck(
            "redirect_port", "ok", f"{summary}; login_flow is '{flow}', which does not use it"
        ), True
    except LoginError as exc:
        what, _ = split_advice(str(exc))
        return DoctorCheck("redirect_port", "fail", what, _fix_of(str(exc))), False
    return DoctorCheck("redirect_port", "ok", f"The redirect port of {uri} is free"), False


def _port(uri: str) -> int | None:
    try:
        return urlsplit(uri).port
    except ValueError:
        return None


def _fix_of(message: str) -> str:
    _, advice = split_advice(message)
    return advice or "set ANACONDA_AUTH_REDIRECT_URI to another loopback port"


def no_browser_reason() -> str:
    """Why no browser can be opened here (when `browser_available` says so)."""
    ssh = any(os.environ.get(name) for name in _SSH_VARS)
    container = any(Path(mark).exists() for mark in _CONTAINER_MARKS) or bool(
        os.environ.get("container")  # noqa: SIM112 (systemd sets it lower-case)
    )
    if no_display():
        why = "an SSH session without a forwarded display" if ssh else "no display"
        why += " (neither DISPLAY nor WAYLAND_DISPLAY is set, and no BROWSER)"
    else:
        why = "a display, but no browser that Python's webbrowser module can find"
    return why + (", in a container" if container else "")


async def browser_check(settings: AnacondaAuthSettings) -> tuple[DoctorCheck, bool]:
    """The ``browser`` check, and whether a browser can be opened."""
    if await browser_available():
        command = os.environ.get("BROWSER")
        what = f"BROWSER is set ({command.split()[0]})" if command else "a browser was found"
        return DoctorCheck("browser", "ok", f"A browser can be opened here: {what}"), True
    reason = no_browser_reason()
    if settings.login_flow == "browser":
        return DoctorCheck(
            "browser",
            "fail",
            f"No browser can be opened here ({reason}), and login_flow is 'browser' (from "
            f"{settings.source_of('login_flow')})",
            "log in with 'anaconda-auth login --device', or set ANACONDA_AUTH_LOGIN_FLOW=auto",
        ), False
    summary = f"No browser can be opened here ({reason}); logins show a URL and a code instead"
    return DoctorCheck("browser", "ok", summary), False


async def flow_check(
    settings: AnacondaAuthSettings, metadata: ProviderMetadata | None, *, port_busy: bool = False
) -> DoctorCheck:
    """Which flow a login would use: ``auto``'s choice made by `choose_flow` itself, and
    its switch to a device code when the redirect port is taken (`run_flow`'s)."""
    requested = settings.login_flow
    source = settings.source_of("login_flow")
    if metadata is None:
        return DoctorCheck(
            "login_flow",
            "skip",
            f"login_flow is '{requested}' (from {source}); which flow a login uses cannot be "
            "told without the provider's configuration (see auth_domain)",
        )
    flow = await choose_flow(requested, metadata)
    device = bool(metadata.device_authorization_endpoint)
    because = ""
    if flow == "browser" and port_busy and requested == "auto":
        if not device:
            return DoctorCheck(
                "login_flow",
                "fail",
                f"login_flow is 'auto' (from {source}): the redirect port is taken and the "
                "provider offers no device-code login to fall back on, so a login fails",
                "free the redirect port (see redirect_port)",
            )
        flow, because = "device", " (the redirect port is taken)"
    summary = (
        f"login_flow is '{requested}' (from {source}): a login here uses the {flow} flow{because}"
    )
    if flow == "device" and not device:
        return DoctorCheck(
            "login_flow",
            "fail",
            f"{summary}, but the provider offers no device-code login",
            "set ANACONDA_AUTH_LOGIN_FLOW=auto (or browser)",
        )
    if flow == "password":
        return DoctorCheck(
            "login_flow",
            "warn",
            f"{summary} (deprecated: it will stop working)",
            "set ANACONDA_AUTH_LOGIN_FLOW=auto",
        )
    if requested == "auto" and not device:
        summary += " (the provider offers no device-code login to fall back on)"
    return DoctorCheck("login_flow", "ok", summary)
