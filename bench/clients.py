"""Request throughput of the API clients on loopback keep-alive, against bare httpx.

Subject and baseline talk to the same loopback server (`_server.py`, another process)
and send the same number of requests to the same path; the server counts every request
and the round fails unless all of them carried ``Authorization: Bearer <key>``. The
subject finds the key in a real file keyring (``ANACONDA_AUTH_KEYRING_PATH`` in a temp
HOME); the baseline is a bare httpx client given that header.

A round times one fresh client (built outside the timer, so neither side's SSL context
set-up is counted) from its first request, which opens the connection and, for the
subject, loads the key, to its last. Rounds alternate baseline and subject. Each row's
note also gives the client process's CPU time per request (less disturbed by other load
on the machine than wall time) and how many connections the server saw.

Rows: the server's ceiling (raw-socket clients, no HTTP library), which must be well
above the fastest client measured, so the server is not what is being measured; sync
`BaseClient`; `AsyncAuthClient` from a cold pool (the measure as specified); and
`AsyncAuthClient` with both pools limited to 10 connections, which both sides fill, so
the two run on the same pool state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import _harness as h
import _server
import httpx

SCRIPT = "clients.py"
PATH = "/api/account"
CONCURRENCY = 100


def _sync_round(client: httpx.Client, n: int) -> float:
    with client:
        start = time.perf_counter()
        for _ in range(n):
            response = client.get(PATH)
            if response.status_code != 200:
                raise AssertionError(f"unexpected status {response.status_code}")
        elapsed = time.perf_counter() - start
    return n / elapsed


async def _async_requests(client: httpx.AsyncClient, n: int, concurrency: int) -> float:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await client.get(PATH)
            if response.status_code != 200:
                raise AssertionError(f"unexpected status {response.status_code}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def _cold_round(client: httpx.AsyncClient, n: int) -> float:
    async with client:
        return await _async_requests(client, n, CONCURRENCY)


@dataclass
class _Side:
    """One side of a row: makes a client and runs a round; keeps per-round extras."""

    label: str
    make: Callable[[], Any]
    run: Callable[[Any], float]
    n: int
    server: _server.LoopbackServer
    cpu_us: list[float] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)

    def __call__(self) -> float:
        client = self.make()
        self.server.reset()
        cpu = time.process_time()
        rate = self.run(client)
        self.cpu_us.append((time.process_time() - cpu) / self.n * 1e6)
        stats = self.server.check(self.n, self.label)
        self.connections.append(stats.connections)
        return rate


def _row(
    name: str,
    rounds: int,
    baseline: _Side,
    subject: _Side,
    labels: tuple[str, str],
    note: str,
    command: str,
) -> h.Row:
    s, b, ratio, per_round = h.interleave(rounds, baseline, subject)
    return h.Row(
        name=name,
        unit="req/s",
        subject=s,
        baseline=b,
        ratio=ratio,
        goal=h.Goal("ratio_min", 0.98, ">= 0.98x"),
        command=command,
        subject_label=labels[0],
        baseline_label=labels[1],
        rounds=per_round,
        note=(
            f"{note}; {rounds} interleaved rounds, fresh client per round; median. Client CPU "
            f"per request (median): subject {h.median(subject.cpu_us):.0f} us, baseline "
            f"{h.median(baseline.cpu_us):.0f} us. Connections the server saw per round: "
            f"subject {subject.connections}, baseline {baseline.connections}"
        ),
    )


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """Ceiling, sync and async throughput rows."""
    command = h.script_command(SCRIPT, quick)
    reason = h.missing("anaconda_auth_async.api_client.clients")
    sync_rounds = rounds or (5 if quick else 11)  # ~1 s a side: cheap, and wall time is noisy
    cold_rounds = rounds or 5  # 5,000 GETs at ~1,000/s: ~5 s a side
    pooled_rounds = rounds or (5 if quick else 7)
    n_sync = 600 if quick else 3000
    n_async = 1000 if quick else 5000
    n_pooled = 1000 if quick else 3000
    pool = 10
    rows: list[h.Row] = []
    with h.bench_home() as home, h.environ(home.env), _server.LoopbackServer(key=home.key) as srv:
        header = {"Authorization": f"Bearer {home.key}"}
        # the key is sent only to the API domain it was created at: this server
        h.write_keyring(home.keyring, home.key, api_domain=f"127.0.0.1:{srv.port}")
        ceiling = _server.ceiling(srv, total=20_000 if quick else 100_000)
        if reason is None:
            from anaconda_auth_async import AsyncAuthClient
            from anaconda_auth_async.sync import BaseClient

            limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
            makers: dict[str, Callable[[], Any]] = {
                "sync baseline": lambda: httpx.Client(base_url=srv.url, headers=header),
                "sync subject": lambda: BaseClient(base_url=srv.url),
                "async baseline": lambda: httpx.AsyncClient(base_url=srv.url, headers=header),
                "async subject": lambda: AsyncAuthClient(base_url=srv.url),
                "pooled baseline": lambda: httpx.AsyncClient(
                    base_url=srv.url, headers=header, limits=limits
                ),
                "pooled subject": lambda: AsyncAuthClient(base_url=srv.url, limits=limits),
            }

            def sync_run(n: int) -> Callable[[Any], float]:
                return lambda client: _sync_round(client, n)

            def cold_run(n: int) -> Callable[[Any], float]:
                return lambda client: asyncio.run(_cold_round(client, n))

            # Warm-up, not counted: the first use of every code path in this process.
            for kind, run in (("sync", sync_run), ("async", cold_run), ("pooled", cold_run)):
                for side in ("baseline", "subject"):
                    name = f"{kind} {side}"
                    _Side(f"warm-up {name}", makers[name], run(100), 100, srv)()

            def sides(kind: str, run: Callable[[Any], float], n: int) -> tuple[_Side, _Side]:
                return (
                    _Side(f"{kind} baseline", makers[f"{kind} baseline"], run, n, srv),
                    _Side(f"{kind} subject", makers[f"{kind} subject"], run, n, srv),
                )

            rows.append(
                _row(
                    f"sync BaseClient, key from the store, {n_sync:,} sequential GETs",
                    sync_rounds,
                    *sides("sync", sync_run(n_sync), n_sync),
                    (
                        "anaconda_auth_async.sync.BaseClient(base_url=...)",
                        "httpx.Client(base_url=..., headers={Authorization})",
                    ),
                    "one keep-alive connection",
                    command,
                )
            )
            rows.append(
                _row(
                    f"AsyncAuthClient, key from the store, {n_async:,} GETs at concurrency "
                    f"{CONCURRENCY}",
                    cold_rounds,
                    *sides("async", cold_run(n_async), n_async),
                    (
                        "anaconda_auth_async.AsyncAuthClient(base_url=...) on asyncio",
                        "httpx.AsyncClient(base_url=..., headers={Authorization})",
                    ),
                    "httpx's default pool limits on both sides; how many connections the "
                    "pool opens under 100 concurrent first requests varies (the subject's "
                    "first requests wait for the key, so its pool tends to grow less), and "
                    "that alone moves throughput, so see also the next row",
                    command,
                )
            )
            pooled = sides("pooled", cold_run(n_pooled), n_pooled)
            rows.append(
                _row(
                    f"AsyncAuthClient, {n_pooled:,} GETs at concurrency {CONCURRENCY}, "
                    f"both pools limited to {pool} connections",
                    pooled_rounds,
                    *pooled,
                    (
                        f"AsyncAuthClient(base_url=..., limits=Limits({pool}, {pool})) on asyncio",
                        "httpx.AsyncClient(base_url=..., headers={Authorization}, "
                        f"limits=Limits({pool}, {pool}))",
                    ),
                    f"both sides fill their {pool} connections, so they run on the same "
                    "pool state and the ratio shows the client's own cost",
                    command,
                )
            )
            if any(c != pool for side in pooled for c in side.connections):
                raise AssertionError(f"a pooled round did not use exactly {pool} connections")
        else:
            rows.append(h.not_measured("sync BaseClient throughput", reason, command))
            rows.append(h.not_measured("AsyncAuthClient throughput", reason, command))

    fastest = max(
        [1.0]
        + [r["subject"] for row in rows for r in row.rounds]
        + [r["baseline"] for row in rows for r in row.rounds]
    )
    rows.insert(
        0,
        h.Row(
            name="loopback server ceiling (raw-socket pipelined clients)",
            unit="req/s",
            subject=ceiling["pipelined"],
            baseline=fastest,
            ratio=ceiling["pipelined"] / fastest,
            goal=h.Goal("ratio_min", 3.0, ">= 3x the fastest client measured"),
            command=command,
            subject_label="4 connections x 100 pipelined requests, raw sockets",
            baseline_label="fastest round of any client below",
            note=(
                f"one request at a time on one raw keep-alive socket: "
                f"{ceiling['sequential']:,.0f} req/s"
            ),
        ),
    )
    return rows


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
