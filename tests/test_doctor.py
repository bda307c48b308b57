"""`doctor` offline: settings, names, key, storage, other tools, redirect port, browser.

Each broken state is made for real (a file with a loose mode, a lock held by another
process, a port another socket holds, a misspelled variable) and read back through the
public API or the installed command's `--json`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run
from processes import holding_lock

import anaconda_auth_async
from anaconda_auth_async import DoctorCheck, TokenInfo, sync
from anaconda_auth_async.diagnostics import other_tools as tools
from anaconda_auth_async.diagnostics.run_checks import doctor
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

DOMAIN = "id.anaconda.cloud"


def by_name(checks: list[DoctorCheck]) -> dict[str, DoctorCheck]:
    return {c.name: c for c in checks}


def offline(**kwargs: Any) -> dict[str, DoctorCheck]:
    return by_name(sync.doctor(network=False, **kwargs))


@pytest.fixture
def keyring(isolated_env: Path) -> Path:
    return Path(os.environ["ANACONDA_AUTH_KEYRING_PATH"])


def write_keyring(path: Path, key: str, *, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = TokenInfo(domain=DOMAIN, api_key=key, username="ada").encode()
    path.write_text(json.dumps({"Anaconda Cloud": {DOMAIN: value}}))
    path.chmod(mode)


# --- the report -------------------------------------------------------------------------


def test_check_is_one_clean_line_and_refuses_unknown_statuses() -> None:
    key = make_api_key()
    check = DoctorCheck("x", "fail", f"line one\nline two {key}", "do\x1b[2Jthis")
    assert "\n" not in check.summary
    assert key not in check.summary
    assert "\x1b" not in (check.fix or "")
    assert check.to_dict() == {
        "name": "x",
        "status": "fail",
        "summary": check.summary,
        "fix": check.fix,
    }
    with pytest.raises(ValueError, match="status"):
        DoctorCheck("x", "bad", "")  # type: ignore[arg-type]


def test_public_faces() -> None:
    assert anaconda_auth_async.doctor is doctor
    assert "doctor" in anaconda_auth_async.__all__
    assert "DoctorCheck" in anaconda_auth_async.__all__
    assert "doctor" in sync.__all__


# --- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "name", "status", "summary", "fix"),
    [
        pytest.param(
            "ANACONDA_AUTH_API_DOMIAN",
            "example.com",
            "setting_names",
            "warn",
            [
                "ANACONDA_AUTH_API_DOMIAN (in the environment) is not a setting",
                "did you mean ANACONDA_AUTH_API_DOMAIN?",
            ],
            "rename ANACONDA_AUTH_API_DOMIAN to ANACONDA_AUTH_API_DOMAIN",
            id="misspelled-name-names-the-right-one",
        ),
        pytest.param(
            "ANACONDA_AUTH_TIMEOUT",
            "soon",
            "settings",
            "fail",
            ["timeout", "ANACONDA_AUTH_TIMEOUT"],
            "correct or remove environment variable ANACONDA_AUTH_TIMEOUT",
            id="invalid-value-names-where-it-came-from",
        ),
    ],
)
def test_a_bad_environment_variable_is_named_with_its_fix(
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    name: str,
    status: str,
    summary: list[str],
    fix: str,
) -> None:
    monkeypatch.setenv(variable, value)
    check = offline()[name]
    assert check.status == status
    for fragment in summary:
        assert fragment in check.summary
    assert check.fix == fix


def test_refused_dotenv_is_a_failed_check_and_the_rest_still_runs(isolated_env: Path) -> None:
    (isolated_env / ".env").write_text("ANACONDA_AUTH_AUTH_DOMAIN=evil.example\n")
    checks = offline()
    check = checks["settings"]
    assert check.status == "fail"
    assert "Refusing the setting auth_domain" in check.summary
    assert "carries on with the default" in check.summary
    assert "ANACONDA_AUTH_ALLOW_DOTENV=auth_domain" in (check.fix or "")
    assert "id.anaconda.cloud" in checks["key"].summary  # the default took its place


def test_settings_say_where_each_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_DOMAIN", "api.example.com")
    check = offline()["settings"]
    assert check.status == "ok"
    assert "api_domain api.example.com (from environment variable ANACONDA_AUTH_API_DOMAIN)" in (
        check.summary
    )
    assert "auth_domain id.anaconda.cloud (from its default)" in check.summary


# --- the key ----------------------------------------------------------------------------


def test_no_key_warns_and_says_to_log_in(store: MemoryTokenStore) -> None:
    check = offline()["key"]
    assert (check.status, check.fix) == ("warn", "run 'anaconda-auth login'")
    assert f"Not logged in to {DOMAIN}" in check.summary


def test_a_good_key_shows_user_expiry_scopes_and_origin(store: MemoryTokenStore) -> None:
    key = make_api_key(exp=dt.timedelta(days=90), claims={"scopes": ["cloud:read"]})
    store.save(TokenInfo(domain=DOMAIN, api_key=key, username="ada"))
    check = offline()["key"]
    assert check.status == "ok", check
    assert "user ada" in check.summary
    assert "days left" in check.summary
    assert "scopes cloud:read" in check.summary
    assert "sent only to https://anaconda.cloud" in check.summary
    assert key not in check.summary


def test_expired_rejected_and_soon_expiring_keys(store: MemoryTokenStore) -> None:
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(seconds=-60))))
    assert offline()["key"].status == "fail"
    assert "expired on" in offline()["key"].summary
    token = TokenInfo(domain=DOMAIN, api_key=make_api_key()).with_rejection(time.time())
    store.save(token)
    check = offline()["key"]
    assert (check.status, check.fix) == ("fail", "run 'anaconda-auth login'")
    assert "rejected" in check.summary
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(days=3))))
    check = offline()["key"]
    assert check.status == "warn"
    assert "--renew-within" in (check.fix or "")


def test_a_key_made_for_another_api_fails(store: MemoryTokenStore) -> None:
    token = TokenInfo(domain=DOMAIN, api_key=make_api_key(), extra={"api_domain": "api.other.io"})
    store.save(token)
    check = offline()["key"]
    assert check.status == "fail"
    assert "made for the API at api.other.io, not anaconda.cloud" in check.summary


def test_a_key_from_the_environment_says_to_replace_it(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key(exp=dt.timedelta(seconds=-10)))
    check = offline()["key"]
    assert check.status == "fail"
    assert "environment variable ANACONDA_AUTH_API_KEY" in check.summary
    assert "replace the key in environment variable ANACONDA_AUTH_API_KEY" in (check.fix or "")


# --- storage ----------------------------------------------------------------------------


def test_storage_ok_and_missing_file(keyring: Path) -> None:
    check = offline()["storage"]
    assert check.status == "ok"
    assert "No keyring file yet" in check.summary
    assert not keyring.parent.exists()  # doctor created nothing
    write_keyring(keyring, make_api_key())
    check = offline()["storage"]
    assert check.status == "ok"
    assert "mode 0600" in check.summary
    assert "parses" in check.summary


def writable_by_others(keyring: Path) -> None:
    write_keyring(keyring, make_api_key(), mode=0o666)


def not_json(keyring: Path) -> None:
    keyring.parent.mkdir(mode=0o700, parents=True)
    keyring.write_text("{not json")
    keyring.chmod(0o600)


def leftovers(keyring: Path) -> None:
    write_keyring(keyring, make_api_key())
    (keyring.parent / "keyring.corrupt-20260101T000000Z").write_text("{}")


@pytest.mark.parametrize(
    ("damage", "status", "summary", "fix"),
    [
        (writable_by_others, "fail", "writable by other users (mode 0666)", "chmod 600 {keyring}"),
        (not_json, "fail", "cannot be parsed", "anaconda-auth login"),
        (
            leftovers,
            "warn",
            "keyring.corrupt-20260101T000000Z",
            "anaconda-auth logout",
        ),
    ],
    ids=["writable-by-others-fails", "corrupt-file-fails", "leftovers-warn"],
)
def test_storage_damage_is_named_with_its_fix(
    keyring: Path, damage: Callable[[Path], None], status: str, summary: str, fix: str
) -> None:
    damage(keyring)
    check = offline()["storage"]
    assert check.status == status
    assert summary in check.summary
    assert fix.format(keyring=keyring) in (check.fix or "")


def test_storage_file_readable_by_others_warns(keyring: Path) -> None:
    write_keyring(keyring, make_api_key(), mode=0o644)
    check = offline()["storage"]
    assert (check.status, check.fix) == ("warn", f"chmod 600 {keyring}")
    assert "other users can read it" in check.summary


def test_storage_lock_held_by_another_process_names_it(keyring: Path) -> None:
    write_keyring(keyring, make_api_key())
    lock = f"{keyring}.lock"
    with holding_lock(lock) as holder:
        check = offline()["storage"]
        assert check.status == "warn"
        assert f"the lock {lock} is held by" in check.summary
        if sys.platform.startswith("linux"):
            assert f"process {holder.pid}" in check.summary


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_storage_unwritable_directory_fails(keyring: Path) -> None:
    write_keyring(keyring, make_api_key())
    keyring.parent.chmod(0o500)
    try:
        check = offline()["storage"]
    finally:
        keyring.parent.chmod(0o700)
    assert check.status == "fail"
    assert "is not writable" in check.summary


# --- other tools, port, browser ---------------------------------------------------------


def test_other_tools_name_versions_and_what_they_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = {"anaconda-auth": "0.15.3", "anaconda-client": "1.13.0"}

    def version(name: str) -> str:
        if name not in versions:
            raise tools.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(tools.metadata, "version", version)
    check = tools.other_tools_check()
    assert check.status == "ok"
    assert "anaconda-auth 0.15.3 shares the login" in check.summary
    assert "anaconda-client 1.13.0 keeps its own login" in check.summary
    versions["anaconda-auth"] = "0.16.0"
    check = tools.other_tools_check()
    assert check.status == "warn"
    assert "known for 0.7 to 0.15" in check.summary


def test_busy_redirect_port_names_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        monkeypatch.setenv("ANACONDA_AUTH_REDIRECT_URI", f"http://127.0.0.1:{port}/auth/oidc")
        auto = offline()["redirect_port"]
        monkeypatch.setenv("ANACONDA_AUTH_LOGIN_FLOW", "browser")
        browser = offline()["redirect_port"]
        monkeypatch.setenv("ANACONDA_AUTH_LOGIN_FLOW", "device")
        device = offline()["redirect_port"]
    assert auto.status == "warn"  # auto logs in with a device code instead
    assert "auto logs in with a device code instead" in auto.summary
    assert browser.status == "fail"
    assert device.status == "ok"
    for check in (auto, browser):
        assert f"port {port}" in check.summary
        if sys.platform.startswith("linux"):
            assert f"process {os.getpid()}" in check.summary
        assert "ANACONDA_AUTH_EPHEMERAL_PORT=true" in (check.fix or "")


def test_free_redirect_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ANACONDA_AUTH_REDIRECT_URI", f"http://127.0.0.1:{port}/auth/oidc")
    assert offline()["redirect_port"].status == "ok"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display rules of Linux")
def test_no_browser_over_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 5555")
    check = offline()["browser"]
    assert check.status == "ok"
    assert "an SSH session without a forwarded display" in check.summary
    monkeypatch.setenv("ANACONDA_AUTH_LOGIN_FLOW", "browser")
    check = offline()["browser"]
    assert check.status == "fail"
    assert "anaconda-auth login --device" in (check.fix or "")


def test_browser_from_the_browser_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "/usr/bin/firefox %s")
    check = offline()["browser"]
    assert check.status == "ok"
    assert "/usr/bin/firefox" in check.summary


# --- the command ------------------------------------------------------------------------


def test_cli_json_never_prints_the_key_and_exits_8_on_a_warning(store: MemoryTokenStore) -> None:
    key = make_api_key(exp=dt.timedelta(days=3))
    store.save(TokenInfo(domain=DOMAIN, api_key=key))
    result = run("doctor", "--offline", "--json")
    assert result.exit_code == 8, result.output
    report = json.loads(result.stdout)
    assert [set(c) for c in report["checks"]] == [{"name", "status", "summary", "fix"}] * len(
        report["checks"]
    )
    assert by_status(report)["key"] == "warn"
    assert key not in result.stdout + result.stderr
    assert result.stderr.startswith("Error: 1 of 8 checks did not pass (key)")


def by_status(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def test_cli_exits_0_when_every_check_is_ok(store: MemoryTokenStore) -> None:
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(days=90))))
    result = run("doctor", "--offline")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok    settings")
    assert "fix:" not in result.stdout


def test_cli_text_shows_the_fix_under_a_failed_check(store: MemoryTokenStore) -> None:
    result = run("doctor", "--offline", "--auth-domain", "id.example.com")
    assert result.exit_code == 8
    assert "warn  key" in result.stdout
    assert "Not logged in to id.example.com" in result.stdout
    assert "fix: run 'anaconda-auth login'" in result.stdout


def test_status_suggests_doctor_when_something_looks_wrong(store: MemoryTokenStore) -> None:
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(days=90))))
    assert "anaconda-auth doctor" not in run("status").stdout
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(seconds=-5))))
    result = run("status")
    assert result.exit_code == 3
    assert "Something looks wrong: 'anaconda-auth doctor' checks" in result.stdout


def test_cli_at_a_site_checks_that_site(store: MemoryTokenStore) -> None:
    result = run("doctor", "--offline", "--json", "--at", "anaconda.com")
    report = json.loads(result.stdout)
    settings = next(c for c in report["checks"] if c["name"] == "settings")
    assert settings["summary"].startswith("site anaconda.com; ")
    key = next(c for c in report["checks"] if c["name"] == "key")
    assert "Not logged in to" in key["summary"]
    assert "id.anaconda.cloud" not in key["summary"]


# --- each check says what happened once, and what to do once ----------------------------


def test_a_damaged_keyring_is_one_finding_and_one_fix_in_the_key_check(keyring: Path) -> None:
    keyring.parent.mkdir(mode=0o700, parents=True)
    keyring.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "eyJ')
    keyring.chmod(0o600)
    check = offline()["key"]
    assert check.status == "fail"
    assert check.summary.startswith(f"The key for {DOMAIN} could not be read: the token file ")
    assert "could not be parsed" in check.summary
    assert "anaconda-auth login" not in check.summary  # that is the fix's line
    assert not check.summary.endswith(".")
    assert (check.fix or "").startswith("log in again with 'anaconda-auth login'")


@pytest.mark.parametrize(
    ("name", "value"),
    [("ANACONDA_AUTH_TIMEOUT", "soon"), ("ANACONDA_AUTH_SSL_VERIFY", "/no/such/bundle.pem")],
)
def test_a_refused_setting_reads_as_one_sentence(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    summary = offline()["settings"].summary
    assert ".;" not in summary
    assert summary.endswith("; doctor carries on with the default in its place")


def test_split_advice_halves_a_message_of_this_package() -> None:
    from anaconda_auth_async.diagnostics.report import split_advice

    assert split_advice("It broke; fix it.") == ("It broke", "fix it")
    assert split_advice("It broke.") == ("It broke", None)
    assert split_advice("It broke; fix it; then retry.") == ("It broke", "fix it; then retry")
