"""`doctor`: run every check, offline ones first, the network ones in parallel."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import anyio

from ..api_client.site_context import site_context
from ..foundation.public_names import publish
from ..foundation.threads import in_daemon_thread
from .clock_check import clock_check
from .key_check import key_check
from .login_checks import browser_check, flow_check, redirect_port_check
from .network_steps import Probe, probe_domain, proxy_check
from .other_tools import other_tools_check
from .report import DoctorCheck
from .settings_check import load_settings, setting_names_check
from .storage_check import storage_check

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings
    from ..storage.keyring_store import TokenStore

__all__ = ["STEP_TIMEOUT", "doctor"]

STEP_TIMEOUT = 3.0
"""Seconds each network step (DNS, TCP, proxy, TLS, the request) may take."""


async def doctor(
    *,
    settings: AnacondaAuthSettings | None = None,
    site: str | None = None,
    auth_domain: str | None = None,
    network: bool = True,
    step_timeout: float = STEP_TIMEOUT,
    store: TokenStore | None = None,
) -> list[DoctorCheck]:
    """Find what would break a login on this machine; one `DoctorCheck` per finding.

    The checks, in order: ``settings`` (where the main ones came from; a refused or
    invalid value), ``setting_names`` (``ANACONDA_*`` names no setting reads, with the
    nearest right one), ``key`` (source, user, expiry, the rejected mark, scopes, the API
    origin it is bound to), ``storage`` (the keyring file's owner, mode, directory, parse,
    leftovers, a held lock and by whom, whether a write is allowed; nothing is written),
    ``other_tools`` (other Anaconda login packages installed here), ``redirect_port``
    (free, or which process holds it), ``browser`` (can one be opened, or why not); then,
    unless `network` is false, ``proxy``, ``auth_domain`` and ``api_domain`` (DNS, TCP,
    the proxy's tunnel, TLS with the configured trust, one HTTPS request; both domains at
    once, each step limited to `step_timeout` seconds), ``clock`` (against the servers'
    ``Date`` headers) and ``login_flow`` (what a login here would use).

    Never raises for what it finds (a bad setting is a ``fail`` check, and the default is
    used in its place), never sends or shows an API key. With no network at all it ends
    within a few `step_timeout`.
    """
    settings, settings_found = load_settings(settings, site=site, auth_domain=auth_domain)
    context = site_context(settings, store=store)  # the settings doctor could load, as they are
    port, port_busy = await redirect_port_check(settings)
    checks = [
        settings_found,
        setting_names_check(),
        await key_check(context),
        await in_daemon_thread(
            functools.partial(storage_check, context), name="anaconda-auth-doctor-storage"
        ),
        other_tools_check(),
        port,
        (await browser_check(settings))[0],
    ]
    if not network:
        return [*checks, await flow_check(settings, None)]
    probes: dict[str, Probe] = {}

    async def probe(name: str, url: str, discovery: bool) -> None:
        probes[name] = await probe_domain(
            name, url, settings, limit=step_timeout, discovery=discovery
        )

    async with anyio.create_task_group() as group:
        group.start_soon(probe, "auth_domain", settings.well_known_url, True)
        group.start_soon(probe, "api_domain", settings.api_base_url, False)
    auth, api = probes["auth_domain"], probes["api_domain"]
    skews = [(p.host, p.date_skew) for p in (auth, api) if p.date_skew is not None]
    return [
        *checks,
        proxy_check([auth, api]),
        auth.check,
        api.check,
        clock_check(skews),
        await flow_check(settings, auth.metadata, port_busy=port_busy),
    ]


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
