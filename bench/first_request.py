"""The first request of a fresh process: event-loop stall, and store reads under load.

Stall: each sample is a new interpreter that imports what the caller would (``httpx``;
plus ``from anaconda_auth_async import AsyncAuthClient`` for the subject) and starts an
asyncio loop with a ticker task that sleeps 1 ms at a time. Once the ticker runs, it
builds a client, sends one GET to the loopback server and closes the client; the figure
is the longest gap between two ticks during that window (an idle loop shows ~1.1 ms).
The subject reads its key from a real file keyring; the baseline is a bare
``httpx.AsyncClient`` with the header. Samples alternate baseline and subject.

Store reads: a fresh process sends 1,000 concurrent first requests through one
`AsyncAuthClient` whose store is a real `KeyringTokenStore` with its ``load_site`` wrapped to
count calls; the goal is exactly one read of the site's key (on asyncio and on trio): one
trip to the store, which looks up each name the key may be stored under (docs/storage.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import _harness as h
import _server

SCRIPT = "first_request.py"

_STALL = """
import asyncio, json, sys, time
import httpx
SUBJECT = {subject}
if SUBJECT:
    from anaconda_auth_async import AsyncAuthClient

URL, KEY, BUILD_IN_WINDOW = {url!r}, {key!r}, {build_in_window}

def build():
    if SUBJECT:
        return AsyncAuthClient(base_url=URL)
    return httpx.AsyncClient(base_url=URL, headers={{"Authorization": "Bearer " + KEY}})

async def main():
    ticks = []
    stop = False
    async def ticker():
        while not stop:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)
    client = None if BUILD_IN_WINDOW else build()
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    begin = time.perf_counter()
    if client is None:
        client = build()
    async with client:
        response = await client.get("/api/account")
    end = time.perf_counter()
    await asyncio.sleep(0.005)
    stop = True
    await task
    assert response.status_code == 200, response.status_code
    first_after = next((t for t in ticks if t >= end), ticks[-1])
    inside = [t for t in ticks if begin <= t <= first_after]
    prev = max(t for t in ticks if t < begin)
    points = [prev, *inside]
    gap = max(b - a for a, b in zip(points, points[1:]))
    print(json.dumps({{"gap_ms": gap * 1000, "request_ms": (end - begin) * 1000}}))

asyncio.run(main())
"""

_SINGLE_FLIGHT = """
import json, sys
import anyio
from anaconda_auth_async import AnacondaAuthSettings
from anaconda_auth_async import AsyncAuthClient
from anaconda_auth_async import KeyringTokenStore
from anaconda_auth_async.testing import use_store

URL, N, BACKEND = {url!r}, {n}, {backend!r}
store = KeyringTokenStore(AnacondaAuthSettings())
calls = {{"load_site": 0, "load": 0}}
_load_site, _load = store.load_site, store.load
def load_site(names):
    calls["load_site"] += 1
    return _load_site(names)
def load(domain):
    calls["load"] += 1
    return _load(domain)
store.load_site, store.load = load_site, load

async def main():
    statuses = []
    with use_store(store):
        async with AsyncAuthClient(base_url=URL) as client:
            async def one():
                response = await client.get("/api/account")
                statuses.append(response.status_code)
            async with anyio.create_task_group() as tg:
                for _ in range(N):
                    tg.start_soon(one)
    assert statuses == [200] * N, sorted(set(statuses))
    print(json.dumps(calls))

anyio.run(main, backend=BACKEND)
"""


def _run(code: str, env: dict[str, str], cwd: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"sample failed: {out.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _stall_row(
    srv: _server.LoopbackServer,
    codes: dict[str, str],
    env: dict[str, str],
    cwd: str,
    rounds: int,
    reps: int,
    name: str,
    window: str,
    command: str,
) -> h.Row:
    extra: dict[str, list[float]] = {"baseline": [], "subject": []}

    def sample(side: str) -> float:
        srv.reset()
        result = _run(codes[side], env, cwd)
        srv.check(1, f"stall {side}")
        extra[side].append(result["request_ms"])
        return result["gap_ms"]

    sample("baseline")  # warm bytecode caches
    sample("subject")
    s, b, ratio, per_round = h.interleave(
        rounds, lambda: sample("baseline"), lambda: sample("subject"), reps=reps
    )
    return h.Row(
        name=name,
        unit="ms",
        subject=s,
        baseline=b,
        ratio=ratio,
        goal=h.Goal("diff_max", 2.0, "<= bare + 2 ms"),
        command=command,
        subject_label="AsyncAuthClient(base_url=...), key in the file keyring",
        baseline_label="httpx.AsyncClient(base_url=..., headers={Authorization})",
        rounds=per_round,
        note=(
            f"{window}; {rounds} rounds x {reps} fresh processes each; median. Window length "
            f"(median): subject {h.median(extra['subject']):.1f} ms, baseline "
            f"{h.median(extra['baseline']):.1f} ms"
        ),
    )


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The stall row and the store-reads rows."""
    command = h.script_command(SCRIPT, quick)
    reason = h.missing("anaconda_auth_async.api_client.clients", "anaconda_auth_async.testing")
    if reason:
        return [
            h.not_measured("event-loop stall during the first request", reason, command),
            h.not_measured("store reads for 1,000 concurrent first requests", reason, command),
        ]
    rounds = rounds or (5 if quick else 7)
    reps = 1 if quick else 3
    rows = []
    with h.bench_home() as home, _server.LoopbackServer(key=home.key) as srv:
        env, cwd = home.env, str(home.path)
        # the key is sent only to the API domain it was created at: this server
        h.write_keyring(home.keyring, home.key, api_domain=f"127.0.0.1:{srv.port}")
        variants = {
            False: (
                "longest event-loop stall during the first request (1 ms ticker)",
                "client built before the ticker starts; window = first GET + close",
            ),
            True: (
                "longest event-loop stall, client construction + first request (1 ms ticker)",
                "window = build the client, first GET, close",
            ),
        }
        for build_in_window, (name, window) in variants.items():
            codes = {
                side: _STALL.format(
                    subject=side == "subject",
                    url=srv.url,
                    key=home.key,
                    build_in_window=build_in_window,
                )
                for side in ("baseline", "subject")
            }
            rows.append(_stall_row(srv, codes, env, cwd, rounds, reps, name, window, command))

        n = 1000
        for backend in ("asyncio", "trio"):
            srv.reset()
            result = _run(_SINGLE_FLIGHT.format(url=srv.url, n=n, backend=backend), env, cwd)
            srv.check(n, f"single flight on {backend}")
            rows.append(
                h.Row(
                    name=f"store reads for {n:,} concurrent first requests ({backend})",
                    unit="reads",
                    subject=result["load_site"],
                    goal=h.Goal("exact", 1, "exactly 1"),
                    command=command,
                    subject_label=(
                        "one AsyncAuthClient, 1,000 concurrent GETs, KeyringTokenStore.load_site "
                        "wrapped to count calls"
                    ),
                    note=(
                        "every request verified by the server to carry the key; the one site "
                        f"read looked up {int(result['load'])} entry names (the names a site's "
                        "key may be stored under, docs/storage.md)"
                    ),
                )
            )
    return rows


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
