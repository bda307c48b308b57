"""Shared pieces of the benchmarks: rows, goals, interleaved rounds, a stored key.

Every figure is a ratio against a baseline run side by side: rounds alternate baseline
and subject (ABBA order, so neither always runs first), and the reported ratio is the
median of the per-round ratios; the subject and baseline figures are the medians of
their rounds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
AUTH_DOMAIN = "id.anaconda.cloud"
KEYRING_SERVICE = "Anaconda Cloud"
ROW_PREFIX = "BENCH-ROW "


def compile_package() -> None:
    """Write the package's bytecode, as installing its wheel does (pip compiles on install).

    A checkout installed in editable mode has none, and where ``PYTHONDONTWRITEBYTECODE``
    is set (this machine sets it) Python never writes it, so every fresh interpreter in a
    measure would compile the package from source while httpx and the other baselines
    load theirs compiled: up to ~10 ms per module on our side alone. Compiling once here
    measures what a user who installed the package runs.
    """
    import compileall

    compileall.compile_dir(ROOT / "anaconda_auth_async", quiet=1)


compile_package()  # every measure imports this module first


@dataclass
class Goal:
    """What a row must reach. kind: ratio_max, ratio_min, abs_max, diff_max, exact, report."""

    kind: str
    value: float = 0.0
    text: str = ""

    def check(self, subject: float | None, baseline: float | None, ratio: float | None) -> bool:
        """True when the figures reach the goal."""
        if self.kind == "ratio_max":
            return ratio is not None and ratio <= self.value
        if self.kind == "ratio_min":
            return ratio is not None and ratio >= self.value
        if self.kind == "abs_max":
            return subject is not None and subject <= self.value
        if self.kind == "diff_max":
            return subject is not None and baseline is not None and subject - baseline <= self.value
        if self.kind == "exact":
            return subject == self.value
        raise ValueError(self.kind)


@dataclass
class Row:
    """One line of the results table."""

    name: str
    unit: str = ""
    subject: float | None = None
    baseline: float | None = None
    ratio: float | None = None
    goal: Goal | None = None
    status: str = ""  # MET, MISSED, REPORTED, NOT MEASURED
    note: str = ""
    command: str = ""
    subject_label: str = ""
    baseline_label: str = ""
    rounds: list[dict[str, float]] = field(default_factory=list)

    def finish(self) -> Row:
        """Set the status from the goal."""
        if self.status:
            return self
        if self.goal is None or self.goal.kind == "report":
            self.status = "REPORTED"
        else:
            met = self.goal.check(self.subject, self.baseline, self.ratio)
            self.status = "MET" if met else "MISSED"
        return self

    def summary(self) -> str:
        """The one-line summary printed by run.py."""
        if self.status == "NOT MEASURED":
            return f"{self.name}: NOT MEASURED ({self.note})"
        subject = fmt(self.subject, self.unit)
        baseline = fmt(self.baseline, self.unit) if self.baseline is not None else "-"
        ratio = f"{self.ratio:.3g}x" if self.ratio is not None else "-"
        goal = self.goal.text if self.goal and self.goal.text else "report"
        return (
            f"{self.name}: subject {subject}, baseline {baseline}, ratio {ratio} "
            f"(goal {goal}): {self.status}"
        )

    def to_json(self) -> str:
        """Serialised for run.py."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Row:
        """Read a row written by `to_json`."""
        data = json.loads(text)
        goal = data.pop("goal")
        return cls(goal=Goal(**goal) if goal else None, **data)


def not_measured(name: str, reason: str, command: str = "") -> Row:
    """A row for a measure that could not run, with the reason."""
    return Row(name=name, status="NOT MEASURED", note=reason, command=command)


def fmt(value: float | None, unit: str) -> str:
    """A figure with 3-4 significant digits and its unit."""
    if value is None:
        return "-"
    if unit in ("", "reads"):
        text = f"{value:,.0f}" if value == int(value) else f"{value:.3g}"
        if value == 1 and unit.endswith("s"):
            unit = unit[:-1]
        return f"{text} {unit}".strip()
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.4g} {unit}"


def median(values: list[float]) -> float:
    """The median (statistics.median, typed)."""
    return float(statistics.median(values))


def interleave(
    rounds: int,
    baseline: Callable[[], float],
    subject: Callable[[], float],
    *,
    reps: int = 1,
) -> tuple[float, float, float, list[dict[str, float]]]:
    """Run `rounds` rounds of `reps` baseline/subject pairs; return
    (subject, baseline, ratio, per-round figures).

    Pairs alternate their order (ABBA...), so neither side always runs first. A round's
    figure is the median of its `reps` samples; its ratio is subject / baseline. The
    result is the median over rounds of each figure and of the per-round ratios.
    """
    per_round = []
    flip = False
    for _ in range(rounds):
        b_samples: list[float] = []
        s_samples: list[float] = []
        for _ in range(reps):
            if flip:
                s_samples.append(subject())
                b_samples.append(baseline())
            else:
                b_samples.append(baseline())
                s_samples.append(subject())
            flip = not flip
        b, s = median(b_samples), median(s_samples)
        per_round.append({"subject": s, "baseline": b, "ratio": s / b if b else float("nan")})
    subject_median = median([r["subject"] for r in per_round])
    baseline_median = median([r["baseline"] for r in per_round])
    ratio = median([r["ratio"] for r in per_round])
    return subject_median, baseline_median, ratio, per_round


def b64url(data: bytes) -> str:
    """Unpadded URL-safe base64, as in a JWT."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_api_key(*, lifetime: float = 7 * 86400) -> str:
    """A JWT-shaped API key with an ``exp`` claim `lifetime` seconds from now."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"sub": "bench-user", "exp": int(time.time() + lifetime), "scopes": ["cloud:read"]}
    payload = b64url(json.dumps(claims).encode())
    signature = b64url(os.urandom(256))
    return f"{header}.{payload}.{signature}"


def entry_value(key: str, domain: str = AUTH_DOMAIN, api_domain: str | None = None) -> str:
    """The keyring value anaconda-cloud-auth stores: base64 of the JSON token.

    `api_domain` records where the key was created, as a login does: the SDK sends the
    key only there (anaconda-cloud-auth ignores the field).
    """
    token: dict[str, object] = {
        "api_key": key,
        "username": "bench-user",
        "repo_tokens": [],
        "domain": domain,
    }
    if api_domain is not None:
        token["api_domain"] = api_domain
    return base64.b64encode(json.dumps(token).encode()).decode()


def write_keyring(
    path: Path, key: str, domain: str = AUTH_DOMAIN, *, api_domain: str | None = None
) -> None:
    """Write a file keyring holding `key`, in anaconda-cloud-auth's on-disk format."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {KEYRING_SERVICE: {domain: entry_value(key, domain, api_domain)}}
    path.write_text(json.dumps(data))
    path.chmod(0o600)


@dataclass
class Home:
    """A throwaway HOME with a keyring holding `key`, and the environment that uses it."""

    path: Path
    key: str
    keyring: Path
    env: dict[str, str]


@contextmanager
def bench_home(key: str | None = None) -> Iterator[Home]:
    """A temp HOME with the key in its file keyring, ANACONDA_* cleared, cwd-free env."""
    key = key or make_api_key()
    with tempfile.TemporaryDirectory(prefix="aaa-bench-") as tmp:
        home = Path(tmp)
        keyring = home / ".anaconda" / "keyring"
        write_keyring(keyring, key)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(("ANACONDA_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"))
        }
        env.update(
            HOME=str(home),
            ANACONDA_AUTH_KEYRING_PATH=str(keyring),
            NO_PROXY="127.0.0.1,localhost",
        )
        yield Home(path=home, key=key, keyring=keyring, env=env)


@contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """Use `env` as os.environ (and cwd = its HOME) for the block."""
    saved = dict(os.environ)
    cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(env["HOME"])
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def timed_run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    output: Path | None = None,
) -> tuple[float, int]:
    """Run a process to its end; return (wall milliseconds, exit status).

    Not `subprocess.run(timeout=...)`: its wait polls with sleeps of up to 50 ms, which
    would quantise every figure. This waits in ``waitpid`` and a timer kills the process
    if it overruns. Output goes to `output` (a file) or is discarded.
    """
    sink = open(output, "wb") if output is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
        )
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            status = process.wait()
        finally:
            killer.cancel()
        elapsed = (time.perf_counter() - start) * 1000.0
    finally:
        if output is not None:
            sink.close()  # type: ignore[union-attr]
    if killer.finished.is_set() and status < 0:
        raise TimeoutError(f"{' '.join(argv)} did not finish within {timeout:g} s")
    return elapsed, status


def missing(*modules: str) -> str | None:
    """The first module of the package under test that does not import, with why."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # the code under test may be mid-way through being written
            return f"{module} does not import yet ({type(exc).__name__}: {exc})"
    return None


def cli(description: str) -> argparse.Namespace:
    """The arguments every measure script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    parser.add_argument("--json", action="store_true", help="print rows for run.py")
    parser.add_argument("--rounds", type=int, default=0, help="override the number of rounds")
    return parser.parse_args()


def emit(rows: list[Row], *, as_json: bool) -> None:
    """Print rows: JSON lines for run.py, or the summary lines."""
    for row in rows:
        row.finish()
        if as_json:
            print(ROW_PREFIX + row.to_json(), flush=True)
        else:
            print(row.summary(), flush=True)


def script_command(script: str, quick: bool) -> str:
    """The command that runs one measure on its own."""
    return f"python bench/{script}" + (" --quick" if quick else "")


def e2e_harness() -> Any:
    """The end-to-end harness module (tests/e2e/e2e_harness.py): its PKI and provider."""
    e2e = str(ROOT / "tests" / "e2e")
    if e2e not in sys.path:
        sys.path.insert(0, e2e)
    import e2e_harness

    return e2e_harness


def ensure_path() -> None:
    """Make `import _harness` / `import _server` work from any measure script."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
