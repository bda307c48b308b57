"""``anaconda-auth whoami`` and ``api-key``: the key in use, who it belongs to, and a new
key for another machine (``api-key --new``).

Like every command module, it imports only click and the standard library at module level.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import click

from .app import (
    command_settings,
    day,
    domain_option,
    first_given,
    flow_options,
    new_key_hint,
    run_command,
    stderr_is_tty,
    usable,
)
from .exit_codes import ExitCode, Failure
from .login_commands import with_login_offer
from .terminal import LoginUI

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings, LoginFlow

__all__ = ["api_key", "whoami"]


@click.command()
@domain_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole account as JSON.")
def whoami(*, domain: str | None, as_json: bool) -> None:
    """Show who the API key belongs to (asks the API)."""
    settings = command_settings(sends_requests=True, auth_domain=domain)
    run_command(_whoami, settings=settings, as_json=as_json)


async def _whoami(*, settings: AnacondaAuthSettings, as_json: bool) -> None:
    account = await with_login_offer(settings, functools.partial(_account, settings))
    if as_json:
        click.echo(json.dumps(account, indent=2, sort_keys=True))
        return
    user = account.get("user")
    user = user if isinstance(user, dict) else {}
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    click.echo(f"Name:  {name or '(not set)'}")
    click.echo(f"Email: {user.get('email') or '(not set)'}")


async def _account(settings: AnacondaAuthSettings) -> dict[str, Any]:
    """The account of the key, through the client a Python user would use."""
    from ..api_client.clients import AsyncAuthClient
    from ..api_client.refusals import key_problem
    from ..foundation.errors import AuthenticationError, TokenExpiredError
    from ..logins import session as api  # the SDK on use, not for --help

    token, source = await api.current_token(settings)
    usable(token, settings, source)
    try:
        # No api_key argument: the client finds the same key and sends it only where it
        # belongs (a stored key to the API domain it was created at).
        async with AsyncAuthClient(settings=settings) as client:
            account = await client.account()
    except (AuthenticationError, TokenExpiredError):
        problem = key_problem("rejected", f"the API key from {source}", by=settings.api_domain)
        raise Failure(
            ExitCode.NOT_LOGGED_IN, f"{problem}; {new_key_hint(settings)} to get a new one."
        ) from None
    return account


@click.command("api-key")
@domain_option
@click.option(
    "--new",
    is_flag=True,
    help="Log in afresh and create a new key for another machine; store nothing.",
)
@click.option(
    "-s",
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="With --new: a scope of the new key (repeatable or comma-separated; "
    "default: cloud:read, cloud:write, repo:read, as a login's own key).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="With --new: a tag to put on the new key (repeatable or comma-separated).",
)
@flow_options("With --new: ")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With --new: print the key, its id, expiry, scopes and tags as JSON.",
)
def api_key(
    *,
    domain: str | None,
    new: bool,
    scopes: tuple[str, ...],
    tags: tuple[str, ...],
    browser: bool,
    device: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Print the API key, and nothing else (for scripts).

    The key comes from ANACONDA_AUTH_API_KEY (or the file ANACONDA_AUTH_API_KEY_FILE
    names) when it is set, else from the store.

    With --new, log in again (in the browser, or with a device code) and create a new
    key, for a CI system or another machine: it is printed on stdout and stored nowhere,
    and your own login is left as it was. Keep it secret; it is not shown again.
    """
    given = first_given(
        scope=scopes, tag=tags, browser=browser, device=device, timeout=timeout, json=as_json
    )
    if not new:
        if given:
            raise click.UsageError(f"{given} is only valid with --new.")
        run_command(_api_key, settings=command_settings(sends_requests=False, auth_domain=domain))
        return
    if browser and device:
        raise click.UsageError("Use only one of --browser and --device.")
    flow: LoginFlow | None = "browser" if browser else "device" if device else None
    run_command(
        _new_api_key,
        settings=command_settings(sends_requests=True, auth_domain=domain),
        scopes=scopes or None,
        tags=tags or None,
        flow=flow,
        timeout=timeout,
        as_json=as_json,
    )


async def _api_key(*, settings: AnacondaAuthSettings) -> None:
    click.echo(await with_login_offer(settings, functools.partial(_usable_key, settings)))


async def _usable_key(settings: AnacondaAuthSettings) -> str:
    from ..logins import session as api  # the SDK on use, not for --help

    token, source = await api.current_token(settings)
    return usable(token, settings, source)[1]


async def _new_api_key(
    *,
    settings: AnacondaAuthSettings,
    scopes: tuple[str, ...] | None,
    tags: tuple[str, ...] | None,
    flow: LoginFlow | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    from ..logins.key_exchange import api_key_request  # the SDK on use, not for --help
    from ..logins.machine_keys import create_api_key

    try:
        api_key_request(settings, scopes=scopes, tags=tags)  # checks the values before login
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ui = LoginUI(spinner_enabled=stderr_is_tty())
    new = await ui.run(
        functools.partial(
            create_api_key,
            settings=settings,
            scopes=scopes,
            tags=tags,
            flow=flow,
            on_event=ui.on_event,
            timeout=timeout,
        )
    )
    if as_json:
        click.echo(json.dumps(new.to_dict(), indent=2))
    else:
        click.echo(new.api_key)
    parts = [f"Created API key {new.id}" if new.id else "Created an API key"]
    if new.username:
        parts.append(f"for {new.username}")
    if new.expires_at is not None:
        parts.append(f"(expires {day(new.expires_at)}, scopes: {', '.join(new.scopes)})")
    else:
        parts.append(f"(scopes: {', '.join(new.scopes)})")
    click.echo(" ".join(parts) + ". It was not stored: keep it secret.", err=True)
