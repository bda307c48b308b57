"""The ``anaconda-auth`` command line: ``login``, ``logout``, ``whoami``, ``api-key``, ``status``,
``doctor``.

Results go to stdout, human progress (the login URL, the waiting indicator, notes) and
errors to stderr, so ``key=$(anaconda-auth api-key)`` captures the key and nothing else.
Every expected failure ends in one ``Error: ...`` line and an exit code from `ExitCode`.

This is the public face (`cli`, `main`); the commands are in `command_line` (one module per
command or pair of commands, what they share in `command_line.app`). Only click and the
standard library are imported at module level: ``--help`` must stay fast, so the SDK
(httpx, pydantic, keyring, anyio) is imported inside the commands.
"""

from __future__ import annotations

import warnings

import click

from ._version import __version__
from .command_line.app import EPILOG, VERBOSE_KEY, CommandGroup
from .command_line.doctor_command import doctor
from .command_line.exit_codes import ExitCode
from .command_line.key_commands import api_key, whoami
from .command_line.login_commands import login, logout
from .command_line.status_command import status
from .command_line.terminal import exit_on_interrupt, log_warnings_as_lines, setup_logging

__all__ = ["ExitCode", "cli", "main"]


@click.group(
    cls=CommandGroup,
    commands=[login, logout, whoami, api_key, status, doctor],
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="anaconda-auth")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Log in to Anaconda's cloud and manage the API key used by its tools."""
    ctx.meta[VERBOSE_KEY] = verbose
    ctx.call_on_close(setup_logging() if verbose else log_warnings_as_lines())


def main(args: list[str] | None = None, *, prog_name: str = "anaconda-auth") -> None:
    """Run ``anaconda-auth`` (the console script); exits with one of `ExitCode`."""
    # A warning (an unknown ANACONDA_AUTH_* name, ...) is one line, like an error.
    warnings.formatwarning = _format_warning
    with exit_on_interrupt():
        cli.main(args=args, prog_name=prog_name)


def _format_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    return f"Warning: {message}\n"


if __name__ == "__main__":  # python -m anaconda_auth_async.cli
    main()
