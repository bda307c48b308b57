"""`DoctorCheck`: one finding of ``doctor``, safe to print (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..foundation.public_names import publish
from ..foundation.safe_text import safe_line

__all__ = ["STATUSES", "DoctorCheck", "Status", "sentence_part", "split_advice"]

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")

_LIMIT = 600  # a summary may name a path, an issuer and a reason; still one line


@dataclass(frozen=True)
class DoctorCheck:
    """One check of `doctor`: its name, a status, one line of what it found and, when the
    status is not ``ok``, one line of what to do.

    `status` is ``ok``, ``warn`` (works, but something is likely to go wrong), ``fail``
    (a login or a request will fail) or ``skip`` (not checked, because another check
    failed first: the other check says why). `summary` and `fix` are single printable
    lines with anything shaped like a key redacted; neither ever holds an API key.
    """

    name: str
    status: Status
    summary: str
    fix: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        object.__setattr__(self, "summary", safe_line(self.summary, limit=_LIMIT))
        if self.fix is not None:
            object.__setattr__(self, "fix", safe_line(self.fix, limit=_LIMIT))

    @property
    def ok(self) -> bool:
        """True unless the status is ``warn`` or ``fail``."""
        return self.status in ("ok", "skip")

    def to_dict(self) -> dict[str, str | None]:
        """``{"name", "status", "summary", "fix"}`` (what ``doctor --json`` prints)."""
        return {"name": self.name, "status": self.status, "summary": self.summary, "fix": self.fix}


def split_advice(message: str) -> tuple[str, str | None]:
    """An error message of this package, ``<what happened>; <what to do>.``, as its two
    halves without the final period (the advice None when it has none): a check's summary
    says what happened and its fix what to do, each once."""
    what, sep, advice = message.partition("; ")
    return what.rstrip("."), (advice.rstrip(".") or None) if sep else None


def sentence_part(text: str) -> str:
    """`text` to follow a colon mid-sentence: its first letter lower-cased, unless the
    first word is an acronym or a name (``API``, ``TLS``)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
