"""The cost of a new HTTPS connection: a TLS handshake per request, against bare httpx.

A loopback TLS server (`_server.py` with a throwaway CA and a certificate for 127.0.0.1,
made by the e2e harness's ``make_pki``) answers every request with ``Connection: close`` and
closes the connection, so the same client must open a new TLS connection for each
request. The subject is ``BaseClient(ssl_verify=<CA bundle path>)`` (the SDK builds its
SSL context from the path); the baseline is ``httpx.Client(verify=<SSLContext built once
from the same bundle>)`` with the same header. The server checks that every request
carried the key and that each arrived on its own connection.

The figure is milliseconds per request (connect + handshake + GET); rounds alternate.
"""

from __future__ import annotations

import ssl
import time

import _harness as h
import _server
import httpx

SCRIPT = "tls.py"


def _round(client: httpx.Client, n: int) -> float:
    with client:
        start = time.perf_counter()
        for _ in range(n):
            response = client.get("/api/account")
            if response.status_code != 200:
                raise AssertionError(f"unexpected status {response.status_code}")
        elapsed = time.perf_counter() - start
    return elapsed / n * 1000


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The new-HTTPS-connection row."""
    name = "cost of a new HTTPS connection (loopback TLS, throwaway CA)"
    command = h.script_command(SCRIPT, quick)
    reason = h.missing("anaconda_auth_async.api_client.clients")
    if reason:
        return [h.not_measured(name, reason, command)]
    from anaconda_auth_async.sync import BaseClient

    rounds = rounds or (5 if quick else 7)
    n = 40 if quick else 200
    with h.bench_home() as home, h.environ(home.env):
        pki = h.e2e_harness().make_pki(home.path / "pki")
        ca, cert, key = pki.ca_cert, pki.server_cert, pki.server_key
        context = ssl.create_default_context(cafile=str(ca))
        header = {"Authorization": f"Bearer {home.key}"}
        with _server.LoopbackServer(key=home.key, cert=cert, keyfile=key, close_each=True) as srv:
            # the key is sent only to the API domain it was created at: this server
            h.write_keyring(home.keyring, home.key, api_domain=f"127.0.0.1:{srv.port}")

            def counted(make: object, label: str, count: int) -> float:
                assert callable(make)
                client = make()
                srv.reset()
                figure = _round(client, count)
                stats = srv.check(count, label)
                if stats.connections != count:
                    raise AssertionError(
                        f"{label}: {count} requests came on {stats.connections} connections; "
                        "each must open its own"
                    )
                return figure

            def baseline() -> httpx.Client:
                return httpx.Client(base_url=srv.url, verify=context, headers=header)

            def subject() -> httpx.Client:
                return BaseClient(base_url=srv.url, ssl_verify=str(ca))

            counted(baseline, "warm-up", 5)
            counted(subject, "warm-up", 5)
            s, b, ratio, per_round = h.interleave(
                rounds,
                lambda: counted(baseline, "TLS baseline", n),
                lambda: counted(subject, "TLS BaseClient", n),
            )
    return [
        h.Row(
            name=name,
            unit="ms",
            subject=s,
            baseline=b,
            ratio=ratio,
            goal=h.Goal("ratio_max", 1.1, "<= 1.1x"),
            command=command,
            subject_label="BaseClient(base_url=https://127.0.0.1:..., ssl_verify=<CA path>)",
            baseline_label="httpx.Client(verify=<SSLContext built once>, headers={Authorization})",
            rounds=per_round,
            note=(
                f"ms per request, each on a new TLS connection (server closes after each); "
                f"{rounds} interleaved rounds of {n} requests, fresh client per round; median"
            ),
        )
    ]


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
