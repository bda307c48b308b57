"""What every ``anaconda-auth`` command shares: the group that turns a failure into its
``Error:`` line and exit code, the shared options (``--at``, ``--auth-domain``, the login
flow), settings built from the options, running a command's coroutine, and the sentences
about the key every command may print (not logged in, expired, rejected, set in a setting).

Only click and the standard library are imported at module level: ``--help`` must stay
fast, so the SDK (httpx, pydantic, keyring, anyio) is imported inside the functions.
"""

from __future__ import annotations

import functools
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .exit_codes import ExitCode, Failure, classify, exit_code_table, unwrap

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings
    from ..storage.stored_token import TokenInfo

__all__ = [
    "EPILOG",
    "LOGIN_CMD",
    "NETWORK_ONLY",
    "OPTION_OF",
    "SITE_KEY",
    "VERBOSE_KEY",
    "CommandGroup",
    "command_settings",
    "configured_name",
    "day",
    "domain_option",
    "first_given",
    "flow_options",
    "ignored_settings",
    "new_key_hint",
    "note_configured_key",
    "run_command",
    "stderr_is_tty",
    "usable",
]

T = TypeVar("T")

EPILOG = f"""\b
Exit codes:
{exit_code_table()}

\b
Results are printed on stdout; progress, notes and errors on stderr.
Settings come from ANACONDA_AUTH_* environment variables, a .env file and
~/.anaconda/config.toml ([plugin.auth], [sites.NAME]: 'COMMAND --at NAME' picks
a site); 'status' says where each came from. '-v COMMAND' shows debug logs and
tracebacks."""
"""The end of ``anaconda-auth --help``: the exit codes, where output and settings go."""

LOGIN_CMD = "anaconda-auth login"
OPTION_OF = {"auth_domain": "--auth-domain", "ssl_verify": "--ca-bundle", "site": "--at"}
"""The option that gives a setting, named in place of the library's argument name."""
SITE_KEY = "anaconda_auth_async.site"
_IGNORED_KEY = "anaconda_auth_async.ignored"  # {setting: its source}, invalid and ignored
VERBOSE_KEY = "anaconda_auth.verbose"


class CommandGroup(click.Group):
    """Turns every expected failure into one ``Error:`` line and its exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            raise _misplaced(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            raise _misplaced(exc) from None
        except (click.exceptions.Exit, click.ClickException, BrokenPipeError):
            raise  # click reports these itself (a closed pipe ends quietly)
        except Failure as expected:
            failure = expected
        except (KeyboardInterrupt, click.Abort):
            click.echo(err=True)  # end the line the terminal's "^C" is on
            failure = Failure(ExitCode.INTERRUPTED, "Interrupted.")
        except BaseException as exc:
            if not isinstance(exc, Exception) and not isinstance(unwrap(exc), KeyboardInterrupt):
                raise
            code, message = classify(exc)
            if ctx.meta.get(VERBOSE_KEY):
                traceback.print_exception(exc, file=sys.stderr)
            failure = Failure(code, message)
        failure.show()
        raise click.exceptions.Exit(int(failure.code))


_PLACES = {  # options that belong on the other side of the command name
    "-v": "before the command: anaconda-auth -v {command}",
    "--verbose": "before the command: anaconda-auth --verbose {command}",
    "--at": "after the command: anaconda-auth {command} --at NAME",
}


def _misplaced(exc: click.NoSuchOption) -> click.NoSuchOption:
    """`exc`, saying where the option goes when it is one of the other side's."""
    place = _PLACES.get(exc.option_name)
    if place is None:
        return exc
    command = exc.ctx.info_name if exc.ctx is not None and exc.ctx.parent else "COMMAND"
    message = f"{exc.message.rstrip('.')}; put it {place.format(command=command)}."
    return click.NoSuchOption(exc.option_name, message, ctx=exc.ctx)


def stderr_is_tty() -> bool:
    """Whether stderr is a terminal, so the waiting indicator may be drawn."""
    return sys.stderr is not None and sys.stderr.isatty()


def run_command(func: Callable[..., Awaitable[T]], /, **kwargs: Any) -> T:
    """Run one command's coroutine on an event loop; Ctrl-C raises KeyboardInterrupt.

    Python 3.11's asyncio runner turns the cancellation that Ctrl-C causes back into
    `KeyboardInterrupt`; on 3.10 (anyio's runner backport, tasks without ``uncancel``) the
    `asyncio.CancelledError` itself escapes. Nothing else cancels the main task from
    outside, so one escaping the event loop is the interruption.
    """
    import asyncio  # an event loop only when a command runs: --help stays fast

    import anyio

    try:
        return anyio.run(functools.partial(func, **kwargs))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


# --- settings from the options ---------------------------------------------------------


def _with_site(overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` with the site given by ``--at``, if any."""
    context = click.get_current_context(silent=True)
    if context is not None and overrides.get("site") is None:
        return {**overrides, "site": context.meta.get(SITE_KEY)}
    return overrides


def _resolved(**overrides: Any) -> AnacondaAuthSettings:
    """Settings from the environment and `overrides`; a bad value is the exit-6 failure."""
    from ..foundation.errors import ConfigurationError
    from ..settings.fields import resolve_settings  # the SDK on use, not for --help

    try:
        return resolve_settings(None, **_with_site(overrides))
    except ConfigurationError as exc:
        message = str(exc)
        for name, option in OPTION_OF.items():
            message = message.replace(f"argument {name}=", option)
        raise Failure(ExitCode.CONFIGURATION, message) from exc


NETWORK_ONLY = (
    "ssl_verify",
    "proxy",
    "client_cert",
    "client_cert_key",
    "timeout",
    "extra_headers",
)
"""The settings only a network request uses."""


def command_settings(*, sends_requests: bool, **overrides: Any) -> AnacondaAuthSettings:
    """The settings a command runs with: the environment's, with its options (`overrides`).

    The one rule for a bad value (docs/cli.md, "Settings with a bad value"): it stops the
    command (exit 6, the setting's error), except a bad `NETWORK_ONLY` setting in a command
    that `sends_requests` not: that one runs with the setting's default, and says so on
    stderr. `ignored_settings` lists what it ignored (status reports it; a login offered
    by such a command is not made, as it would send requests).
    """
    from ..foundation.errors import ConfigurationError
    from ..settings.fields import AnacondaAuthSettings, resolve_settings
    from ..settings.sources import setting_source

    if sends_requests:
        return _resolved(**overrides)
    try:
        return resolve_settings(None, **_with_site(overrides))
    except ConfigurationError as exc:
        if not exc.settings or not set(exc.settings) <= set(NETWORK_ONLY):
            return _resolved(**overrides)  # the same error, as a Failure
        fields = AnacondaAuthSettings.model_fields
        defaults = {
            name: fields[name].get_default(call_default_factory=True) for name in exc.settings
        }
        init = _with_site(overrides)
        ignored = {
            name: str(setting_source(name, init=init, settings_cls=AnacondaAuthSettings))
            for name in exc.settings
        }
        context = click.get_current_context(silent=True)
        if context is not None:
            context.meta[_IGNORED_KEY] = ignored
        for name, source in ignored.items():
            click.echo(
                f"Note: the value of {name} from {source} is invalid; ignored here, as this "
                f"command sends no request ('{LOGIN_CMD}' and 'whoami' stop on it).",
                err=True,
            )
        return _resolved(**overrides, **defaults)


def ignored_settings() -> dict[str, str]:
    """The bad network-only settings `command_settings` ignored: {name: where it came from}."""
    context = click.get_current_context(silent=True)
    ignored: dict[str, str] = context.meta.get(_IGNORED_KEY, {}) if context is not None else {}
    return ignored


# --- the shared options -----------------------------------------------------------------


def _auth_domain(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    given = ctx.params.get("domain")
    if value is not None and given is not None and value != given:
        raise click.UsageError("--auth-domain and --domain name different domains; use one.")
    return value if value is not None else given


def _old_domain(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    click.echo(
        "Note: --domain is deprecated; use --auth-domain (the clients' domain= is the API "
        "domain, so the CLI names the auth domain explicitly).",
        err=True,
    )
    _auth_domain(ctx, param, value)
    ctx.params["domain"] = ctx.params.get("domain") or value


def _remember_site(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[SITE_KEY] = value


def domain_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--at NAME`` (the site) and ``--auth-domain`` (passed as `domain`), on every command,
    and ``--domain``, the deprecated spelling of ``--auth-domain``."""
    func = click.option(
        "--at",
        "site",
        metavar="NAME",
        expose_value=False,
        callback=_remember_site,
        help="Site: a [sites.NAME] of ~/.anaconda/config.toml or a preset "
        "(anaconda.com, anaconda.cloud); default: ANACONDA_AUTH_SITE, else default_site.",
    )(func)
    func = click.option(
        "--domain",
        "old_domain",
        metavar="HOST",
        hidden=True,
        expose_value=False,
        callback=_old_domain,
    )(func)
    return click.option(
        "--auth-domain",
        "domain",
        metavar="HOST",
        callback=_auth_domain,
        help="Auth domain (default: ANACONDA_AUTH_AUTH_DOMAIN, else the site's, else "
        "id.anaconda.cloud).",
    )(func)


def flow_options(lead: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--browser``, ``--device`` and ``--timeout``: how a login runs, for ``login`` and
    ``api-key --new``; `lead` ("With --new: ") starts each help text."""

    def text(help_text: str) -> str:
        return f"{lead}{help_text[0].lower()}{help_text[1:]}" if lead else help_text

    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help=text("Give up if the login is not completed in time (default 300)."),
        )(func)
        func = click.option(
            "--device", is_flag=True, help=text("Log in with a code entered on any other device.")
        )(func)
        return click.option(
            "--browser", is_flag=True, help=text("Log in in a web browser (the default).")
        )(func)

    return add


def first_given(**options: object) -> str | None:
    """The first of `options` given a value, as its option name (``renew_within`` →
    ``--renew-within``), or None."""
    for name, value in options.items():
        if value:
            return "--" + name.replace("_", "-")
    return None


# --- what the commands say about the key ------------------------------------------------


def day(timestamp: float) -> str:
    """`timestamp` as a UTC date, ``2026-01-31``."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


_CONFIGURED_KEY_SETTINGS = (
    ("api_key", "ANACONDA_AUTH_API_KEY"),
    ("api_key_file", "ANACONDA_AUTH_API_KEY_FILE"),
)


def configured_name(settings: AnacondaAuthSettings) -> str | None:
    """The setting that configures a key instead of the store, named as the user set it
    (``ANACONDA_CLOUD_API_KEY``, ``ANACONDA_AUTH_API_KEY in /path/.env``), if one does."""
    for field, name in _CONFIGURED_KEY_SETTINGS:
        if getattr(settings, field) is not None:
            source = settings.source_of(field)
            if source.kind in ("environment", "dotenv", "config"):
                return source.description.removeprefix("environment variable ")
            return name
    return None


def note_configured_key(settings: AnacondaAuthSettings, note: str) -> None:
    """On stderr: "Note: <the variable that sets a key> <note>", if one is set."""
    configured = configured_name(settings)
    if configured is not None:
        click.echo(f"Note: {configured} {note}", err=True)


def new_key_hint(settings: AnacondaAuthSettings) -> str:
    """What to do for a usable key: a login, unless a setting's key would still win."""
    configured = configured_name(settings)
    if configured is not None:
        return f"set a valid key in {configured}, or unset it and run '{LOGIN_CMD}'"
    return f"run '{LOGIN_CMD}'"


def usable(
    token: TokenInfo | None, settings: AnacondaAuthSettings, source: str
) -> tuple[TokenInfo, str]:
    """The token and its key if it can be sent, else the not-logged-in failure."""
    from ..api_client.refusals import key_problem  # the SDK on use, not for --help
    from ..logins.decision import unusable

    domain = settings.auth_domain
    hint = new_key_hint(settings)
    why = unusable(token)  # "missing" whenever there is no key
    if token is None or not token.api_key or why == "missing":
        raise Failure(ExitCode.NOT_LOGGED_IN, f"You are not logged in to {domain}; {hint}.")
    if why is None:
        return token, token.api_key
    at = token.expires_at if why == "expired" else token.rejected_at
    what = f"the API key for {domain} from {source}"
    problem = key_problem(why, what, when=at)
    raise Failure(ExitCode.NOT_LOGGED_IN, f"{problem}; {hint} to get a new one.")
