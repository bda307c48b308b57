"""The ``anaconda-auth`` command line: ``login``, ``logout``, ``whoami``, ``api-key``, ``status``.

Results go to stdout, human progress (the login URL, the waiting indicator, notes) and
errors to stderr, so ``key=$(anaconda-auth api-key)`` captures the key and nothing else.
Every expected failure ends in one ``Error: ...`` line and an exit code from `ExitCode`.

Only click and the standard library are imported at module level: ``--help`` must stay
fast, so the SDK (httpx, pydantic, keyring, anyio) is imported inside the commands.

Over 400 lines on purpose: every command, its options, its output and its exit codes read
in one place, as click's own examples do; the exit-code policy is in `exit_codes` and the
login display in `terminal`.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._version import __version__
from .command_line.exit_codes import ExitCode, Failure, classify, exit_code_table, unwrap
from .command_line.terminal import (
    LoginUI,
    confirm,
    exit_on_interrupt,
    log_warnings_as_lines,
    setup_logging,
)

if TYPE_CHECKING:
    from .settings.fields import AnacondaAuthSettings, LoginFlow
    from .storage.stored_token import TokenInfo

__all__ = ["ExitCode", "cli", "main"]

T = TypeVar("T")

_EPILOG = f"""\b
Exit codes:
{exit_code_table()}

\b
Results are printed on stdout; progress, notes and errors on stderr.
Settings come from ANACONDA_AUTH_* environment variables, a .env file and
~/.anaconda/config.toml ([plugin.auth], [sites.NAME]: 'COMMAND --at NAME' picks
a site); 'status' says where each came from. '-v COMMAND' shows debug logs and
tracebacks."""

_LOGIN_CMD = "anaconda-auth login"
_OPTION_OF = {"auth_domain": "--auth-domain", "ssl_verify": "--ca-bundle", "site": "--at"}
_SITE_KEY = "anaconda_auth_async.site"
_IGNORED_KEY = "anaconda_auth_async.ignored"  # {setting: its source}, invalid and ignored


class _Group(click.Group):
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
            if ctx.meta.get("anaconda_auth.verbose"):
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


def _stdin_is_tty() -> bool:
    """Whether a person can answer a prompt (tests replace this)."""
    return sys.stdin is not None and sys.stdin.isatty()


def _stderr_is_tty() -> bool:
    """Whether stderr is a terminal, so the waiting indicator may be drawn."""
    return sys.stderr is not None and sys.stderr.isatty()


def _run_command(func: Callable[..., Awaitable[T]], /, **kwargs: Any) -> T:
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


def _with_site(overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` with the site given by ``--at``, if any."""
    context = click.get_current_context(silent=True)
    if context is not None and overrides.get("site") is None:
        return {**overrides, "site": context.meta.get(_SITE_KEY)}
    return overrides


def _settings_from_options(**overrides: Any) -> AnacondaAuthSettings:
    """Settings from the environment, with the options given on the command line."""
    from .foundation.errors import ConfigurationError
    from .settings.fields import resolve_settings  # the SDK on use, not for --help

    try:
        return resolve_settings(None, **_with_site(overrides))
    except ConfigurationError as exc:
        message = str(exc)
        for name, option in _OPTION_OF.items():
            message = message.replace(f"argument {name}=", option)
        raise Failure(ExitCode.CONFIGURATION, message) from exc


# Settings only a network request uses: commands that send none must not fail on them.
_NETWORK_ONLY = (
    "ssl_verify",
    "proxy",
    "client_cert",
    "client_cert_key",
    "timeout",
    "extra_headers",
)


def _offline_settings(**overrides: Any) -> AnacondaAuthSettings:
    """Settings for a command that sends no request: a bad network-only setting is ignored."""
    from .foundation.errors import ConfigurationError
    from .settings.fields import AnacondaAuthSettings, resolve_settings, setting_source

    try:
        return resolve_settings(None, **_with_site(overrides))
    except ConfigurationError as exc:
        if not exc.settings or not set(exc.settings) <= set(_NETWORK_ONLY):
            return _settings_from_options(**overrides)  # the same error, as a Failure
        fields = AnacondaAuthSettings.model_fields
        defaults = {
            name: fields[name].get_default(call_default_factory=True) for name in exc.settings
        }
        context = click.get_current_context(silent=True)
        if context is not None:  # for status: the value was ignored, not given as an option
            context.meta[_IGNORED_KEY] = {
                name: str(setting_source(name, init=_with_site(overrides))) for name in exc.settings
            }
        return _settings_from_options(**overrides, **defaults)


def _day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def _configured_name(settings: AnacondaAuthSettings) -> str | None:
    """The setting that configures a key instead of the store, named as the user set it
    (``ANACONDA_CLOUD_API_KEY``, ``ANACONDA_AUTH_API_KEY in /path/.env``), if one does."""
    for field, name in _CONFIGURED_KEY_SETTINGS:
        if getattr(settings, field) is not None:
            source = settings.source_of(field)
            if source.kind in ("environment", "dotenv", "config"):
                return source.description.removeprefix("environment variable ")
            return name
    return None


_CONFIGURED_KEY_SETTINGS = (
    ("api_key", "ANACONDA_AUTH_API_KEY"),
    ("api_key_file", "ANACONDA_AUTH_API_KEY_FILE"),
)


def _note_configured_key(settings: AnacondaAuthSettings, note: str) -> None:
    """On stderr: "Note: <the variable that sets a key> <note>", if one is set."""
    configured = _configured_name(settings)
    if configured is not None:
        click.echo(f"Note: {configured} {note}", err=True)


def _new_key_hint(settings: AnacondaAuthSettings) -> str:
    """What to do for a usable key: a login, unless a setting's key would still win."""
    configured = _configured_name(settings)
    if configured is not None:
        return f"set a valid key in {configured}, or unset it and run '{_LOGIN_CMD}'"
    return f"run '{_LOGIN_CMD}'"


def _usable(
    token: TokenInfo | None, settings: AnacondaAuthSettings, source: str
) -> tuple[TokenInfo, str]:
    """The token and its key if it can be sent, else the not-logged-in failure."""
    from .logins.decision import unusable  # the SDK on use, not for --help

    domain = settings.auth_domain
    hint = _new_key_hint(settings)
    why = unusable(token)
    if why is None and token is not None and token.api_key:
        return token, token.api_key
    if token is None or why == "missing":
        raise Failure(ExitCode.NOT_LOGGED_IN, f"You are not logged in to {domain}; {hint}.")
    if why == "expired":
        when = f" on {_day(token.expires_at)}" if token.expires_at is not None else ""
        raise Failure(
            ExitCode.NOT_LOGGED_IN,
            f"The API key for {domain} from {source} expired{when}; {hint} to get a new one.",
        )
    when = f" on {_day(token.rejected_at)}" if token.rejected_at is not None else ""
    raise Failure(
        ExitCode.NOT_LOGGED_IN,
        f"The server rejected the API key for {domain} from {source}{when} (invalid or "
        f"revoked); {hint} to get a new one.",
    )


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
        ctx.meta[_SITE_KEY] = value


def _domain_option(func: Callable[..., Any]) -> Callable[..., Any]:
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


def _flow_options(lead: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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


@click.group(cls=_Group, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="anaconda-auth")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Log in to Anaconda's cloud and manage the API key used by its tools."""
    ctx.meta["anaconda_auth.verbose"] = verbose
    ctx.call_on_close(setup_logging() if verbose else log_warnings_as_lines())


@cli.command()
@click.option("--force", is_flag=True, help="Log in again even if a valid API key is stored.")
@_domain_option
@_flow_options("")
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
        clash = _first_given(
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
        settings = _settings_from_options(auth_domain=domain, ssl_verify=verify)
        _run_command(_login_with_token, settings=settings, key=_read_token())
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
    _run_command(
        _login,
        settings=_settings_from_options(auth_domain=domain, ssl_verify=verify),
        force=force,
        flow=flow,
        basic=basic,
        timeout=timeout,
        renew_within=renew_within,
        qr=qr,
    )


def _first_given(**options: object) -> str | None:
    """The first of `options` given a value, as its option name (``renew_within`` →
    ``--renew-within``), or None."""
    for name, value in options.items():
        if value:
            return "--" + name.replace("_", "-")
    return None


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
    from .logins.machine_keys import store_api_key  # the SDK on use, not for --help

    token = await store_api_key(key, settings=settings)  # warns when the API is offline
    who = f" as {token.username}" if token.username else ""
    until = f" (the key expires on {_day(token.expires_at)})" if token.expires_at else ""
    click.echo(f"Logged in to {settings.auth_domain}{who} with the given API key{until}.")
    _note_configured_key(settings, "is set, so tools use that key, not this one.")


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
    from .logins import login as api  # the SDK on use, not for --help

    if basic:  # said here once as a note, instead of as a Python warning
        api.password_warning_given.set(True)
        click.echo(
            "Note: logging in with a password is deprecated and will stop working; "
            f"run '{_LOGIN_CMD}' (browser) or '{_LOGIN_CMD} --device' instead.",
            err=True,
        )
    ui = LoginUI(spinner_enabled=_stderr_is_tty(), qr=qr)
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
    _note_configured_key(settings, "is set, so tools use that key, not the new one.")


@cli.command()
@_domain_option
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
    site = click.get_current_context().meta.get(_SITE_KEY)
    given = {"auth_domain": domain, "site": site} if all_sites else {}
    settings = _settings_from_options() if all_sites else _settings_from_options(auth_domain=domain)
    _run_command(_logout, settings=settings, all_sites=all_sites, given=given)


async def _logout(
    *, settings: AnacondaAuthSettings, all_sites: bool = False, given: dict[str, Any]
) -> None:
    from .logins.login import logout_report  # the SDK on use, not for --help

    try:
        report = await logout_report(settings=settings, all_sites=all_sites, **given)
    except ValueError:  # the library refuses a site with all_sites: say it with our options
        named = " and ".join(_OPTION_OF[name] for name, value in given.items() if value)
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
    _note_configured_key(settings, "is still set; unset it to stop using it.")


@cli.command()
@_domain_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole account as JSON.")
def whoami(*, domain: str | None, as_json: bool) -> None:
    """Show who the API key belongs to (asks the API)."""
    _run_command(_whoami, settings=_settings_from_options(auth_domain=domain), as_json=as_json)


async def _with_login_offer(settings: AnacondaAuthSettings, func: Callable[[], Awaitable[T]]) -> T:
    """``await func()``; when it fails for want of a usable key, in a terminal, offer to log
    in ("Log in to anaconda.cloud now? [y/N]", as anaconda-auth and anaconda-cloud-auth do),
    and on yes log in (shown as ``login`` shows it) and run it again. No answer, no terminal,
    or a key set in a setting (which a login would not replace): the failure, exit 3."""
    try:
        return await func()
    except Failure as failure:
        if failure.code != ExitCode.NOT_LOGGED_IN or not _stdin_is_tty():
            raise
        if _configured_name(settings) is not None:
            raise
        click.echo(failure.message, err=True)  # why it asks
        if not await confirm(f"Log in to {settings.api_domain} now?"):
            raise click.exceptions.Exit(int(failure.code)) from None
    # The command's own result is all that goes to stdout (key=$(anaconda-auth api-key)).
    await _login(
        settings=settings, force=True, flow=None, basic=False, timeout=None, result_on_stderr=True
    )
    return await func()


async def _whoami(*, settings: AnacondaAuthSettings, as_json: bool) -> None:
    account = await _with_login_offer(settings, functools.partial(_account, settings))
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
    from .api_client.clients import AsyncAuthClient
    from .foundation.errors import AuthenticationError, TokenExpiredError
    from .logins import login as api  # the SDK on use, not for --help

    token, source = await api.current_token(settings)
    _usable(token, settings, source)
    try:
        # No api_key argument: the client finds the same key and sends it only where it
        # belongs (a stored key to the API domain it was created at).
        async with AsyncAuthClient(settings=settings) as client:
            account = await client.account()
    except (AuthenticationError, TokenExpiredError):
        raise Failure(
            ExitCode.NOT_LOGGED_IN,
            f"{settings.api_domain} rejected the API key from {source}; "
            f"{_new_key_hint(settings)} to get a new one.",
        ) from None
    return account


@cli.command("api-key")
@_domain_option
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
@_flow_options("With --new: ")
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
    given = _first_given(
        scope=scopes, tag=tags, browser=browser, device=device, timeout=timeout, json=as_json
    )
    if not new:
        if given:
            raise click.UsageError(f"{given} is only valid with --new.")
        _run_command(_api_key, settings=_offline_settings(auth_domain=domain))
        return
    if browser and device:
        raise click.UsageError("Use only one of --browser and --device.")
    flow: LoginFlow | None = "browser" if browser else "device" if device else None
    _run_command(
        _new_api_key,
        settings=_settings_from_options(auth_domain=domain),
        scopes=scopes or None,
        tags=tags or None,
        flow=flow,
        timeout=timeout,
        as_json=as_json,
    )


async def _api_key(*, settings: AnacondaAuthSettings) -> None:
    click.echo(await _with_login_offer(settings, functools.partial(_usable_key, settings)))


async def _usable_key(settings: AnacondaAuthSettings) -> str:
    from .logins import login as api  # the SDK on use, not for --help

    token, source = await api.current_token(settings)
    return _usable(token, settings, source)[1]


async def _new_api_key(
    *,
    settings: AnacondaAuthSettings,
    scopes: tuple[str, ...] | None,
    tags: tuple[str, ...] | None,
    flow: LoginFlow | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    from .logins.key_exchange import api_key_request  # the SDK on use, not for --help
    from .logins.machine_keys import create_api_key

    try:
        api_key_request(settings, scopes=scopes, tags=tags)  # checks the values before login
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ui = LoginUI(spinner_enabled=_stderr_is_tty())
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
        parts.append(f"(expires {_day(new.expires_at)}, scopes: {', '.join(new.scopes)})")
    else:
        parts.append(f"(scopes: {', '.join(new.scopes)})")
    click.echo(" ".join(parts) + ". It was not stored: keep it secret.", err=True)


@cli.command()
@_domain_option
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
    _run_command(
        _status,
        settings=_offline_settings(auth_domain=domain),
        as_json=as_json,
        min_days=min_days,
    )


async def _status(
    *, settings: AnacondaAuthSettings, as_json: bool, min_days: int | None = None
) -> None:
    from .logins.status_report import status_report  # the SDK on use, not for --help

    context = click.get_current_context(silent=True)
    ignored: dict[str, str] = context.meta.get(_IGNORED_KEY, {}) if context is not None else {}
    report, token = await status_report(settings, ignored=ignored, argument_names=_OPTION_OF)
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
        _usable(token, settings, report["source"])
    if min_days is not None and token is not None and token.expires_at is not None:
        _check_min_days(token.expires_at, min_days, settings, report["source"])


def _check_min_days(
    expires_at: float, min_days: int, settings: AnacondaAuthSettings, source: str
) -> None:
    """The `EXPIRES_SOON` failure when the key expires within `min_days` days from now."""
    if expires_at - time.time() > min_days * 86400:
        return
    if _configured_name(settings) is not None:
        fix = "replace it with a new key ('anaconda-auth api-key --new' makes one)"
    else:
        fix = f"run '{_LOGIN_CMD} --renew-within {max(min_days, 1)}d' to renew it"
    raise Failure(
        ExitCode.EXPIRES_SOON,
        f"The API key for {settings.auth_domain} from {source} expires on "
        f"{_day(expires_at)}, within {min_days} days; {fix}.",
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


@cli.command()
@_domain_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON object.")
@click.option("--offline", is_flag=True, help="Run only the checks that need no network.")
def doctor(*, domain: str | None, as_json: bool, offline: bool) -> None:
    """Find what would break a login on this machine, and say how to fix it.

    Prints each check as ok, warn, fail or skip, with what it found and, when not ok,
    what to do. Exits 0 when every check is ok, 8 otherwise. Never prints the key.
    """
    from .diagnostics.run_checks import doctor as run_doctor  # the SDK on use, not for --help

    site = click.get_current_context().meta.get(_SITE_KEY)
    checks = _run_command(run_doctor, site=site, auth_domain=domain, network=not offline)
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
