"""One way for unit tests to run the `anaconda-auth` command in process."""

from __future__ import annotations

from click.testing import CliRunner, Result

from anaconda_auth_async.cli import cli


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI as `anaconda-auth`, stdout and stderr kept apart (click 8.1 and 8.2+)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 always keeps them apart
        runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, prog_name="anaconda-auth")
