"""Guarded conversions of values from outside: numbers, timestamps and nesting depth.

Every number, timestamp or nested value read from a server's JSON, a stored entry, a
``.env`` file or ``config.toml`` is converted here, where it enters, into a plain finite
number (or a `ValueError` with a short reason that the caller turns into its own error).
Pure, standard library only. Why: docs/decisions.md, "Outside values are converted where
they enter".
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_TIMESTAMP",
    "check_depth",
    "clamp_timestamp",
    "finite_number",
    "timestamp",
]

MAX_DIGITS = 20
"""Digits a number from outside may have (a timestamp in nanoseconds has 19)."""
MAX_TIMESTAMP = 253402300799.0
"""9999-12-31T23:59:59Z: the last second `datetime` can represent."""
MAX_DEPTH = 32
"""Nesting a structure from outside may have (JSON, TOML, a setting's value)."""

# A decimal number in ASCII only: float() also accepts "٣", "1_000", "inf" and "nan".
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def finite_number(
    value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """`value` (an int, a float or a decimal string) as a finite float within the bounds.

    Raises `ValueError` for a bool, another type, a string that is not a plain ASCII
    decimal number, more than `MAX_DIGITS` digits, NaN, an infinity, or a value outside
    [`minimum`, `maximum`].
    """
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        if value.bit_length() > 70:  # about 21 digits: checked before any conversion
            raise ValueError("the number has too many digits")
        number = float(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_DIGITS + 8 or not _NUMBER.fullmatch(text):
            raise ValueError("expected a decimal number")
        mantissa = text.lower().partition("e")[0]
        if sum(c in "0123456789" for c in mantissa) > MAX_DIGITS:
            raise ValueError("the number has too many digits")
        number = float(text)
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("the number is not finite")
    if minimum is not None and number < minimum:
        raise ValueError(f"the number is below {minimum:g}")
    if maximum is not None and number > maximum:
        raise ValueError(f"the number is above {maximum:g}")
    return number


def timestamp(value: Any) -> float:
    """`value` as seconds since the epoch that `datetime` can show (years 1 to 9999 UTC,
    1970 onwards): a JWT's ``exp``, a stored ``expires_at``. Raises `ValueError`."""
    return finite_number(value, minimum=0, maximum=MAX_TIMESTAMP)


def clamp_timestamp(value: Any) -> float | None:
    """`value` as seconds since the epoch, clamped to what `datetime` can show (1970 to
    9999 UTC): a JWT's ``exp`` of ``1e20`` is "9999-12-31", one of ``-1e20`` is long past.
    None for anything that is not a finite number (a bool, a string, NaN, infinity, more
    than `MAX_DIGITS` digits), so a date read from outside can always be shown and
    compared."""
    if not isinstance(value, int | float):
        return None
    try:
        number = finite_number(value)
    except ValueError:
        return None
    return min(max(number, 0.0), MAX_TIMESTAMP)


def check_depth(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise `ValueError` if the dicts and lists in `value` nest deeper than `max_depth`.

    Iterative, so a structure nested 100,000 deep is refused without recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)
