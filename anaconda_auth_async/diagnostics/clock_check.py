"""The ``clock`` check: this computer's clock against the servers' ``Date`` headers.

An ID token is refused when the clock is off by more than `ID_TOKEN_LEEWAY` seconds (its
``nbf``, or its ``exp`` once the token's lifetime is used up), so that is where the check
fails; it warns from half of it, while a login still works but has little margin left.
A ``Date`` header has one-second resolution and the request takes time, so differences
of a couple of seconds mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..logins.id_token import ID_TOKEN_LEEWAY
from .report import DoctorCheck

__all__ = ["FAIL_SECONDS", "WARN_SECONDS", "clock_check"]

FAIL_SECONDS = float(ID_TOKEN_LEEWAY)
WARN_SECONDS = FAIL_SECONDS / 2


def _amount(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def clock_check(skews: Sequence[tuple[str, float]]) -> DoctorCheck:
    """From ``(host, server time minus local time)`` pairs: ok, warn or fail."""
    if not skews:
        return DoctorCheck(
            "clock", "skip", "No server answered with a Date header (see the domain checks)"
        )
    host, skew = max(skews, key=lambda pair: abs(pair[1]))
    if abs(skew) <= WARN_SECONDS:
        hosts = ", ".join(h for h, _ in skews)
        return DoctorCheck(
            "clock", "ok", f"This computer's clock agrees with {hosts} (within {_amount(skew)})"
        )
    direction = "behind" if skew > 0 else "ahead of"
    summary = f"This computer's clock is {_amount(skew)} {direction} {host}'s"
    fix = (
        "set the clock right: turn on network time (timedatectl set-ntp true; on macOS and "
        "Windows, 'set time automatically')"
    )
    if len(skews) > 1 and abs(skews[0][1] - skews[1][1]) > WARN_SECONDS:
        summary += f", but the servers disagree with each other ({_list(skews)})"
        fix = "if only one server disagrees, its clock is wrong, not this one; else " + fix
    if abs(skew) > FAIL_SECONDS:
        return DoctorCheck(
            "clock",
            "fail",
            f"{summary}: past the {ID_TOKEN_LEEWAY} s an ID token allows, so a login fails",
            fix,
        )
    return DoctorCheck(
        "clock",
        "warn",
        f"{summary}: within the {ID_TOKEN_LEEWAY} s an ID token allows, barely",
        fix,
    )


def _list(skews: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{h} {s:+.0f} s" for h, s in skews)
