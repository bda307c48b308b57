"""Request throughput of the API clients on loopback keep-alive, against bare httpx.

Subject and baseline talk to the same loopback server (`_server.py`, another process)
and send the same number of requests to the same path; the server counts every request
and the round fails unless all of them carried ``Authorization: Bearer <key>``. The
subject finds the key in a real file keyring (``ANACONDA_AUTH_KEYRING_PATH`` in a temp
HOME); the baseline is a bare httpx client given that header.

A round times one fresh client (built outside the timer, so neither side's SSL context
set-up is counted) from its first request, which opens the connection and, for the
subject, loads the key, to its last. Rounds alternate baseline and subject.

Also here: the server's ceiling (raw-socket clients, no HTTP library), which must be
well above the fastest client measured, so the server is not what is being measured.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import _harness as h
import _server
import httpx

SCRIPT = "clients.py"
PATH = "/api/account"


def _sync_round(client: httpx.Client, n: int) -> float:
    with client:
        start = time.perf_counter()
        for _ in range(n):
            response = client.get(PATH)
            if response.status_code != 200:
                raise AssertionError(f"unexpected status {response.status_code}")
        elapsed = time.perf_counter() - start
    return n / elapsed


async def _async_round(
    client: httpx.AsyncClient, n: int, concurrency: int, *, close: bool = True
) -> float:
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
    elapsed = time.perf_counter() - start
    if close:
        await client.aclose()
    return n / elapsed


async def _warm_round(
    client: httpx.AsyncClient,
    n: int,
    concurrency: int,
    server: _server.LoopbackServer,
    label: str,
    opened: list[tuple[int, int]],
) -> float:
    """Open `concurrency` connections first (slow requests, untimed), then time `n` GETs.

    Appends (connections opened by the warm-up, connections opened while timed) to `opened`.
    """
    async with client:
        await asyncio.gather(*(client.get("/slow") for _ in range(concurrency)))
        warm = server.check(concurrency, f"{label} warm-up").connections
        server.reset()
        rate = await _async_round(client, n, concurrency, close=False)
        opened.append((warm, server.stats().connections))
    return rate


def _counted(server: _server.LoopbackServer, n: int, label: str, run: Any) -> float:
    server.reset()
    rate = float(run())
    server.check(n, label)
    return rate


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """Ceiling, sync and async throughput rows."""
    reason = h.missing("anaconda_auth_async._client")
    rounds = rounds or (5 if quick else 7)
    n_sync = 600 if quick else 3000
    n_async = 1000 if quick else 5000
    concurrency = 100
    command = h.script_command(SCRIPT, quick)
    rows: list[h.Row] = []
    fastest = 0.0
    with h.bench_home() as home, h.environ(home.env), _server.LoopbackServer(key=home.key) as srv:
        header = {"Authorization": f"Bearer {home.key}"}
        ceiling = _server.ceiling(srv, total=20_000 if quick else 100_000)

        if reason is None:
            from anaconda_auth_async import AsyncAuthClient
            from anaconda_auth_async.sync import BaseClient

            def sync_base() -> httpx.Client:
                return httpx.Client(base_url=srv.url, headers=header)

            def sync_subject() -> httpx.Client:
                return BaseClient(base_url=srv.url)

            def async_base(**options: Any) -> httpx.AsyncClient:
                return httpx.AsyncClient(base_url=srv.url, headers=header, **options)

            def async_subject(**options: Any) -> httpx.AsyncClient:
                return AsyncAuthClient(base_url=srv.url, **options)

            # Warm-up (not counted): first use of each code path in this process.
            for make in (sync_base, sync_subject):
                _counted(srv, 50, "warm-up", lambda make=make: _sync_round(make(), 50))
            for amake in (async_base, async_subject):
                _counted(
                    srv,
                    200,
                    "warm-up",
                    lambda amake=amake: asyncio.run(_async_round(amake(), 200, concurrency)),
                )

            def sync_runner(make: Any, label: str) -> Any:
                def run() -> float:
                    client = make()
                    return _counted(srv, n_sync, label, lambda: _sync_round(client, n_sync))

                return run

            s, b, ratio, per_round = h.interleave(
                rounds,
                sync_runner(sync_base, "sync baseline"),
                sync_runner(sync_subject, "sync BaseClient"),
            )
            fastest = max(fastest, *(r["baseline"] for r in per_round))
            fastest = max(fastest, *(r["subject"] for r in per_round))
            rows.append(
                h.Row(
                    name=f"sync BaseClient, key from the store, {n_sync:,} sequential GETs",
                    unit="req/s",
                    subject=s,
                    baseline=b,
                    ratio=ratio,
                    goal=h.Goal("ratio_min", 0.98, ">= 0.98x"),
                    command=command,
                    subject_label="anaconda_auth_async.sync.BaseClient(base_url=...)",
                    baseline_label="httpx.Client(base_url=..., headers={Authorization})",
                    rounds=per_round,
                    note=f"{rounds} interleaved rounds, fresh client per round; median",
                )
            )

            connections: dict[str, list[int]] = {"async baseline": [], "AsyncAuthClient": []}

            def async_runner(make: Any, label: str) -> Any:
                def run() -> float:
                    client = make()
                    rate = _counted(
                        srv,
                        n_async,
                        label,
                        lambda: asyncio.run(_async_round(client, n_async, concurrency)),
                    )
                    connections[label].append(srv.stats().connections)
                    return rate

                return run

            s, b, ratio, per_round = h.interleave(
                rounds,
                async_runner(async_base, "async baseline"),
                async_runner(async_subject, "AsyncAuthClient"),
            )
            fastest = max(fastest, *(r["baseline"] for r in per_round))
            fastest = max(fastest, *(r["subject"] for r in per_round))
            rows.append(
                h.Row(
                    name=(
                        f"AsyncAuthClient, key from the store, {n_async:,} GETs "
                        f"at concurrency {concurrency}"
                    ),
                    unit="req/s",
                    subject=s,
                    baseline=b,
                    ratio=ratio,
                    goal=h.Goal("ratio_min", 0.98, ">= 0.98x"),
                    command=command,
                    subject_label="anaconda_auth_async.AsyncAuthClient(base_url=...) on asyncio",
                    baseline_label="httpx.AsyncClient(base_url=..., headers={Authorization})",
                    rounds=per_round,
                    note=(
                        f"{rounds} interleaved rounds, fresh client per round, httpx's default "
                        "pool limits; median. Connections opened per round: subject "
                        f"{sorted(connections['AsyncAuthClient'])}, baseline "
                        f"{sorted(connections['async baseline'])} (the pool's behaviour under "
                        "100 concurrent first requests varies, so see also the next row)"
                    ),
                )
            )

            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )

            opened: dict[str, list[tuple[int, int]]] = {"baseline": [], "subject": []}

            def warm_runner(make: Any, label: str, side: str) -> Any:
                def run() -> float:
                    client = make(limits=limits)
                    srv.reset()
                    rate = asyncio.run(
                        _warm_round(client, n_async, concurrency, srv, label, opened[side])
                    )
                    srv.check(n_async, label)
                    return rate

                return run

            s, b, ratio, per_round = h.interleave(
                rounds,
                warm_runner(async_base, "async baseline, warm pool", "baseline"),
                warm_runner(async_subject, "AsyncAuthClient, warm pool", "subject"),
            )
            fastest = max(fastest, *(r["baseline"] for r in per_round))
            fastest = max(fastest, *(r["subject"] for r in per_round))
            rows.append(
                h.Row(
                    name=(
                        f"AsyncAuthClient, {n_async:,} GETs at concurrency {concurrency}, "
                        f"pool warmed to {concurrency} connections"
                    ),
                    unit="req/s",
                    subject=s,
                    baseline=b,
                    ratio=ratio,
                    goal=h.Goal("ratio_min", 0.98, ">= 0.98x"),
                    command=command,
                    subject_label=(
                        "AsyncAuthClient(base_url=..., limits=Limits(100, 100)) on asyncio"
                    ),
                    baseline_label=(
                        "httpx.AsyncClient(base_url=..., headers={Authorization}, "
                        "limits=Limits(100, 100))"
                    ),
                    rounds=per_round,
                    note=(
                        f"{rounds} interleaved rounds; before the timer each client sends "
                        f"{concurrency} concurrent requests the server answers after 50 ms "
                        f"(so the key is loaded and ~{concurrency} connections are open), so "
                        "both sides run the timed requests on the same pool state; median. "
                        "Connections (opened by the warm-up, opened while timed) per round: "
                        f"subject {opened['subject']}, baseline {opened['baseline']}"
                    ),
                )
            )
        else:
            rows.append(h.not_measured("sync BaseClient throughput", reason, command))
            rows.append(h.not_measured("AsyncAuthClient throughput", reason, command))

    fastest = fastest or 1.0
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
            baseline_label="fastest round of any client above",
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
