"""The ``other_tools`` check: other Anaconda packages in this environment and what each
means for the shared login (docs/storage.md has the rules)."""

from __future__ import annotations

from importlib import metadata

from .report import DoctorCheck

__all__ = ["other_tools_check"]

# package: (the versions whose storage rules docs/storage.md describes, what it means)
_TOOLS = {
    "anaconda-auth": (
        ((0, 7), (0, 15)),
        "shares the login (it reads and writes anaconda.com in the same keyring)",
    ),
    "anaconda-cloud-auth": (
        ((0, 1), (0, 6)),
        "shares the login (it reads and writes id.anaconda.cloud in the same keyring)",
    ),
    "anaconda-client": (
        None,
        "keeps its own login for anaconda.org ('anaconda login'), not this one",
    ),
}


def _release(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (ValueError, IndexError):
        return None


def other_tools_check() -> DoctorCheck:
    """Which of anaconda-auth, anaconda-cloud-auth and anaconda-client are installed, with
    versions; ``warn`` for a version whose storage rules are not known to match ours."""
    found, untested = [], []
    for name, (known, meaning) in _TOOLS.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(f"{name} {version} {meaning}")
        release = _release(version)
        if known is not None and (release is None or not known[0] <= release <= known[1]):
            low, high = (".".join(map(str, v)) for v in known)
            untested.append(f"{name} {version} (the shared rules are known for {low} to {high})")
    if not found:
        return DoctorCheck(
            "other_tools",
            "ok",
            "No other Anaconda login package (anaconda-auth, anaconda-cloud-auth, "
            "anaconda-client) is installed here",
        )
    summary = "; ".join(found)
    if untested:
        return DoctorCheck(
            "other_tools",
            "warn",
            f"{summary}; not known to share it the same way: {', '.join(untested)}",
            "if the tools disagree about the login, log in with one of them and check "
            "'anaconda-auth status'; docs/storage.md lists the rules",
        )
    return DoctorCheck("other_tools", "ok", summary)
