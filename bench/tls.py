"""The cost of a new HTTPS connection: a TLS handshake per request, against bare httpx.

A loopback TLS server (`_server.py` with a throwaway CA and a certificate for 127.0.0.1,
made here with ``cryptography``) answers every request with ``Connection: close`` and
closes the connection, so the same client must open a new TLS connection for each
request. The subject is ``BaseClient(ssl_verify=<CA bundle path>)`` (the SDK builds its
SSL context from the path); the baseline is ``httpx.Client(verify=<SSLContext built once
from the same bundle>)`` with the same header. The server checks that every request
carried the key and that each arrived on its own connection.

The figure is milliseconds per request (connect + handshake + GET); rounds alternate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from pathlib import Path

import _harness as h
import _server
import httpx

SCRIPT = "tls.py"


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anaconda-auth-async bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


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
    reason = h.missing("anaconda_auth_async._client")
    if reason:
        return [h.not_measured(name, reason, command)]
    from anaconda_auth_async.sync import BaseClient

    rounds = rounds or (5 if quick else 7)
    n = 40 if quick else 200
    with h.bench_home() as home, h.environ(home.env):
        ca, cert, key = make_certs(home.path)
        context = ssl.create_default_context(cafile=str(ca))
        header = {"Authorization": f"Bearer {home.key}"}
        with _server.LoopbackServer(key=home.key, cert=cert, keyfile=key, close_each=True) as srv:

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
