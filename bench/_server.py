"""The loopback HTTP/1.1 server the client benchmarks talk to, and its ceiling.

Run as a separate process (``python bench/_server.py --key KEY``): a bare asyncio
`Protocol` (no framework) answering every request with a fixed 200 JSON body over
keep-alive connections, optionally over TLS. It counts requests that carried exactly
``Authorization: Bearer KEY`` and requests that did not; the benchmarks reset the
counters before a round and fail the round if any request lacked the key or the count
is not the number of requests the client made.

Control is over the process's stdin/stdout (one command a line: ``stats``, ``reset``),
so no control request is ever counted, and the server exits when its parent goes away
(stdin closes) or after ``--lifetime`` seconds, whichever comes first.

`LoopbackServer` starts and drives it from the benchmark; `ceiling()` measures how many
requests a second it can answer with raw-socket clients (pipelined and sequential), to
show that it is not what limits the clients under test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BODY = b'{"ok": true, "user": {"id": "bench", "name": "Benchmark"}}'
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(BODY)
RESPONSE = _HEAD + b"\r\n" + BODY
RESPONSE_CLOSE = _HEAD + b"Connection: close\r\n\r\n" + BODY
_MAX_HEAD = 64 * 1024


class _Counters:
    def __init__(self) -> None:
        self.with_key = 0
        self.without_key = 0
        self.connections = 0


class _HTTPProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1: requests are parsed for their headers only; bodies are skipped."""

    def __init__(self, counters: _Counters, expected: bytes, close_each: bool) -> None:
        self._counters = counters
        self._expected = expected
        self._close_each = close_each
        self._buffer = b""
        self._skip = 0
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._counters.connections += 1

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        out = []
        while True:
            if self._skip:
                taken = min(self._skip, len(buffer))
                self._skip -= taken
                buffer = buffer[taken:]
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            buffer = buffer[end + 4 :]
            self._skip = self._count(head)
            if self._close_each:
                out.append(RESPONSE_CLOSE)
                break
            out.append(RESPONSE)
        if len(buffer) > _MAX_HEAD:
            buffer = b""
            self._close_each = True
        self._buffer = buffer
        assert self._transport is not None
        if out:
            self._transport.write(b"".join(out))
            if self._close_each:
                self._transport.close()

    def _count(self, head: bytes) -> int:
        """Count the request by its Authorization header; return its body length."""
        carried = False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"authorization":
                carried = value.strip() == self._expected
            elif name == b"content-length":
                length = int(value.strip() or 0)
        if carried:
            self._counters.with_key += 1
        else:
            self._counters.without_key += 1
        return length


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    counters = _Counters()
    expected = b"Bearer " + args.key.encode()
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.keyfile)
    server = await loop.create_server(
        lambda: _HTTPProtocol(counters, expected, args.close_each),
        host="127.0.0.1",
        port=args.port,
        ssl=context,
        backlog=1024,
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    deadline = loop.time() + args.lifetime
    while True:
        try:
            line = await asyncio.wait_for(reader.readline(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            break
        command = line.strip()
        if not command:
            break  # stdin closed: the benchmark is gone
        if command == b"reset":
            counters.with_key = counters.without_key = counters.connections = 0
        reply = {
            "with_key": counters.with_key,
            "without_key": counters.without_key,
            "connections": counters.connections,
        }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    server.close()


@dataclass
class Stats:
    """What the server saw since the last reset."""

    with_key: int
    without_key: int
    connections: int


class LoopbackServer:
    """The server process, started in ``__enter__`` and stopped in ``__exit__``."""

    def __init__(
        self,
        *,
        key: str,
        cert: Path | None = None,
        keyfile: Path | None = None,
        close_each: bool = False,
        lifetime: float = 900.0,
    ) -> None:
        self.key = key
        self._argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--key",
            key,
            "--lifetime",
            str(lifetime),
        ]
        if cert is not None:
            self._argv += ["--cert", str(cert), "--keyfile", str(keyfile or cert)]
        if close_each:
            self._argv.append("--close-each")
        self.scheme = "https" if cert is not None else "http"
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> LoopbackServer:
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"loopback server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _command(self, command: str) -> Stats:
        assert self._proc is not None
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
            return Stats(**json.loads(self._proc.stdout.readline()))

    def reset(self) -> None:
        """Zero the counters."""
        self._command("reset")

    def stats(self) -> Stats:
        """The counters since the last reset."""
        return self._command("stats")

    def check(self, expected: int, label: str) -> Stats:
        """Fail unless exactly `expected` requests arrived, every one with the key."""
        stats = self.stats()
        if stats.without_key or stats.with_key != expected:
            raise AssertionError(
                f"{label}: server saw {stats.with_key} requests with the key and "
                f"{stats.without_key} without it; expected {expected} with and 0 without"
            )
        return stats


def _request(key: str) -> bytes:
    return (
        b"GET /api/account HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n"
        b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
        b"User-Agent: bench-ceiling\r\nAuthorization: Bearer " + key.encode() + b"\r\n\r\n"
    )


def _pipelined_client(
    port: int, key: str, total: int, batch: int, result: list[float], index: int
) -> None:
    request = _request(key)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = 0
        start = time.perf_counter()
        while sent < total:
            n = min(batch, total - sent)
            sock.sendall(request * n)
            want = len(RESPONSE) * n
            got = 0
            while got < want:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("server closed the connection")
                got += len(chunk)
            sent += n
        result[index] = time.perf_counter() - start


def _sequential_client(port: int, key: str, total: int) -> float:
    request = _request(key)
    size = len(RESPONSE)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        for _ in range(total):
            sock.sendall(request)
            got = 0
            while got < size:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("server closed the connection")
                got += len(chunk)
        return time.perf_counter() - start


def ceiling(server: LoopbackServer, *, total: int, connections: int = 4) -> dict[str, Any]:
    """Requests a second the server answers: pipelined over several connections, and
    strictly one at a time on one keep-alive connection (raw sockets, no HTTP library).

    The clients run in a child process, so they do not share this process's GIL.
    """
    code = (
        "import json, sys, threading\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import _server\n"
        f"port, key, total, conns = {server.port}, {server.key!r}, {total}, {connections}\n"
        "per = total // conns\n"
        "res = [0.0] * conns\n"
        "threads = [threading.Thread(target=_server._pipelined_client,"
        " args=(port, key, per, 100, res, i)) for i in range(conns)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "pipelined = per * conns / max(res)\n"
        "seq_n = total // 10\n"
        "sequential = seq_n / _server._sequential_client(port, key, seq_n)\n"
        "print(json.dumps({'pipelined': pipelined, 'sequential': sequential,"
        " 'requests': per * conns + seq_n}))\n"
    )
    server.reset()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    server.check(figures["requests"], "server ceiling")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--keyfile")
    parser.add_argument("--close-each", action="store_true")
    parser.add_argument("--lifetime", type=float, default=900.0)
    args = parser.parse_args()
    os.environ.pop("PYTHONASYNCIODEBUG", None)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
