"""Warnings a person must see: shown by default, and pointing at the caller's own line.

`FutureWarning` is the category Python shows by default to the user of a script (a
`DeprecationWarning` is hidden outside ``__main__``). The line it points at is the first
frame outside this package and the libraries it runs in (httpx, anyio, the event loops),
so a warning raised in an httpx response hook names the line that sent the request.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["warn_at_caller"]

_INTERNAL = frozenset(
    {
        "anaconda_auth_async",
        "anyio",
        "asyncio",
        "concurrent",
        "contextlib",
        "functools",
        "httpcore",
        "httpx",
        "outcome",
        "sniffio",
        "threading",
        "trio",
    }
)


def warn_at_caller(message: str, category: type[Warning] = FutureWarning) -> None:
    """Warn with `category`, attributed to the first frame outside the internal modules."""
    frame = sys._getframe(1)
    level = 2
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _INTERNAL:
            break
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    else:
        level = 2  # no caller outside (another thread's event loop): point at our code
    warnings.warn(message, category, stacklevel=level)
