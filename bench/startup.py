"""Whole-process start-up: the package import and the CLI, against their baselines.

Each sample is the wall time of a fresh interpreter (``subprocess.run``), so it includes
interpreter start, site and every import the command triggers. Baseline and subject
alternate sample by sample in the same environment (a throwaway HOME, no ANACONDA_*
variables); bytecode caches are warmed first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _harness as h

SCRIPT = "startup.py"


def _timer(argv: list[str], env: dict[str, str], cwd: str) -> float:
    elapsed, status = h.timed_run(argv, env=env, cwd=cwd)
    if status != 0:
        raise RuntimeError(f"{argv} exited {status}")
    return elapsed


def _check(argv: list[str], env: dict[str, str], cwd: str) -> str | None:
    """Run once (warms bytecode caches); the reason it fails, or None."""
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`{' '.join(argv[1:] if argv[0] == sys.executable else argv)}` failed: {last}"
    return None


def _row(
    name: str,
    subject: list[str],
    baseline: list[str],
    goal: h.Goal,
    *,
    rounds: int,
    reps: int,
    env: dict[str, str],
    cwd: str,
    command: str,
    labels: tuple[str, str],
) -> h.Row:
    for argv in (baseline, subject):
        reason = _check(argv, env, cwd)
        if reason:
            return h.not_measured(name, reason, command)
    s, b, ratio, per_round = h.interleave(
        rounds,
        lambda: _timer(baseline, env, cwd),
        lambda: _timer(subject, env, cwd),
        reps=reps,
    )
    return h.Row(
        name=name,
        unit="ms",
        subject=s,
        baseline=b,
        ratio=ratio,
        goal=goal,
        command=command,
        subject_label=labels[0],
        baseline_label=labels[1],
        rounds=per_round,
        note=f"{rounds} rounds x {reps} interleaved processes each; median",
    )


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The start-up rows."""
    rounds = rounds or (5 if quick else 9)
    reps = 4 if quick else 10
    py = sys.executable
    cli = str(Path(py).parent / "anaconda-auth")
    command = h.script_command(SCRIPT, quick)
    with h.bench_home() as home:
        env, cwd = dict(home.env), str(home.path)
        # trio is installed for the test suite, and httpcore imports it when it can, which
        # would inflate every baseline that imports httpx. Users of this package need not
        # have trio, so hide it from both sides (a sitecustomize on PYTHONPATH).
        hide = home.path / "hide-trio"
        hide.mkdir()
        (hide / "sitecustomize.py").write_text("import sys\nsys.modules['trio'] = None\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hide), env.get("PYTHONPATH")]))
        return [
            _row(
                "import anaconda_auth_async (whole process)",
                [py, "-c", "import anaconda_auth_async"],
                [py, "-c", "import httpx"],
                h.Goal("ratio_max", 2.0, "<= 2.0x"),
                rounds=rounds,
                reps=reps,
                env=env,
                cwd=cwd,
                command=command,
                labels=('python -c "import anaconda_auth_async"', 'python -c "import httpx"'),
            ),
            _row(
                "from anaconda_auth_async import AsyncAuthClient (whole process)",
                [py, "-c", "from anaconda_auth_async import AsyncAuthClient"],
                [py, "-c", "import httpx"],
                h.Goal("ratio_max", 2.0, "<= 2.0x"),
                rounds=rounds,
                reps=reps,
                env=env,
                cwd=cwd,
                command=command,
                labels=(
                    'python -c "from anaconda_auth_async import AsyncAuthClient"',
                    'python -c "import httpx"',
                ),
            ),
            _row(
                "anaconda-auth login --help",
                [cli, "login", "--help"],
                [py, "-c", "pass"],
                h.Goal("ratio_max", 6.0, "<= 6x"),
                rounds=rounds,
                reps=reps,
                env=env,
                cwd=cwd,
                command=command,
                labels=("anaconda-auth login --help", 'python -c "pass"'),
            ),
            _row(
                "import click (reference for the CLI row)",
                [py, "-c", "import click"],
                [py, "-c", "pass"],
                h.Goal("report"),
                rounds=rounds,
                reps=reps,
                env=env,
                cwd=cwd,
                command=command,
                labels=('python -c "import click"', 'python -c "pass"'),
            ),
        ]


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
