"""One token load from the file store plus the expiry check, in microseconds.

A real file keyring in a temp dir (``ANACONDA_AUTH_KEYRING_PATH``), read through the
public API: ``KeyringTokenStore(settings).load(domain)`` then ``.expired``. Two cases:

- file unchanged: the same file read again and again (its mtime set in the past, as for
  a login made earlier); the store may answer from what it decoded last time, provided
  it checks the file has not changed. Baseline: ``json.loads(base64.b64decode(value))``
  of the entry, already in memory.
- file changed before every load (two logins alternate, written between loads and not
  timed), so every load must read, parse and decode. Baseline: read the file,
  ``json.loads`` it, then base64- and JSON-decode the entry: the least any file store
  must do.

Rounds alternate baseline and subject; each round times a batch of operations.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import _harness as h

SCRIPT = "store.py"


def _unchanged_round(op: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        op()
    return (time.perf_counter() - start) / n * 1e6


def _changed_round(op: Callable[[int], None], n: int, path: Path, versions: list[bytes]) -> float:
    total = 0
    for i in range(n):
        path.write_bytes(versions[i % 2])
        start = time.perf_counter_ns()
        op(i % 2)
        total += time.perf_counter_ns() - start
    return total / n / 1000


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The two store-load rows."""
    command = h.script_command(SCRIPT, quick)
    name_a = "one token load from the file store + expiry check (file unchanged)"
    name_b = "one token load from the file store + expiry check (file changed before each load)"
    reason = h.missing("anaconda_auth_async.storage.keyring_store")
    if reason:
        return [h.not_measured(name_a, reason, command), h.not_measured(name_b, reason, command)]
    from anaconda_auth_async import AnacondaAuthSettings, KeyringTokenStore

    rounds = rounds or (5 if quick else 9)
    n_a = 2_000 if quick else 20_000
    n_b = 300 if quick else 2_000
    domain = h.AUTH_DOMAIN
    rows = []
    with h.bench_home() as home, h.environ(home.env):
        path = home.keyring
        old = time.time() - 3600
        os.utime(path, (old, old))
        store = KeyringTokenStore(AnacondaAuthSettings())
        value = h.entry_value(home.key)
        expected = home.key

        def subject() -> None:
            token = store.load(domain)
            if token is None or token.api_key != expected or token.expired:
                raise AssertionError("the store did not return the stored, unexpired key")

        def baseline_memory() -> None:
            data = json.loads(base64.b64decode(value))
            if data["api_key"] != expected:
                raise AssertionError("bad entry")

        subject()
        s, b, ratio, per_round = h.interleave(
            rounds,
            lambda: _unchanged_round(baseline_memory, n_a),
            lambda: _unchanged_round(subject, n_a),
        )
        rows.append(
            h.Row(
                name=name_a,
                unit="us",
                subject=s,
                baseline=b,
                ratio=ratio,
                goal=h.Goal("abs_max", 25.0, "<= 25 us"),
                command=command,
                subject_label="KeyringTokenStore(settings).load(domain).expired",
                baseline_label="json.loads(base64.b64decode(entry))",
                rounds=per_round,
                note=f"{rounds} interleaved rounds of {n_a:,} loads; median",
            )
        )

        # Two versions of the file, differing in the stored key, written alternately.
        keys = [h.make_api_key(), h.make_api_key()]
        versions = [
            json.dumps({h.KEYRING_SERVICE: {domain: h.entry_value(k)}}).encode() for k in keys
        ]

        def subject_changed(index: int) -> None:
            token = store.load(domain)
            if token is None or token.api_key != keys[index] or token.expired:
                raise AssertionError("the store did not return the key just stored")

        def baseline_file(index: int) -> None:
            with open(path, "rb") as fp:
                data = json.loads(fp.read())
            entry = json.loads(base64.b64decode(data[h.KEYRING_SERVICE][domain]))
            if entry["api_key"] != keys[index]:
                raise AssertionError("bad entry")

        s, b, ratio, per_round = h.interleave(
            rounds,
            lambda: _changed_round(baseline_file, n_b, path, versions),
            lambda: _changed_round(subject_changed, n_b, path, versions),
        )
        rows.append(
            h.Row(
                name=name_b,
                unit="us",
                subject=s,
                baseline=b,
                ratio=ratio,
                goal=h.Goal("report", 0, "report (the 25 us goal is the row above's)"),
                command=command,
                subject_label="KeyringTokenStore(settings).load(domain).expired",
                baseline_label="open+read the file, json.loads, base64+json decode the entry",
                rounds=per_round,
                note=(
                    f"{rounds} interleaved rounds of {n_b:,} loads, the file rewritten "
                    "(untimed) before each; median"
                ),
            )
        )
    return rows


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
