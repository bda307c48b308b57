"""``anaconda-auth login`` and ``logout``, and the login that ``whoami`` and ``api-key``
offer in a terminal when there is no usable key.

`login()` decides whether to log in (keep, renew, repair, log in again); this module parses
the options, renders what it reports and asks what it asks through its callbacks. Like
every command module, it imports only click and the standard library at module level.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .app import (
    LOGIN_CMD,
    OPTION_OF,
    SITE_KEY,
    command_settings,
    configured_name,
    day,
    domain_option,
    first_given,
    flow_options,
    ignored_settings,
    note_configured_key,
    run_command,
    stderr_is_tty,
)
from .exit_codes import ExitCode, Failure
from .terminal import LoginUI, confirm

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings, LoginFlow

__all__ = ["login", "logout", "with_login_offer"]

T = TypeVar("T")


def _stdin_is_tty() -> bool:
    """Whether a person can answer a prompt (tests replace this)."""
    return sys.stdin is not None and sys.stdin.isatty()


@click.command()
@click.option("--force", is_flag=True, help="Log in again even if a valid API key is stored.")
@domain_option
@flow_options("")
@click.option("--basic", is_flag=True, help="Log in with email and password (deprecated).")
@click.option(
    "--ssl-verify/--no-ssl-verify",
    default=None,
    help="Verify TLS certificates (default: ANACONDA_AUTH_SSL_VERIFY, else yes).",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True),
    help="Verify TLS certificates against this CA bundle (a PEM file or a CA directory).",
)
@click.option(
    "--renew-within",
    metavar="DURATION",
    callback=lambda _ctx, _param, value: _duration(value),
    help="Log in again only if the stored key expires within DURATION (30d, 12h, 2w).",
)
@click.option(
    "--with-token",
    is_flag=True,
    help="Store an API key read from stdin (checked first) instead of logging in.",
)
@click.option(
    "--qr/--no-qr",
    default=None,
    help="Draw the code login's address as a QR code to scan with a phone (default: "
    "when stderr is a terminal wide enough).",
)
def login(
    *,
    with_token: bool,
    qr: bool | None,
    force: bool,
    domain: str | None,
    browser: bool,
    device: bool,
    basic: bool,
    ssl_verify: bool | None,
    ca_bundle: str | None,
    timeout: float | None,
    renew_within: float | None,
) -> None:
    """Log in and store an API key.

    Shows the address to open (and the code to enter, with --device), waits for the
    login to complete, and says who is logged in. With a valid key already stored it
    says so and stops, asking whether to log in again only in a terminal. With
    --renew-within (for cron) it logs in again only when that key expires within the
    given time, and never asks.

    With --with-token it reads an API key from stdin (anaconda-auth login --with-token
    < key.txt), checks that it is a key for this domain and, when the API can be
    reached, that the API accepts it, and stores it as a login would.
    """
    if ca_bundle is not None and ssl_verify is False:
        raise click.UsageError("--ca-bundle and --no-ssl-verify contradict each other.")
    verify = ca_bundle if ca_bundle is not None else ssl_verify
    if with_token:
        clash = first_given(
            browser=browser,
            device=device,
            basic=basic,
            force=force,
            renew_within=renew_within,
            timeout=timeout,
            qr=qr is not None,
        )
        if clash:
            raise click.UsageError(f"--with-token reads the key from stdin; drop {clash}.")
        settings = command_settings(sends_requests=True, auth_domain=domain, ssl_verify=verify)
        run_command(_login_with_token, settings=settings, key=_read_token())
        return
    if browser + device + basic > 1:
        raise click.UsageError("Use only one of --browser, --device and --basic.")
    if force and renew_within is not None:
        raise click.UsageError("--force and --renew-within contradict each other.")
    if basic and not _stdin_is_tty():
        raise click.UsageError(
            "--basic asks for your email and password and needs a terminal; "
            "run it in a terminal, or use --device."
        )
    flow: LoginFlow | None = "browser" if browser else "device" if device else None
    run_command(
        _login,
        settings=command_settings(sends_requests=True, auth_domain=domain, ssl_verify=verify),
        force=force,
        flow=flow,
        basic=basic,
        timeout=timeout,
        renew_within=renew_within,
        qr=qr,
    )


def _read_token() -> str:
    """The key on stdin: all of it when piped, or typed (hidden) at a terminal."""
    if _stdin_is_tty():
        return click.prompt("Paste your API key", hide_input=True, err=True)
    key = sys.stdin.read() if sys.stdin is not None else ""
    if not key.strip():
        raise click.UsageError(
            "--with-token reads the API key from stdin, and it was empty; "
            "pipe the key in: anaconda-auth login --with-token < key.txt"
        )
    return key


async def _login_with_token(*, settings: AnacondaAuthSettings, key: str) -> None:
    from ..logins.machine_keys import store_api_key  # the SDK on use, not for --help

    token = await store_api_key(key, settings=settings)  # warns when the API is offline
    who = f" as {token.username}" if token.username else ""
    until = f" (the key expires on {day(token.expires_at)})" if token.expires_at else ""
    click.echo(f"Logged in to {settings.auth_domain}{who} with the given API key{until}.")
    note_configured_key(settings, "is set, so tools use that key, not this one.")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(value: str | None) -> float | None:
    """Seconds in ``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` (a bare number is days)."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value.lower())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 30d, 12h, 2w or 90m.")
    return float(match[1]) * _UNITS[match[2] or "d"]


async def _login(
    *,
    settings: AnacondaAuthSettings,
    force: bool,
    flow: LoginFlow | None,
    basic: bool,
    timeout: float | None,
    renew_within: float | None = None,
    result_on_stderr: bool = False,
    qr: bool | None = None,
) -> None:
    """`login()` decides whether to log in (keep, renew, repair, log in again); this only
    renders what it reports, and asks "Log in again?" through its callback in a terminal."""
    from ..logins import login as api  # the SDK on use, not for --help
    from ..logins.flow_choice import password_warning_given

    if basic:  # said here once as a note, instead of as a Python warning
        password_warning_given.set(True)
        click.echo(
            "Note: logging in with a password is deprecated and will stop working; "
            f"run '{LOGIN_CMD}' (browser) or '{LOGIN_CMD} --device' instead.",
            err=True,
        )
    ui = LoginUI(spinner_enabled=stderr_is_tty(), qr=qr)
    token = await ui.run(
        functools.partial(
            api.login,
            settings=settings,
            force=force,
            flow=flow,
            basic=basic,
            on_event=ui.on_event,
            ask_credentials=ui.ask_credentials if basic else None,
            confirm_relogin=ui.confirm_relogin if _stdin_is_tty() else None,
            timeout=timeout,
            renew_within=renew_within,
        )
    )
    if ui.logged_in:
        who = f" as {token.username}" if token.username else ""
        click.echo(
            f"Logged in to {token.domain or settings.auth_domain}{who}.", err=result_on_stderr
        )
    note_configured_key(settings, "is set, so tools use that key, not the new one.")


@click.command()
@domain_option
@click.option(
    "--all",
    "all_sites",
    is_flag=True,
    help="Remove every API key this package can find, for every site.",
)
def logout(*, domain: str | None, all_sites: bool) -> None:
    """Remove the stored API key.

    Also removes copies of a damaged keyring file kept aside (keyring.corrupt-*) and
    temp files of interrupted writes, which may hold keys, and lists them. With --all,
    removes the keys of every site, and says which.
    """
    site = click.get_current_context().meta.get(SITE_KEY)
    given = {"auth_domain": domain, "site": site} if all_sites else {}
    one_site = {} if all_sites else {"auth_domain": domain}
    settings = command_settings(sends_requests=False, **one_site)
    run_command(_logout, settings=settings, all_sites=all_sites, given=given)


async def _logout(
    *, settings: AnacondaAuthSettings, all_sites: bool = False, given: dict[str, Any]
) -> None:
    from ..logins.session import logout_report  # the SDK on use, not for --help

    try:
        report = await logout_report(settings=settings, all_sites=all_sites, **given)
    except ValueError:  # the library refuses a site with all_sites: say it with our options
        named = " and ".join(OPTION_OF[name] for name, value in given.items() if value)
        raise click.UsageError(f"--all logs out of every site; drop {named}.") from None
    files = list(report.files)
    if all_sites:
        damaged = settings.keyring_path in files  # removed whole: it could not be parsed
        files = [path for path in files if path != settings.keyring_path]
        if report.removed:
            click.echo(
                f"Logged out of every site: removed the API keys of {', '.join(report.removed)}."
            )
        if damaged:
            click.echo(
                f"Removed the token file {settings.keyring_path}, which could not be parsed, "
                "with any keys it held."
            )
        if not report.removed and not damaged:
            click.echo("There were no stored API keys.")
    elif report.removed:
        click.echo(f"Logged out of {settings.auth_domain}: the stored API key was removed.")
    else:
        click.echo(
            f"You were not logged in to {settings.auth_domain}; there was no stored API key."
        )
    if files:
        click.echo(f"Also removed {len(files)} leftover file(s) that may hold API keys:")
        for path in files:
            click.echo(f"  {path}")
    note_configured_key(settings, "is still set; unset it to stop using it.")


async def with_login_offer(settings: AnacondaAuthSettings, func: Callable[[], Awaitable[T]]) -> T:
    """``await func()``; when it fails for want of a usable key, in a terminal, offer to log
    in ("Log in to anaconda.cloud now? [y/N]", as anaconda-auth and anaconda-cloud-auth do),
    and on yes log in (shown as ``login`` shows it) and run it again. No answer, no terminal,
    a key set in a setting (which a login would not replace), or a bad network-only
    setting the command ignored (a login sends requests): the failure, exit 3."""
    try:
        return await func()
    except Failure as failure:
        if failure.code != ExitCode.NOT_LOGGED_IN or not _stdin_is_tty():
            raise
        if configured_name(settings) is not None or ignored_settings():
            raise
        click.echo(failure.message, err=True)  # why it asks
        if not await confirm(f"Log in to {settings.api_domain} now?"):
            raise click.exceptions.Exit(int(failure.code)) from None
    # The command's own result is all that goes to stdout (key=$(anaconda-auth api-key)).
    await _login(
        settings=settings, force=True, flow=None, basic=False, timeout=None, result_on_stderr=True
    )
    return await func()
