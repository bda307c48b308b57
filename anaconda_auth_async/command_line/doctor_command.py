"""``anaconda-auth doctor``: runs `doctor()`'s checks and prints each with its fix.

Like every command module, it imports only click and the standard library at module level.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .app import SITE_KEY, domain_option, run_command
from .exit_codes import ExitCode, Failure

__all__ = ["doctor"]


@click.command()
@domain_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON object.")
@click.option("--offline", is_flag=True, help="Run only the checks that need no network.")
def doctor(*, domain: str | None, as_json: bool, offline: bool) -> None:
    """Find what would break a login on this machine, and say how to fix it.

    Prints each check as ok, warn, fail or skip, with what it found and, when not ok,
    what to do. Exits 0 when every check is ok, 8 otherwise. Never prints the key.
    """
    from ..diagnostics.run_checks import doctor as run_doctor  # the SDK on use, not for --help

    site = click.get_current_context().meta.get(SITE_KEY)
    checks = run_command(run_doctor, site=site, auth_domain=domain, network=not offline)
    if as_json:
        click.echo(json.dumps({"checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        _print_checks(checks)
    problems = [c.name for c in checks if not c.ok]
    if problems:
        raise Failure(
            ExitCode.PROBLEMS_FOUND,
            f"{len(problems)} of {len(checks)} checks did not pass ({', '.join(problems)}); "
            "each says what to do.",
        )


_STATUS_COLOURS = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "bright_black"}


def _print_checks(checks: list[Any]) -> None:
    width = max(len(c.name) for c in checks) + 2
    for check in checks:
        status = click.style(f"{check.status:<5}", fg=_STATUS_COLOURS[check.status], bold=True)
        click.echo(f"{status} {check.name:<{width}}{check.summary}")
        if check.fix and not check.ok:
            click.echo(f"{'':<6}{'':<{width}}fix: {check.fix}")
