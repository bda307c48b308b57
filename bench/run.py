"""Run every benchmark, print one line per measure, write docs/performance.md.

    python bench/run.py            # the full run (a few minutes); writes docs/performance.md
    python bench/run.py --quick    # a smoke run: fewer requests, prints only
    python bench/run.py --only clients --only store   # some measures; prints only

Each measure is a script in this directory, run in its own process (so one measure's
imports and caches never help another); each prints its rows as JSON for this script.
A measure that fails (for instance because a request reached the server without the
API key) makes the run exit non-zero; a missed goal is reported, not an error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import _harness as h

MEASURES = {
    "startup": "startup.py",
    "clients": "clients.py",
    "first_request": "first_request.py",
    "store": "store.py",
    "tls": "tls.py",
    "login": "login.py",
}
# anaconda-cloud-auth 0.6.0's figures as the issue that set the goals gives them (not
# measured here), by the start of the row name.
REFERENCE = {
    "import anaconda_auth_async (whole process)": "2.89x",
    "anaconda-auth login --help": "41x",
    "import click": "3.7x (issue: import click alone)",
    "sync BaseClient": "0.835x",
    "AsyncAuthClient, key from the store": "0.905x",
    "longest event-loop stall during the first request": "93.5 ms vs 17.5 ms",
    "one token load from the file store + expiry check (file unchanged)": "5,370 us",
    "cost of a new HTTPS connection": "19x",
}
DOC = h.ROOT / "docs" / "performance.md"
RESULTS = h.BENCH / "results"
TIMEOUT = 600


def run_measure(name: str, quick: bool) -> tuple[list[h.Row], str | None]:
    """Rows of one measure script, and the error if it failed."""
    script = MEASURES[name]
    path = h.BENCH / script
    command = h.script_command(script, quick)
    if not path.exists():
        return [h.not_measured(name, f"bench/{script} does not exist yet", command)], None
    argv = [sys.executable, str(path), "--json"] + (["--quick"] if quick else [])
    try:
        out = subprocess.run(
            argv, cwd=h.ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        error = f"{command} did not finish within {TIMEOUT} s"
        return [h.not_measured(name, error, command)], error
    rows = [
        h.Row.from_json(line[len(h.ROW_PREFIX) :])
        for line in out.stdout.splitlines()
        if line.startswith(h.ROW_PREFIX)
    ]
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        error = f"{command} failed (exit {out.returncode}): {tail}"
        sys.stderr.write(out.stderr[-4000:])
        return [*rows, h.not_measured(name, error, command)], error
    return rows, None


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for module in ("httpx", "httpcore", "anyio", "keyring"):
        try:
            from importlib.metadata import version

            versions[module] = version(module)
        except Exception:
            versions[module] = "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=h.ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = "?"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "commit": commit or "?",
        "load": f"{load[0]:.2f} (1-minute load average at the start)",
    }


def _cell(row: h.Row, value: float | None) -> str:
    return h.fmt(value, row.unit) if value is not None else "-"


def render(rows: list[h.Row], info: dict[str, str], elapsed: float) -> str:
    """The results page."""
    lines = [
        "# Performance",
        "",
        "Written by `python bench/run.py` (the `bench` nox session runs it); do not edit the",
        "figures by hand. How each figure is measured is in the docstring of its script in",
        "`bench/` and summarised under *Method* below.",
        "",
        "## Machine",
        "",
        f"- date: {info['date']}",
        f"- CPU: {info['cpu']}",
        f"- OS: {info['os']}",
        f"- Python: {info['python']}",
        f"- libraries: {info['libraries']}",
        f"- commit: {info['commit']}",
        f"- load: {info['load']}",
        f"- whole run: {elapsed:.0f} s",
        "",
        "## Commands",
        "",
        "```",
        "nox -s bench                 # or, in a virtualenv with the package installed:",
        "python bench/run.py          # every measure; writes this page",
        "python bench/run.py --quick  # smoke run: fewer requests, prints only",
        *sorted({r.command for r in rows if r.command}),
        "```",
        "",
        "## Results",
        "",
        "Ratio = subject / baseline, median of the per-round ratios (rounds interleave",
        "baseline and subject). For times and stalls lower is better; for throughput higher.",
        "",
        "The last column is anaconda-cloud-auth 0.6.0's figure as the issue that set the",
        "goals gives it (not measured here).",
        "",
        "| measure | subject | baseline | ratio | goal | result | anaconda-cloud-auth |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        reference = next((v for k, v in REFERENCE.items() if row.name.startswith(k)), "-")
        if row.status == "NOT MEASURED":
            lines.append(f"| {row.name} | - | - | - | - | NOT MEASURED: {row.note} | {reference} |")
            continue
        ratio = f"{row.ratio:.3g}x" if row.ratio is not None else "-"
        goal = row.goal.text if row.goal and row.goal.text else "report"
        lines.append(
            f"| {row.name} | {_cell(row, row.subject)} | {_cell(row, row.baseline)} | "
            f"{ratio} | {goal} | {row.status} | {reference} |"
        )
    lines += ["", "## What each row compares", ""]
    for row in rows:
        if row.status == "NOT MEASURED":
            continue
        parts = [f"- **{row.name}**: subject `{row.subject_label}`"]
        if row.baseline_label:
            parts.append(f"; baseline `{row.baseline_label}`")
        if row.note:
            parts.append(f"; {row.note}")
        parts.append(f" (`{row.command}`).")
        lines.append("".join(parts))
    for extra in ("METHOD.md", "FINDINGS.md"):
        path = h.BENCH / extra
        if path.is_file():
            lines += ["", path.read_text().strip()]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run; prints only")
    parser.add_argument(
        "--only", action="append", choices=sorted(MEASURES), help="run only this measure"
    )
    args = parser.parse_args()
    names = args.only or list(MEASURES)
    info = machine()
    start = time.perf_counter()
    rows: list[h.Row] = []
    errors: list[str] = []
    for name in names:
        measured, error = run_measure(name, args.quick)
        for row in measured:
            print(row.summary(), flush=True)
        rows += measured
        if error:
            errors.append(error)
    elapsed = time.perf_counter() - start
    print(f"({len(rows)} rows in {elapsed:.0f} s)")
    if not args.quick and not args.only:
        DOC.write_text(render(rows, info, elapsed))
        RESULTS.mkdir(exist_ok=True)
        raw = {"machine": info, "rows": [json.loads(r.to_json()) for r in rows]}
        (RESULTS / "latest.json").write_text(json.dumps(raw, indent=1) + "\n")
        print("wrote docs/performance.md and bench/results/latest.json")
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
