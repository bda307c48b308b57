"""The ``Min-Api-Version`` check: warn once per client when the server needs a newer API.

The warning is a `FutureWarning`, which Python shows by default, attributed to the line
that sent the request (not to httpx's hook machinery).

Versions are compared with `semver`, tolerating the date-like versions the Anaconda API
uses (``2023.01.01``: leading zeros are dropped, minor and patch are optional). A value
that cannot be parsed is ignored. The check only runs for clients that have an API
version, and only parses a header value it has not seen before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..foundation.safe_text import safe_line
from ..foundation.warnings import warn_at_caller

if TYPE_CHECKING:
    import httpx
    from semver.version import Version  # semver is needed only when a server sends Min-Api-Version

__all__ = ["MinApiVersion", "parse_version"]

MAX_VERSION_LENGTH = 64
"""Characters a version may have (``2023.01.01``, ``1.2.3-rc.1+build.5``)."""


class MinApiVersion:
    """Warns once per client when a response's ``Min-Api-Version`` is above its version."""

    __slots__ = ("_client", "_last", "_text", "warned")

    def __init__(self, text: str, version: Version) -> None:
        self._text = text
        self._client = version
        self._last: str | None = None
        self.warned = False

    @classmethod
    def for_client(cls, api_version: str | None) -> MinApiVersion | None:
        """A checker for this client version, or None when there is nothing to compare."""
        version = parse_version(api_version) if api_version else None
        return None if api_version is None or version is None else cls(api_version, version)

    def __call__(self, response: httpx.Response) -> None:
        if self.warned:
            return
        minimum = response.headers.get("Min-Api-Version")
        if minimum is None or minimum == self._last:
            return
        self._last = minimum
        parsed = parse_version(minimum)
        if parsed is not None and self._client < parsed:
            self.warned = True
            warn_at_caller(
                f"This client uses API version {self._text}, but {response.url.host} "
                f"requires at least {safe_line(minimum, limit=40)}; update the package "
                "that provides the client.",
                FutureWarning,
            )


def parse_version(text: str) -> Version | None:
    """A semver `Version`, tolerant of dates like ``2023.01.01``; None when unparsable."""
    from semver.version import Version  # semver is needed only when a server sends Min-Api-Version

    text = text.strip()
    if len(text) > MAX_VERSION_LENGTH:
        return None  # a 5,000-digit part is no version (int() of it raises ValueError)
    end = min((i for i in (text.find("-"), text.find("+")) if i != -1), default=len(text))
    parts = text[:end].split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    normalized = ".".join(str(int(p)) for p in parts) + text[end:]
    try:
        return Version.parse(normalized, optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None
