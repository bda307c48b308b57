"""The `anaconda-auth` command line: output on stdout vs stderr, exit codes, prompts.

Tokens live in a `MemoryTokenStore`; a login is faked by replacing `login.login` (the e2e
suite runs the real one through the CLI as a subprocess).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx
from cli_runner import run
from click.testing import Result
from processes import installed_command, python

from anaconda_auth_async import AnacondaAuthSettings, LoginEvent, TokenInfo, __version__
from anaconda_auth_async.api_client import key_loading
from anaconda_auth_async.command_line import login_commands
from anaconda_auth_async.command_line.exit_codes import ExitCode
from anaconda_auth_async.command_line.terminal import LoginUI
from anaconda_auth_async.foundation.errors import (
    ConfigurationError,
    DiscoveryError,
    LoginDeniedError,
    LoginTimeoutError,
    StorageError,
)
from anaconda_auth_async.logins import login as login_module
from anaconda_auth_async.storage.keyring_store import default_store
from anaconda_auth_async.testing import (
    FakePlatform,
    MemoryTokenStore,
    make_api_key,
    use_platform,
    use_store,
)

DOMAIN = "id.anaconda.cloud"
ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "authlib", "keyring", "pydantic", "pydantic_settings", "anyio", "joserfc")


def everything(result: Result) -> str:
    """stdout and stderr together."""
    return result.stdout + result.stderr


def error_line(result: Result) -> str:
    """The stderr of a failed command: exactly one line, starting with "Error: "."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def save(store: MemoryTokenStore, **kwargs: Any) -> str:
    key = make_api_key(**kwargs)
    store.save(TokenInfo(domain=DOMAIN, api_key=key, username="alice@example.com"))
    return key


# --- help, version, start-up ------------------------------------------------------------


def test_help_lists_commands_and_every_exit_code() -> None:
    result = run("-h")
    assert result.exit_code == 0
    for command in ("login", "logout", "whoami", "api-key", "status"):
        assert command in result.stdout
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", result.stdout, re.MULTILINE), code


def test_docs_list_every_exit_code() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    table = dict(re.findall(r"^\| `(\d+)` \| ([^|]+)\|", text, re.MULTILINE))
    assert {int(code) for code in table} == {int(code) for code in ExitCode}


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.exit_code == ExitCode.USAGE
    assert "No such command" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["login", "--help"], ["status", "--help"]])
def test_help_does_not_import_the_sdk(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from anaconda_auth_async.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"heavy = {HEAVY!r}\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    assert "LOADED []" in python(code, timeout=60).stdout


@pytest.mark.parametrize(
    ("module", "prog"),
    [("anaconda_auth_async", "python -m anaconda_auth_async"), ("anaconda_auth_async.cli", None)],
)
def test_python_dash_m(module: str, prog: str | None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert f"Usage: {prog or 'anaconda-auth'} [OPTIONS] COMMAND" in result.stdout
    assert "Exit codes:" in result.stdout


def test_python_dash_m_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "anaconda_auth_async", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == ExitCode.NOT_LOGGED_IN
    assert result.stderr.startswith("Error: You are not logged in")


# --- api-key ----------------------------------------------------------------------------


def test_api_key_prints_the_stored_key_and_nothing_else(store: MemoryTokenStore) -> None:
    key = save(store)
    result = run("api-key")
    assert result.exit_code == 0
    assert result.stdout == key + "\n"
    assert result.stderr == ""


def test_api_key_prefers_the_environment(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(store)
    env_key = make_api_key(sub="from-env")
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", env_key)
    result = run("api-key")
    assert result.exit_code == 0
    assert result.stdout == env_key + "\n"


def test_api_key_when_not_logged_in(store: MemoryTokenStore) -> None:
    result = run("api-key")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert result.stdout == ""
    assert "anaconda-auth login" in error_line(result)


def test_api_key_when_expired(store: MemoryTokenStore) -> None:
    key = save(store, exp=dt.timedelta(days=-2))
    result = run("api-key")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert result.stdout == ""
    line = error_line(result)
    assert "expired" in line
    assert "anaconda-auth login" in line
    assert key not in result.stderr


def test_api_key_expired_env_key_says_to_fix_the_variable(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key(exp=dt.timedelta(hours=-1)))
    result = run("api-key")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert "ANACONDA_AUTH_API_KEY" in error_line(result)


# --- status -----------------------------------------------------------------------------


def test_status_logged_in(store: MemoryTokenStore) -> None:
    key = save(store, exp=dt.timedelta(days=30, hours=1))
    result = run("status")
    assert result.exit_code == 0
    out = result.stdout
    assert DOMAIN in out
    assert "memory token store" in out
    assert "alice@example.com" in out
    assert "30 days left" in out
    assert re.search(r"Logged in:\s+yes", out)
    assert key not in everything(result)
    assert result.stderr == ""


def test_status_json(store: MemoryTokenStore) -> None:
    expiry = dt.datetime(2999, 1, 2, tzinfo=dt.timezone.utc)
    key = save(store, exp=expiry)
    result = run("status", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["logged_in"] is True
    assert report["expired"] is False
    assert report["auth_domain"] == DOMAIN
    assert report["source"] == "memory token store"
    assert report["expires_at"].startswith("2999-01-02")
    assert report["days_left"] > 300_000
    assert key not in everything(result)


def test_status_expired(store: MemoryTokenStore) -> None:
    save(store, exp=dt.timedelta(days=-3))
    result = run("status", "--json")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    report = json.loads(result.stdout)
    assert report["expired"] is True
    assert report["logged_in"] is False
    assert report["days_left"] < 0
    assert "expired" in error_line(result)


def reject(store: MemoryTokenStore) -> None:
    """Record, as a client does on a 401 auth_required answer, that the key was refused."""
    token = store.load(DOMAIN)
    assert token is not None
    store.save(token.with_rejection(time.time()))


def test_status_says_the_server_rejected_the_key(store: MemoryTokenStore) -> None:
    key = save(store)
    reject(store)
    result = run("status", "--json")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    report = json.loads(result.stdout)
    assert report["rejected"] is True
    assert report["logged_in"] is False
    assert "rejected" in error_line(result)
    assert "anaconda-auth login" in error_line(result)
    assert key not in everything(result)


def test_login_replaces_a_rejected_key_without_asking(
    store: MemoryTokenStore, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(store)
    reject(store)
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)
    result = run("login")
    assert result.exit_code == 0, result.stderr
    assert "The server rejected your API key for id.anaconda.cloud; logging in again.\n" in (
        result.stderr
    )
    assert "already logged in" not in everything(result)
    assert flows_run(platform) == ["device"]


def test_status_not_logged_in(store: MemoryTokenStore) -> None:
    result = run("status")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert re.search(r"Logged in:\s+no", result.stdout)
    assert "none stored in memory token store" in result.stdout
    assert "anaconda-auth login" in error_line(result)


def test_status_names_the_environment_variable(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_api_key(exp=None)
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", key)
    result = run("status")
    assert result.exit_code == 0
    assert "environment variable ANACONDA_CLOUD_API_KEY" in result.stdout
    assert "no expiry date" in result.stdout
    assert key not in everything(result)


def test_status_uses_the_file_keyring_by_default() -> None:
    result = run("status", "--json")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert "keyring" in json.loads(result.stdout)["source"].lower()


def test_status_with_domain_option(store: MemoryTokenStore) -> None:
    save(store)
    result = run("status", "--domain", "auth.example.com", "--json")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert json.loads(result.stdout)["auth_domain"] == "auth.example.com"


def test_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "-1")
    result = run("whoami")
    assert result.exit_code == ExitCode.CONFIGURATION
    assert "ANACONDA_AUTH_TIMEOUT" in error_line(result)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANACONDA_AUTH_SSL_VERIFY", "/no/such/ca.pem"),
        ("ANACONDA_AUTH_TIMEOUT", "-1"),
        ("ANACONDA_AUTH_EXTRA_HEADERS", '{"Bad Name": "x"}'),
    ],
)
def test_offline_commands_do_not_fail_on_network_only_settings(
    monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore, name: str, value: str
) -> None:
    key = make_api_key(exp=dt.timedelta(days=30))
    store.save(TokenInfo(domain="id.anaconda.cloud", api_key=key))
    monkeypatch.setenv(name, value)
    setting = name.removeprefix("ANACONDA_AUTH_").lower()
    note = (
        f"Note: the value of {setting} from environment variable {name} is invalid; ignored "
        "here, as this command sends no request ('anaconda-auth login' and 'whoami' stop on "
        "it).\n"
    )
    result = run("status")
    assert (result.exit_code, result.stderr) == (ExitCode.OK, note)
    result = run("api-key")
    assert (result.exit_code, result.stdout, result.stderr) == (ExitCode.OK, key + "\n", note)
    assert run("whoami").exit_code == ExitCode.CONFIGURATION  # it sends a request
    assert run("api-key", "--new").exit_code == ExitCode.CONFIGURATION
    result = run("logout")
    assert (result.exit_code, result.stderr) == (ExitCode.OK, note)
    assert store.load(DOMAIN) is None


def test_api_key_offers_no_login_over_an_ignored_network_setting(
    monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore, platform: FakePlatform
) -> None:
    # the login it would offer sends requests, and would stop on the setting (or ignore it)
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "-1")
    result = run("api-key", input="y\n")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert "now?" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: You are not logged in")
    assert flows_run(platform) == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["status"], ExitCode.OK),
        (["api-key"], ExitCode.OK),
        (["logout"], ExitCode.OK),
        (["whoami"], ExitCode.CONFIGURATION),
        (["api-key", "--new"], ExitCode.CONFIGURATION),
        (["login", "--device"], ExitCode.CONFIGURATION),
    ],
)
def test_the_installed_command_has_one_rule_for_a_bad_network_setting(
    tmp_path: Path, args: list[str], code: ExitCode
) -> None:
    """The console script, in a process of its own, over a real keyring file: commands that
    send no request run with a Note; those that send one stop (exit 6) before sending."""
    keyring = tmp_path / ".anaconda" / "keyring"
    key = make_api_key(exp=dt.timedelta(days=30))
    default_store(AnacondaAuthSettings(keyring_path=keyring)).save(
        TokenInfo(domain=DOMAIN, api_key=key)
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANACONDA")}
    env.update(HOME=str(tmp_path), ANACONDA_AUTH_TIMEOUT="-1", NO_COLOR="1")
    result = installed_command(*args, env=env, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    (line,) = result.stderr.splitlines()
    if code == ExitCode.OK:
        assert line.startswith("Note: the value of timeout from environment variable "), line
        assert "sends no request" in line
    else:
        assert line.startswith("Error: Invalid setting timeout (from environment variable "), line
    assert (key in result.stdout) == (args == ["api-key"])
    stored = default_store(AnacondaAuthSettings(keyring_path=keyring)).load(DOMAIN)
    assert (stored is None) == (args == ["logout"])


@pytest.mark.parametrize("why", ["expired", "rejected"])
def test_the_installed_command_says_what_happened_to_a_key_in_one_wording(
    tmp_path: Path, why: str
) -> None:
    """status, api-key and doctor, each in a process of its own over a real keyring file,
    say the same sentence about an expired or a rejected key (the one `key_problem`)."""
    keyring = tmp_path / ".anaconda" / "keyring"
    store = default_store(AnacondaAuthSettings(keyring_path=keyring))
    if why == "expired":
        token = TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(days=-2)))
        at = token.expires_at
    else:
        at = time.time() - 86400
        token = TokenInfo(domain=DOMAIN, api_key=make_api_key()).with_rejection(at)
    store.save(token)
    assert at is not None
    when = dt.datetime.fromtimestamp(at, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    what = f"the API key for {DOMAIN} from Anaconda file keyring ({keyring})"
    problem = (
        f"The {what[4:]} expired on {when}"
        if why == "expired"
        else f"The server rejected {what} on {when}: it is invalid or has been revoked"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANACONDA")}
    env.update(HOME=str(tmp_path), NO_COLOR="1")

    def installed(*args: str) -> subprocess.CompletedProcess[str]:
        return installed_command(*args, env=env, cwd=tmp_path)

    for command in (["status"], ["api-key"]):
        result = installed(*command)
        assert result.returncode == ExitCode.NOT_LOGGED_IN, result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"Error: {problem}; run 'anaconda-auth login' to get a new one."
        )
        assert token.api_key not in result.stdout + result.stderr
    result = installed("doctor", "--offline", "--json")
    assert result.returncode == ExitCode.PROBLEMS_FOUND, result.stderr
    (key,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "key"]
    assert (key["status"], key["summary"]) == ("fail", problem)


def test_status_says_an_invalid_network_setting_was_ignored(
    monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", "/no/such/ca.pem")
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "-1")
    lines = run("status").output.splitlines()
    for name, variable in [("ssl_verify", "SSL_VERIFY"), ("timeout", "TIMEOUT")]:
        (line,) = [line for line in lines if line.lstrip().startswith(name)]
        assert line.endswith(
            f"(from its default: the value from environment variable ANACONDA_AUTH_{variable} "
            "is invalid)"
        ), line


def test_status_and_settings_repr_hide_a_proxy_password(
    monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_PROXY", "http://bob:S3cret@proxy.example:3128")
    for args in (["status"], ["status", "--json"]):
        result = run(*args)
        assert "S3cret" not in result.output
        assert "bob:***@proxy.example:3128" in result.output
    assert "S3cret" not in repr(AnacondaAuthSettings())


def test_status_names_the_preset_only_when_its_domains_are_used(
    monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore
) -> None:
    assert "Site:        none (the defaults: the anaconda.cloud preset)" in run("status").output
    monkeypatch.setenv("ANACONDA_AUTH_DOMAIN", "corp.example")
    assert "Site:        none\n" in run("status").output


def test_offline_commands_still_fail_on_other_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_SSL_VERIFY", "/no/such/ca.pem")
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", "https://x/")
    result = run("status")
    assert result.exit_code == ExitCode.CONFIGURATION
    assert "api_domain" in error_line(result)


def test_ca_bundle_option_takes_a_directory(
    tmp_path: Path, store: MemoryTokenStore, fake_login: Callable[..., FakeLogin]
) -> None:
    fake = fake_login()
    result = run("login", "--ca-bundle", str(tmp_path))
    assert result.exit_code == ExitCode.OK, result.output
    assert fake.calls[0]["settings"].ssl_verify == str(tmp_path)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on loopback that accepts connections and never answers; its host:port."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for connection in accepted:
            connection.close()


def test_a_server_that_never_answers_is_a_timeout(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", silent_server)
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "0.3")
    result = run("login", "--device")
    assert result.exit_code == ExitCode.NETWORK, result.output
    line = error_line(result)
    assert f"{silent_server} did not answer in time" in line
    assert "ANACONDA_AUTH_TIMEOUT" in line
    assert "TLS" not in line


def test_a_server_slow_to_answer_is_named_once_on_stderr(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anaconda_auth_async.network import transport as _transport

    monkeypatch.setattr(_transport, "SLOW_ANSWER_SECONDS", 0.2)  # 2 s in real life
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", silent_server)
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "1")
    result = run("login", "--device")
    assert result.exit_code == ExitCode.NETWORK, result.output
    host = silent_server.partition(":")[0]
    waiting, error = result.stderr.splitlines()
    assert waiting == f"Waiting for {host}…"
    assert error.startswith("Error: ")
    assert result.stdout == ""


@pytest.mark.anyio
async def test_the_server_wait_is_said_once_per_login() -> None:
    stream = Stream()
    ui = LoginUI(spinner_enabled=False, stream=stream)  # type: ignore[arg-type]
    slow = LoginEvent(kind="waiting_for_server", url="https://id.x", message="Waiting for id.x")

    async def login() -> None:
        ui.on_event(slow)
        ui.on_event(slow)

    await ui.run(login)
    assert stream.text == "Waiting for id.x…\n"


def test_the_login_time_limit_is_reported_whatever_was_in_flight(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_AUTH_DOMAIN", silent_server)
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "30")
    result = run("login", "--device", "--timeout", "0.3")
    assert result.exit_code == ExitCode.LOGIN_FAILED, result.output
    line = error_line(result)
    assert "did not complete within 0.3 seconds" in line
    assert "--timeout or ANACONDA_AUTH_LOGIN_TIMEOUT" in line


def test_bad_domain_option_is_a_configuration_error() -> None:
    result = run("logout", "--auth-domain", "https://id.example.com/")
    assert result.exit_code == ExitCode.CONFIGURATION
    line = error_line(result)
    assert "(from --auth-domain)" in line
    assert "host name" in line


def test_domain_is_the_deprecated_spelling_of_auth_domain() -> None:
    with use_store(MemoryTokenStore()):
        old = run("logout", "--domain", "id.example.com")
        new = run("logout", "--auth-domain", "id.example.com")
        both = run("logout", "--domain", "id.example.com", "--auth-domain", "id.other.com")
    assert old.exit_code == new.exit_code == 0
    assert old.stdout == new.stdout
    assert "id.example.com" in new.stdout
    assert "--domain is deprecated; use --auth-domain" in old.stderr
    assert "deprecated" not in new.stderr
    assert both.exit_code == 2
    assert "--domain" not in run("logout", "--help").stdout.replace("--auth-domain", "")


def test_storage_error() -> None:
    broken = MemoryTokenStore(fail_with=StorageError("The keyring is locked; unlock it."))
    with use_store(broken):
        result = run("api-key")
    assert result.exit_code == ExitCode.ERROR
    assert error_line(result) == "Error: The keyring is locked; unlock it."


# --- logout -----------------------------------------------------------------------------


def test_logout_removes_the_key(store: MemoryTokenStore) -> None:
    key = save(store)
    result = run("logout")
    assert result.exit_code == 0
    assert "Logged out of id.anaconda.cloud" in result.stdout
    assert store.domains == []
    assert key not in everything(result)


def test_logout_when_not_logged_in(store: MemoryTokenStore) -> None:
    result = run("logout")
    assert result.exit_code == 0
    assert "not logged in" in result.stdout


def test_logout_notes_the_environment_key(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key())
    result = run("logout")
    assert result.exit_code == 0
    assert "ANACONDA_AUTH_API_KEY is still set" in result.stderr


def test_notes_and_hints_name_the_variable_the_user_set(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anaconda-cloud-auth's ANACONDA_CLOUD_API_KEY, not ANACONDA_AUTH_API_KEY (unset)."""
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", make_api_key(exp=dt.timedelta(days=-1)))
    logout = run("logout")
    assert "Note: ANACONDA_CLOUD_API_KEY is still set" in logout.stderr
    whoami = run("whoami")
    assert whoami.exit_code == ExitCode.NOT_LOGGED_IN
    assert "set a valid key in ANACONDA_CLOUD_API_KEY, or unset it" in error_line(whoami)
    assert "ANACONDA_AUTH_API_KEY" not in everything(logout) + everything(whoami)


def test_hint_names_the_dotenv_file_that_sets_the_key(
    store: MemoryTokenStore, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "api_key")  # a .env trusted on purpose
    dotenv = isolated_env / ".env"
    dotenv.write_text(f"ANACONDA_AUTH_API_KEY={make_api_key(exp=dt.timedelta(days=-1))}\n")
    result = run("api-key")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert f"set a valid key in ANACONDA_AUTH_API_KEY in {dotenv}," in error_line(result)


# --- login ------------------------------------------------------------------------------


class FakeLogin:
    """Stands in for `login.login`: reports events, then stores a key or raises."""

    def __init__(
        self,
        events: tuple[LoginEvent, ...] = (),
        *,
        error: BaseException | None = None,
        ask: bool = False,
    ) -> None:
        self.events = events
        self.error = error
        self.ask = ask
        self.calls: list[dict[str, Any]] = []
        self.credentials: tuple[str, str] | None = None

    async def __call__(self, **kwargs: Any) -> TokenInfo:
        self.calls.append(kwargs)
        for event in self.events:
            kwargs["on_event"](event)
        if self.ask:
            self.credentials = await kwargs["ask_credentials"]()
        if self.error is not None:
            raise self.error
        settings = kwargs["settings"]
        token = TokenInfo(
            domain=settings.auth_domain, api_key=make_api_key(), username="bob@example.com"
        )
        await default_store(settings).asave(token)
        kwargs["on_event"](LoginEvent(kind="done", message="Logged in."))
        return token


@pytest.fixture
def fake_login(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeLogin]:
    def install(*events: LoginEvent, **kwargs: Any) -> FakeLogin:
        fake = FakeLogin(events, **kwargs)
        monkeypatch.setattr(login_module, "login", fake)
        return fake

    return install


BROWSER = LoginEvent(kind="browser", url="https://id.example/authorize?state=s")
DEVICE = LoginEvent(
    kind="device_code", url="https://id.example/device", user_code="WDJB-MJHT", expires_in=900
)


def test_login_browser(store: MemoryTokenStore, fake_login: Callable[..., FakeLogin]) -> None:
    fake = fake_login(BROWSER, LoginEvent(kind="waiting"), LoginEvent(kind="exchanging"))
    result = run("login")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Logged in to id.anaconda.cloud as bob@example.com.\n"
    assert (
        "Opening your browser to log in. If it does not open, visit: "
        "https://id.example/authorize?state=s\n" in result.stderr
    )
    # no indicator and no colour without a terminal
    assert "\r" not in everything(result)
    assert "\x1b" not in everything(result)
    (call,) = fake.calls
    assert call["force"] is False  # login() decides whether to log in again
    assert call["flow"] is None
    assert call["basic"] is False
    assert call["ask_credentials"] is None
    assert call["settings"].auth_domain == DOMAIN
    assert store.domains == [DOMAIN]


def test_login_device(store: MemoryTokenStore, fake_login: Callable[..., FakeLogin]) -> None:
    fake = fake_login(DEVICE)
    result = run("login", "--device", "--domain", "auth.example.com", "--timeout", "42")
    assert result.exit_code == 0, result.output
    assert (
        "To log in, visit https://id.example/device and enter the code WDJB-MJHT" in result.stderr
    )
    assert "WDJB-MJHT" not in result.stdout
    assert "Logged in to auth.example.com" in result.stdout
    (call,) = fake.calls
    assert call["flow"] == "device"
    assert call["timeout"] == 42
    assert call["settings"].auth_domain == "auth.example.com"


def test_login_tls_options(
    store: MemoryTokenStore, fake_login: Callable[..., FakeLogin], tmp_path: Path
) -> None:
    fake = fake_login()
    assert run("login", "--no-ssl-verify").exit_code == 0
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert run("login", "--force", "--ca-bundle", str(bundle)).exit_code == 0
    assert [c["settings"].ssl_verify for c in fake.calls] == [False, str(bundle)]


@pytest.mark.parametrize(
    "args",
    [
        ["--browser", "--device"],
        ["--device", "--basic"],
        ["--no-ssl-verify", "--ca-bundle", "ca.pem"],
        ["--timeout", "0"],
    ],
)
def test_login_usage_errors(
    args: list[str], fake_login: Callable[..., FakeLogin], isolated_env: Path
) -> None:
    (isolated_env / "ca.pem").write_text("")
    fake = fake_login()
    result = run("login", *args)
    assert result.exit_code == ExitCode.USAGE
    assert fake.calls == []


@pytest.fixture
def platform(store: MemoryTokenStore) -> Iterator[FakePlatform]:
    """The real login, over a fake provider and API; keys go to `store`."""
    fake = FakePlatform()
    with use_platform(fake):
        yield fake


def flows_run(platform: FakePlatform) -> list[str]:
    """The login flows the provider saw run to the end (a token granted by each)."""
    grants = [r.content.decode() for r in platform.requests if r.url.path == "/oauth2/token"]
    return ["device" if "device_code" in grant else "browser" for grant in grants]


def test_login_already_logged_in_without_a_terminal_never_prompts(
    store: MemoryTokenStore, platform: FakePlatform
) -> None:
    key = save(store)
    result = run("login", input="y\n")
    assert result.exit_code == 0
    assert "already logged in to id.anaconda.cloud as alice@example.com" in result.stdout
    assert "?" not in everything(result)
    assert platform.requests == []
    assert key not in everything(result)


@pytest.mark.parametrize(("answer", "logs_in"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_login_already_logged_in_asks_in_a_terminal(
    answer: str,
    logs_in: bool,
    store: MemoryTokenStore,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save(store)
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)
    result = run("login", input=answer)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("You are already logged in to id.anaconda.cloud as alice@")
    assert "Log in again? [y/N]" in result.stderr
    assert flows_run(platform) == (["device"] if logs_in else [])
    assert ("Logged in to id.anaconda.cloud as test-user." in result.stdout) is logs_in


def test_login_force_does_not_ask(
    store: MemoryTokenStore, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(store)
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)
    result = run("login", "--force")
    assert result.exit_code == 0
    assert "Log in again" not in everything(result)
    assert "already logged in" not in everything(result)
    assert flows_run(platform) == ["device"]


def test_login_expired_logs_in_again(store: MemoryTokenStore, platform: FakePlatform) -> None:
    save(store, exp=dt.timedelta(minutes=-1))
    result = run("login")
    assert result.exit_code == 0
    assert "Your API key for id.anaconda.cloud has expired; logging in again." in result.stderr
    assert flows_run(platform) == ["device"]
    assert not store.load(DOMAIN).expired  # type: ignore[union-attr]


@pytest.mark.parametrize(("days", "renews"), [(40, True), (5, False)])
def test_login_renew_within_is_decided_by_the_library(
    days: int,
    renews: bool,
    store: MemoryTokenStore,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save(store, exp=dt.timedelta(days=10))
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)  # a renewal never asks
    result = run("login", "--renew-within", f"{days}d")
    assert result.exit_code == 0, result.stderr
    assert "Log in again" not in result.stderr
    assert flows_run(platform) == (["device"] if renews else [])
    if renews:
        assert "as alice@example.com expires on " in result.stderr
        assert "logging in again to renew it." in result.stderr
    else:
        assert "already logged in to id.anaconda.cloud as alice@example.com, until" in (
            result.stdout
        )


def test_login_notes_the_environment_key(
    store: MemoryTokenStore, fake_login: Callable[..., FakeLogin], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key())
    fake_login()
    result = run("login")
    assert result.exit_code == 0
    assert "ANACONDA_AUTH_API_KEY is set" in result.stderr


def test_login_basic_asks_in_a_terminal_without_echoing_the_password(
    store: MemoryTokenStore, fake_login: Callable[..., FakeLogin], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_commands, "_stdin_is_tty", lambda: True)
    fake = fake_login(ask=True)
    result = run("login", "--basic", input="me@example.com\ns3cret-pw\n")
    assert result.exit_code == 0, result.output
    assert fake.credentials == ("me@example.com", "s3cret-pw")
    assert fake.calls[0]["basic"] is True
    assert "Password" in result.stderr
    assert "s3cret-pw" not in everything(result)
    assert "Note: logging in with a password is deprecated" in result.stderr


def test_login_basic_without_a_terminal_is_refused(
    store: MemoryTokenStore, fake_login: Callable[..., FakeLogin]
) -> None:
    fake = fake_login(ask=True)
    result = run("login", "--basic", input="me@example.com\npw\n")
    assert result.exit_code == ExitCode.USAGE
    assert "terminal" in result.stderr
    assert fake.calls == []


def _connect_error(message: str, cause: BaseException | None = None) -> httpx.ConnectError:
    request = httpx.Request("GET", "https://id.anaconda.cloud/.well-known/openid-configuration")
    error = httpx.ConnectError(message, request=request)
    error.__cause__ = cause
    return error


def _tls_error() -> httpx.ConnectError:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    cause.verify_message = "self-signed certificate in certificate chain"
    return _connect_error("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", cause)


def _tls_name_error() -> httpx.ConnectError:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    cause.verify_message = "Hostname mismatch, certificate is not valid for 'id.anaconda.cloud'."
    return _connect_error("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", cause)


def _discovery_error() -> DiscoveryError:
    error = DiscoveryError("Could not load the OpenID configuration; check your network.")
    error.__cause__ = _connect_error("[Errno 111] Connection refused")
    return error


@pytest.mark.parametrize(
    ("error", "code", "expected"),
    [
        (
            LoginDeniedError("The login was denied; try again.", error="access_denied"),
            ExitCode.LOGIN_FAILED,
            "Error: The login was denied; try again.",
        ),
        (
            LoginTimeoutError("The login did not complete within\n5 seconds; run it again."),
            ExitCode.LOGIN_FAILED,
            "Error: The login did not complete within 5 seconds; run it again.",
        ),
        (
            _connect_error("[Errno 111] Connection refused"),
            ExitCode.NETWORK,
            "Could not connect to id.anaconda.cloud",
        ),
        (_discovery_error(), ExitCode.NETWORK, "Connection refused"),
        (_tls_error(), ExitCode.NETWORK, "self-signed certificate in certificate chain); set"),
        (
            _tls_name_error(),
            ExitCode.NETWORK,
            "Error: The TLS certificate of id.anaconda.cloud is for another name (Hostname "
            "mismatch, certificate is not valid for 'id.anaconda.cloud'); check the domain "
            "settings ('anaconda-auth status' lists them) and any proxy in the way.",
        ),
        (
            httpx.ReadTimeout("timed out", request=httpx.Request("GET", "https://a.example/")),
            ExitCode.NETWORK,
            "a.example did not answer in time",
        ),
        (ConfigurationError("Invalid setting x."), ExitCode.CONFIGURATION, "Invalid setting x."),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "Error: Interrupted."),
        (RuntimeError("boom"), ExitCode.ERROR, "RuntimeError: boom"),
    ],
)
def test_login_failures(
    error: BaseException,
    code: ExitCode,
    expected: str,
    store: MemoryTokenStore,
    fake_login: Callable[..., FakeLogin],
) -> None:
    fake_login(BROWSER, error=error)
    result = run("login")
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    assert expected in last
    assert "Traceback" not in result.stderr
    assert store.domains == []


@pytest.mark.parametrize(
    ("args", "option", "hint"),
    [
        (("status", "-v"), "-v", "before the command: anaconda-auth -v status."),
        (
            ("whoami", "--verbose"),
            "--verbose",
            "before the command: anaconda-auth --verbose whoami.",
        ),
        (("--at", "work", "status"), "--at", "after the command: anaconda-auth COMMAND --at NAME."),
    ],
    ids=["-v-after", "--verbose-after", "--at-before"],
)
def test_an_option_on_the_wrong_side_of_the_command_says_where_it_goes(
    store: MemoryTokenStore, args: tuple[str, ...], option: str, hint: str
) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: No such option '{option}'; put it {hint}")


def test_an_unknown_option_gets_no_placement_hint(store: MemoryTokenStore) -> None:
    result = run("status", "--bogus")
    assert result.stderr.strip().splitlines()[-1] == "Error: No such option '--bogus'."


def test_verbose_shows_the_traceback_and_debug_logs(
    store: MemoryTokenStore, fake_login: Callable[..., FakeLogin]
) -> None:
    fake_login(error=LoginDeniedError("Denied.", error="access_denied"))
    result = run("--verbose", "login")
    assert result.exit_code == ExitCode.LOGIN_FAILED
    assert "Traceback" in result.stderr
    assert "LoginDeniedError" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Error: Denied."


_INTERRUPTED_PROMPT = """
from anaconda_auth_async.logins import login as _login
from anaconda_auth_async.cli import main

async def login(**kwargs):
    await kwargs["ask_credentials"]()
    raise AssertionError("the prompt should have been interrupted")

_login.login = login
main(["login", "--basic"])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_ctrl_c_at_a_prompt_exits_130_and_restores_the_terminal() -> None:
    from pty_prompt import interrupt_at_password_prompt

    result = interrupt_at_password_prompt(_INTERRUPTED_PROMPT)
    assert result.status is not None, f"the CLI did not exit: {result.output!r}"
    assert result.echo_hidden_at_prompt  # the password is not echoed
    assert os.waitstatus_to_exitcode(result.status) == ExitCode.INTERRUPTED
    assert b"Error:\x1b[0m Interrupted." in result.output  # in colour: stderr is a terminal
    assert b"Traceback" not in result.output  # Python 3.10 printed a CancelledError
    assert result.echo_restored


# --- the waiting indicator --------------------------------------------------------------


class Stream:
    """A text stream that records writes (stands in for a terminal's stderr)."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.text = ""
        self._changed = anyio.Event()

    def write(self, text: str) -> int:
        self.text += text
        self._changed.set()
        self._changed = anyio.Event()
        return len(text)

    def flush(self) -> None:
        pass

    async def wait_for(self, needle: str) -> None:
        with anyio.fail_after(10):
            while needle not in self.text:
                await self._changed.wait()


@pytest.mark.anyio
async def test_indicator_runs_while_waiting_and_is_cleared() -> None:
    stream = Stream()
    ui = LoginUI(spinner_enabled=True, interval=0.001, stream=stream)  # type: ignore[arg-type]

    async def login() -> str:
        ui.on_event(BROWSER)
        ui.on_event(LoginEvent(kind="waiting", message="Waiting for you to log in in the browser."))
        await stream.wait_for("Waiting for you to log in in the browser...")
        ui.on_event(LoginEvent(kind="exchanging", message="Creating an API key."))
        await stream.wait_for("Creating an API key... ")
        return "done"

    assert await ui.run(login) == "done"
    assert "visit: https://id.example/authorize?state=s\n" in stream.text
    assert stream.text.endswith("\r\x1b[K")  # the indicator's line is cleared


@pytest.mark.anyio
async def test_indicator_is_cleared_when_the_login_fails() -> None:
    stream = Stream()
    ui = LoginUI(spinner_enabled=True, interval=0.001, stream=stream)  # type: ignore[arg-type]

    async def login() -> None:
        ui.on_event(DEVICE)
        ui.on_event(LoginEvent(kind="waiting", message="Waiting for you to enter the code."))
        await stream.wait_for("Waiting for you to enter the code")
        raise LoginDeniedError("Denied.", error="access_denied")

    with pytest.raises(LoginDeniedError):
        await ui.run(login)
    assert stream.text.endswith("\r\x1b[K")


@pytest.mark.anyio
async def test_without_a_terminal_waiting_is_said_once() -> None:
    stream = Stream()
    ui = LoginUI(spinner_enabled=False, stream=stream)  # type: ignore[arg-type]

    async def login() -> None:
        ui.on_event(BROWSER)
        ui.on_event(LoginEvent(kind="waiting"))
        await anyio.lowlevel.checkpoint()

    await ui.run(login)
    assert stream.text.count("Waiting") == 1
    assert "\r" not in stream.text


# --- whoami -----------------------------------------------------------------------------

ACCOUNT = {"user": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.Route]:
    """The Anaconda API's /api/account, answering with `ACCOUNT` unless told otherwise.

    The keys `save` stores expire within the hour, and the client warns once per process
    about such a key (tests/test_keys.py tests that): as if already warned, so that whether
    a test's stderr holds it does not depend on which test ran first in the process.
    """
    monkeypatch.setattr(key_loading, "_warned", True)
    with respx.mock(assert_all_called=False) as mock:
        yield mock.get("https://anaconda.cloud/api/account").respond(200, json=ACCOUNT)


def test_whoami(store: MemoryTokenStore, api: respx.Route) -> None:
    key = save(store)
    result = run("whoami")
    assert result.exit_code == 0, result.output
    assert "Ada Lovelace" in result.stdout
    assert "ada@example.com" in result.stdout
    assert key not in everything(result)
    (call,) = api.calls
    request = call.request
    assert request.url == "https://anaconda.cloud/api/account"
    assert request.headers["Authorization"] == f"Bearer {key}"


def test_whoami_json(store: MemoryTokenStore, api: respx.Route) -> None:
    save(store)
    result = run("whoami", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ACCOUNT


def test_whoami_uses_the_environment_key(
    store: MemoryTokenStore, api: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key = make_api_key(sub="ci")
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", env_key)
    result = run("whoami")
    assert result.exit_code == 0, result.output
    assert api.calls.last.request.headers["Authorization"] == f"Bearer {env_key}"


@pytest.mark.parametrize("exp", [None, dt.timedelta(days=-1)])
def test_whoami_not_logged_in_or_expired_sends_nothing(
    exp: dt.timedelta | None, store: MemoryTokenStore, api: respx.Route
) -> None:
    if exp is not None:
        save(store, exp=exp)
    result = run("whoami")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert "anaconda-auth login" in error_line(result)
    assert not api.called


def test_whoami_rejected_key(store: MemoryTokenStore, api: respx.Route) -> None:
    key = save(store)
    api.respond(401, json={"error": {"code": "auth_required"}})
    result = run("whoami")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    line = error_line(result)
    assert "rejected" in line
    assert "anaconda-auth login" in line
    assert key not in everything(result)


def test_whoami_rejected_environment_key_says_to_replace_it(
    store: MemoryTokenStore, api: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login would not help while the variable's key is the one sent."""
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", make_api_key())
    api.respond(401, json={"error": {"code": "auth_required"}})
    result = run("whoami")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN
    assert error_line(result) == (
        "Error: anaconda.cloud rejected the API key from environment variable "
        "ANACONDA_CLOUD_API_KEY: it is invalid or has been revoked; set a valid key in "
        "ANACONDA_CLOUD_API_KEY, or unset it and run 'anaconda-auth login' to get a new one."
    )


def test_whoami_network_error(store: MemoryTokenStore, api: respx.Route) -> None:
    save(store)

    api.side_effect = httpx.ConnectError("[Errno 111] Connection refused")
    result = run("whoami")
    assert result.exit_code == ExitCode.NETWORK
    assert "Could not connect to anaconda.cloud" in error_line(result)


def test_whoami_server_error(store: MemoryTokenStore, api: respx.Route) -> None:
    save(store)
    api.respond(503, text="maintenance")
    result = run("whoami")
    assert result.exit_code == ExitCode.ERROR
    assert "503" in error_line(result)


# --- no key in any output but api-key ---------------------------------------------------


@pytest.mark.parametrize(
    "args", [["status"], ["status", "--json"], ["whoami"], ["whoami", "--json"], ["logout"]]
)
def test_no_command_but_api_key_prints_the_key(
    args: list[str], store: MemoryTokenStore, api: respx.Route
) -> None:
    key = save(store)
    result = run("--verbose", *args)
    assert result.exit_code == 0, result.output
    assert key not in everything(result)
    assert key.split(".")[1] not in everything(result)


def test_network_failure_text_is_one_clean_line() -> None:
    """The exit-code policy (in _cli_errors) passes server text through the safe-text module."""
    import httpx

    from anaconda_auth_async.command_line.exit_codes import classify

    code, message = classify(httpx.ConnectError("refused\x1b[2J\nBearer abc.def.ghi"))
    assert code == ExitCode.NETWORK
    assert "\x1b" not in message
    assert "\n" not in message
    assert "abc.def.ghi" not in message


def test_login_over_a_damaged_token_file_warns_without_advising_a_login(
    isolated_env: Path,
) -> None:
    """The warning says what this login does about the file, not "log in again"."""
    from anaconda_auth_async.testing import FakePlatform, use_platform
    from anaconda_auth_async.testkit.seal import with_environment

    keyring_file = isolated_env / ".anaconda" / "keyring"
    keyring_file.parent.mkdir(mode=0o700)
    keyring_file.write_text("{not json")
    # use_platform seals the keyring; this test names the damaged file inside the kit
    with (
        use_platform(FakePlatform()),
        with_environment({"ANACONDA_AUTH_KEYRING_PATH": str(keyring_file)}),
    ):
        result = run("login", "--device")  # no --force: login() repairs the file itself
        status = run("status")
    assert result.exit_code == 0, result.stderr
    warning = result.stderr.splitlines()[0]
    assert warning == (
        f"The token file {keyring_file} could not be parsed (not valid JSON: "
        "expecting property name enclosed in double quotes at line 1, column 2); logging "
        "in keeps a copy of it "
        "aside and writes a new one."
    )
    assert "run `anaconda-auth login`" not in result.stderr  # no loop
    assert "Logged in to id.anaconda.cloud" in result.stdout
    assert list(keyring_file.parent.glob("keyring.corrupt-*"))  # the damaged bytes, kept
    assert status.exit_code == 0  # and the new file is sound


@pytest.mark.parametrize("how", ["device", "with-token"])
def test_a_login_over_a_damaged_token_file_never_says_to_log_in_again(
    isolated_env: Path, how: str
) -> None:
    """The store's own warning (the copy kept aside) is true after either kind of login."""
    from anaconda_auth_async.testing import FakePlatform, use_platform
    from anaconda_auth_async.testkit.seal import with_environment

    keyring_file = isolated_env / ".anaconda" / "keyring"
    keyring_file.parent.mkdir(mode=0o700)
    keyring_file.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "eyJ')
    platform = FakePlatform()
    # use_platform seals the keyring; this test names the damaged file inside the kit
    with (
        use_platform(platform),
        with_environment({"ANACONDA_AUTH_KEYRING_PATH": str(keyring_file)}),
    ):
        if how == "device":
            result = run("login", "--device")
        else:
            result = run("login", "--with-token", input=platform.api_key() + "\n")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    kept = [line for line in warnings if "keyring.corrupt-" in line]
    assert len(kept) == 1, result.stderr
    assert kept[0].endswith(".")
    assert "log in again" not in result.stderr.lower()
    assert list(keyring_file.parent.glob("keyring.corrupt-*"))
