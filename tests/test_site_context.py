"""One `SiteContext` per public call: built once where a client or public function is
entered, passed down, and never rebuilt below (issue 25).

Counted by wrapping `SiteContext.__init__`; the structural test reads the package's source
and finds no function below the entry points that takes the old argument list again."""

from __future__ import annotations

import ast
import webbrowser
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_auth_async import (
    AnacondaAuth,
    AnacondaAuthSettings,
    create_api_key,
    doctor,
    is_logged_in,
    login,
    logout,
    store_api_key,
)
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.api_client.site_context import SiteContext, site_context
from anaconda_auth_async.logins.session import current_token
from anaconda_auth_async.logins.status_report import status_report
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform

PACKAGE = Path(__file__).resolve().parent.parent / "anaconda_auth_async"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[SiteContext]:
    """Every `SiteContext` made while the test runs."""
    contexts: list[SiteContext] = []
    original = SiteContext.__init__

    def counting(self: SiteContext, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        contexts.append(self)

    monkeypatch.setattr(SiteContext, "__init__", counting)
    return contexts


@pytest.fixture
def platform() -> FakePlatform:
    platform = FakePlatform()
    platform.route("GET", "/api/x", json={})
    return platform


def site_names(settings: AnacondaAuthSettings) -> Any:
    return site_context(settings).names


def stored(platform: FakePlatform) -> MemoryTokenStore:
    store = MemoryTokenStore()
    store.save(platform.token_info())
    return store


def test_a_sync_client_builds_one_context_and_its_requests_none(
    built: list[SiteContext], platform: FakePlatform
) -> None:
    store = stored(platform)
    with BaseClient(
        settings=platform.settings(), store=store, transport=platform.transport
    ) as client:
        assert len(built) == 1
        assert client.get("/api/x").status_code == 200
        assert client.get("/api/x").status_code == 200
        assert client.account["user"]
    assert len(built) == 1
    context = built[0]
    assert context.store is store  # the store given, read through the context
    assert context.settings is client.settings


@pytest.mark.anyio
async def test_an_async_client_builds_one_context_and_its_requests_none(
    built: list[SiteContext], platform: FakePlatform
) -> None:
    store = stored(platform)
    async with AsyncAuthClient(
        settings=platform.settings(), store=store, transport=platform.transport
    ) as client:
        assert len(built) == 1
        for _ in range(3):
            assert (await client.get("/api/x")).status_code == 200
        assert await client.email()
    assert len(built) == 1
    assert platform.requests[0].headers["Authorization"].startswith("Bearer ")


def test_anaconda_auth_builds_one_context(built: list[SiteContext]) -> None:
    auth = AnacondaAuth(api_key="k", site="anaconda.com", allowed_origins=["https://r.test"])
    assert len(built) == 1
    assert built[0].settings.site == "anaconda.com"
    assert ("https", b"r.test", 443) in built[0].allowed_origins
    assert auth.domain == built[0].auth_domain


def test_a_key_given_directly_never_makes_a_store_or_a_tls_context(
    platform: FakePlatform,
) -> None:
    with BaseClient(api_key=platform.api_key(), transport=platform.transport) as client:
        assert client.get("/api/x").status_code == 200
    context = site_context(AnacondaAuthSettings(), store=None)
    auth = AnacondaAuth(api_key=platform.api_key(), settings=context.settings)
    flow = auth.sync_auth_flow(httpx.Request("GET", "https://anaconda.cloud/api/x"))
    assert next(flow).headers["Authorization"].startswith("Bearer ")
    # cached_property keeps a part in the instance's __dict__ once it was worked out
    assert {"store", "transport", "names"}.isdisjoint(vars(auth._provider.context))


def test_auth_domain_chooses_the_stored_key_without_changing_the_settings() -> None:
    settings = AnacondaAuthSettings()
    context = site_context(settings, key_domain="id.example.test")
    assert context.settings is settings  # nothing to apply: the very object
    assert context.auth_domain == "id.example.test"
    assert context.names.read[0] == "id.example.test"


# --- the public functions of logins/ ---------------------------------------------------


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    """A platform every login talks to, with no browser of the machine's."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BROWSER", "/bin/false")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads BROWSER once
    platform = FakePlatform()
    with use_platform(platform):
        yield platform


@pytest.mark.anyio
async def test_each_public_function_builds_one_context(
    built: list[SiteContext], site: FakePlatform
) -> None:
    store = MemoryTokenStore()
    settings = site.settings(login_flow="device")
    calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("login", lambda: login(settings=settings, store=store, quiet=True)),
        ("is_logged_in", lambda: is_logged_in(settings=settings, store=store)),
        ("current_token", lambda: current_token(settings, store=store)),
        ("status_report", lambda: status_report(settings, store=store)),
        ("logout", lambda: logout(settings=settings, store=store)),
        (
            "store_api_key",
            lambda: store_api_key(
                site.api_key(), settings=settings, store=store, check_online=False
            ),
        ),
        ("create_api_key", lambda: create_api_key(settings=settings, quiet=True)),
        ("doctor", lambda: doctor(settings=settings, store=store, network=False)),
    ]
    results: dict[str, Any] = {}
    for name, call in calls:
        built.clear()
        results[name] = await call()
        assert len(built) == 1, name
        assert built[0].given_store is (None if name == "create_api_key" else store), name
        assert built[0].settings is settings, name  # nothing to apply: not resolved again
    # each did its work through the context: the login stored a key the others found
    assert results["is_logged_in"] is True
    assert results["current_token"][0].api_key == results["login"].api_key
    assert results["status_report"][0]["logged_in"] is True
    assert results["logout"] is True
    assert results["store_api_key"].api_key == store.load_site(site_names(settings)).api_key


@pytest.mark.anyio
async def test_store_api_key_checked_online_hands_its_settings_to_the_client(
    built: list[SiteContext], site: FakePlatform
) -> None:
    store = MemoryTokenStore()
    await store_api_key(site.api_key(), settings=site.settings(), store=store)
    # its own context, and the one the client it opens to ask the API builds (a public
    # entry of its own), from the very same settings object: nothing resolved twice
    assert len(built) == 2
    assert built[1].settings is built[0].settings


# --- the argument lists are gone below the entry points -------------------------------

OLD_ARGUMENTS = {"settings", "store", "site", "allowed_origins"}

BUILDERS = {
    "api_client/auth.py": {"__init__"},  # AnacondaAuth
    "api_client/clients.py": {"_prepare"},  # both clients' shared constructor
    "api_client/site_context.py": {"site_context"},
    "logins/login.py": {"login"},
    "logins/session.py": {"logout_report", "current_token", "is_logged_in"},
    "logins/machine_keys.py": {"store_api_key"},
    "logins/status_report.py": {"status_report"},
    "diagnostics/run_checks.py": {"doctor"},
}
"""Where a context is built from the public arguments (each calls `site_context`)."""

ENTRY_POINTS = {
    **BUILDERS,
    "api_client/clients.py": {"__init__", "_prepare"},  # the clients hand theirs to _prepare
    "logins/session.py": {"logout", *BUILDERS["logins/session.py"]},  # logout: logout_report
}
"""Functions that may take two or more of `OLD_ARGUMENTS`: the public faces (their
signatures stay as they were), and the builders."""

CHECKED = ("api_client", "logins", "diagnostics")


def functions_taking_the_old_list() -> list[str]:
    found = []
    for folder in CHECKED:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            module = str(path.relative_to(PACKAGE))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                arguments = node.args.args + node.args.kwonlyargs + node.args.posonlyargs
                taken = OLD_ARGUMENTS & {a.arg for a in arguments}
                if len(taken) < 2 or node.name in ENTRY_POINTS.get(module, ()):
                    continue
                found.append(f"{module}: {node.name}({', '.join(sorted(taken))})")
    return found


def test_no_function_below_the_entry_points_takes_the_old_argument_list() -> None:
    assert functions_taking_the_old_list() == []


def test_each_builder_builds_its_context() -> None:
    checked = []
    for module, names in BUILDERS.items():
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = {a.arg for a in node.args.args + node.args.kwonlyargs}
            if node.name in names and len(OLD_ARGUMENTS & arguments) >= 2:
                calls = {
                    sub.func.id
                    for sub in ast.walk(node)
                    if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                }
                assert calls & {"site_context", "resolve_settings"}, f"{module}: {node.name}"
                checked.append(f"{module}: {node.name}")
    assert len(checked) == sum(map(len, BUILDERS.values()))
