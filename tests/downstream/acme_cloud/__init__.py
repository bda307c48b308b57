"""acme_cloud: a tiny package built on anaconda-auth-async, as a service package would be.

It is the downstream example of the test kit: its tests (``tests/downstream``) use only
`anaconda_auth_async.testing` and its pytest plugin, never the SDK's internals.
"""

from __future__ import annotations

from collections.abc import Callable

from anaconda_auth_async.sync import BaseClient, is_logged_in, login

__all__ = ["AcmeClient", "greeting", "projects"]


class AcmeClient(BaseClient):
    """The client of the (imaginary) Acme service on Anaconda's cloud."""

    _user_agent = "acme-cloud/1.0"
    _api_version = "2024.01.01"

    def projects(self) -> list[str]:
        """The names of the account's Acme projects."""
        response = self.get("/api/acme/projects")
        response.raise_for_status()
        return [str(name) for name in response.json()["projects"]]


def greeting(*, open_browser: Callable[[str], bool] | None = None) -> str:
    """Greet the account holder, logging in first when nobody is (a function that needs a
    login). `open_browser` is passed to the login (tests complete it without a browser)."""
    if not is_logged_in():
        login(open_browser=open_browser, flow="browser", quiet=True)
    with AcmeClient() as client:
        return f"Hello, {client.name}!"


def projects() -> list[str]:
    """The account's projects (needs a login already)."""
    with AcmeClient() as client:
        return client.projects()
