"""``anaconda-auth status``: where the key comes from, when it expires and where each
setting came from, read offline from what `status_report` reports; ``--min-days`` for cron.

Like every command module, it imports only click and the standard library at module level.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import click

from .app import (
    LOGIN_CMD,
    OPTION_OF,
    command_settings,
    configured_name,
    day,
    domain_option,
    ignored_settings,
    run_command,
    usable,
)
from .exit_codes import ExitCode, Failure

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings

__all__ = ["status"]


@click.command()
@domain_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as a JSON object.")
@click.option(
    "--min-days",
    type=click.IntRange(min=0),
    metavar="N",
    help="Exit 7 when the key expires within N days (for cron and CI).",
)
def status(*, domain: str | None, as_json: bool, min_days: int | None) -> None:
    """Show where the API key comes from and when it expires (offline).

    Exits 0 when a usable key is found, 3 otherwise, and 7 with --min-days N when the
    key expires within N days. Never prints the key.
    """
    run_command(
        _status,
        settings=command_settings(sends_requests=False, auth_domain=domain),
        as_json=as_json,
        min_days=min_days,
    )


async def _status(
    *, settings: AnacondaAuthSettings, as_json: bool, min_days: int | None = None
) -> None:
    from ..logins.status_report import status_report  # the SDK on use, not for --help

    ignored = ignored_settings()
    report, token = await status_report(settings, ignored=ignored, argument_names=OPTION_OF)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_status(report, has_key=token is not None)
        if report["expired"] or report["rejected"] or ignored:
            click.echo(
                "Something looks wrong: 'anaconda-auth doctor' checks this machine's settings, "
                "storage and network, and says how to fix what it finds."
            )
    if not report["logged_in"]:
        usable(token, settings, report["source"])
    if min_days is not None and token is not None and token.expires_at is not None:
        _check_min_days(token.expires_at, min_days, settings, report["source"])


def _check_min_days(
    expires_at: float, min_days: int, settings: AnacondaAuthSettings, source: str
) -> None:
    """The `EXPIRES_SOON` failure when the key expires within `min_days` days from now."""
    if expires_at - time.time() > min_days * 86400:
        return
    if configured_name(settings) is not None:
        fix = "replace it with a new key ('anaconda-auth api-key --new' makes one)"
    else:
        fix = f"run '{LOGIN_CMD} --renew-within {max(min_days, 1)}d' to renew it"
    raise Failure(
        ExitCode.EXPIRES_SOON,
        f"The API key for {settings.auth_domain} from {source} expires on "
        f"{day(expires_at)}, within {min_days} days; {fix}.",
    )


def _print_status(report: dict[str, Any], *, has_key: bool) -> None:
    yes = click.style("yes", fg="green")
    no = click.style("no", fg="red")
    site = report["site"] or "none"
    if not report["site"] and all(
        report["settings"].get(name, {}).get("from") == "its default"
        for name in ("api_domain", "auth_domain")
    ):
        site += " (the defaults: the anaconda.cloud preset)"
    key_from = report["source"] if has_key else f"none stored in {report['source']}"
    if report["stored_as"]:
        key_from += f", stored as {report['stored_as']}"
    rows = [
        ("Site", site),
        ("Auth domain", report["auth_domain"]),
        ("API domain", report["api_domain"]),
        ("Logged in", yes if report["logged_in"] else no),
        ("Key from", key_from),
    ]
    if report["username"]:
        rows.append(("User", report["username"]))
    if has_key:
        rows.append(("Expires", _describe_expiry(report)))
        rows.append(("Scopes", ", ".join(report["scopes"] or ()) or "unknown (not recorded)"))
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        click.echo(f"{label + ':':<{width}}{value}")
    click.echo("Settings:")
    names = report["settings"]
    width = max(len(name) for name in names) + 2
    for name, info in names.items():
        value = "(none)" if info["value"] is None else info["value"]
        click.echo(f"  {name:<{width}}{value}  (from {info['from']})")


def _describe_expiry(report: dict[str, Any]) -> str:
    if report["expires_at"] is None:
        return "unknown (the key carries no expiry date)"
    date = report["expires_at"][:10]
    days = report["days_left"]
    if report["expired"]:
        return click.style(f"{date} (expired)", fg="red")
    if report["rejected"]:
        return click.style(f"{date} (rejected by the server: log in again)", fg="red")
    return f"{date} ({days} days left)"
