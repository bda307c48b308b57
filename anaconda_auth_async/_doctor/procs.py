"""Who holds it: the doctor's name for `anaconda_auth_async._procs` (one owner, which the
login's "port in use" error uses too)."""

from __future__ import annotations

from .._procs import describe_process, lock_holder, port_holder

__all__ = ["describe_process", "lock_holder", "port_holder"]
