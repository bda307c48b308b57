"""Panel, proven: ``panel serve --oauth-provider anaconda_cloud`` against the e2e provider.

`run_panel` (in ``e2e_harness``) starts a real Panel server whose ``anaconda_cloud`` login
handler reads the provider's discovery document; the scripted browser opens the app, is
sent to the provider, logs in and consents, and comes back to the app, which names the user.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import E2E
from e2e_harness import PanelServer, run_panel
from test_e2e_chromium import final_page, start_chromium

pytest.importorskip("panel")

pytestmark = pytest.mark.e2e


@pytest.fixture
def panel_server(e2e: E2E, tmp_path: Path) -> Iterator[PanelServer]:
    """A Panel server using the ``anaconda_cloud`` provider of this e2e run."""
    with run_panel(tmp_path / "panel", e2e.subprocess_env()) as server:
        yield server


def test_panel_app_login_shows_the_user(e2e: E2E, panel_server: PanelServer) -> None:
    record = e2e.run_browser(panel_server.app_url, mode="approve")
    assert record["error"] is None, (record, panel_server.log_text())
    assert record["final_status"] == 200, record
    assert record["final_title"] == "Logged in as ada@example.com", record
    assert record["final_url"].startswith(panel_server.app_url)
    assert record["actions"] == ["login as ada", "grant consent"]
    auth = [r["path"] for r in e2e.server.requests(server="auth")]
    assert "/.well-known/openid-configuration" in auth
    assert "/token" in auth  # Panel exchanged the code at the discovered token endpoint


def test_panel_app_login_in_chromium_shows_the_user(
    chromium: E2E, panel_server: PanelServer
) -> None:
    # The same login in headless Chromium: the page Panel renders (by script, over its
    # websocket, in shadow DOM) must show the user's name; the screenshot keeps the look.
    chromium.setenv("E2E_BROWSER_EXPECT", "Logged in as ada@example.com")
    start_chromium(chromium, panel_server.app_url, mode="approve")
    record = final_page(chromium)
    assert record["actions"] == ["login as ada", "grant consent"], panel_server.log_text()
    assert record["final_url"].startswith(panel_server.app_url), record
    assert record["final_title"] == "Logged in as ada@example.com", record
    assert "Logged in as ada@example.com" in record["final_text"], record
