"""Browser login end to end against the e2e provider: a reported figure, no goal.

Reuses the end-to-end harness (``tests/e2e/e2e_harness.py``): oidc-provider and the
Anaconda API emulator on loopback HTTPS with a throwaway CA, and the scripted browser
(``tests/e2e/browser.py``, set as ``BROWSER``) that logs in and consents. Each sample runs
``anaconda-auth login --force`` as a user would, with a fresh keyring file and a free
redirect port, and times the whole process: CLI start-up, discovery, the browser round
trip (the scripted browser is itself a Python process following about ten pages), the
code exchange, ID-token validation, the API-key exchange and storing the key. The sample
fails unless the CLI exits 0 and the key is in the keyring file afterwards.

A second row does the same with the real browser (``tests/e2e/chromium.py``: headless
Chromium driven by Selenium, a new Chromium for each login, as a person's first click
would start one) and compares it with the scripted one: the two kinds of sample alternate
within each round, so both see the same machine load. The CLI returns once the key is
stored; each Chromium is then left to quit (``E2E_BROWSER_LINGER=0``) before the next
sample starts.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

SCRIPT = "login.py"
E2E = h.ROOT / "tests" / "e2e"


NAME = "browser login end to end (anaconda-auth login, e2e provider)"
CHROMIUM_NAME = "browser login end to end in headless Chromium (anaconda-auth login)"


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The browser-login rows: the scripted browser, and Chromium against it."""
    command = h.script_command(SCRIPT, quick)
    if not (E2E / "e2e_harness.py").is_file():
        reason = "the e2e harness (tests/e2e/e2e_harness.py) is missing"
        return [h.not_measured(NAME, reason, command)]
    try:
        e2e = h.e2e_harness()
        import chromium  # tests/e2e/chromium.py, on sys.path with the harness
    except Exception as exc:
        return [h.not_measured(NAME, f"the e2e harness does not import: {exc}", command)]
    reason = e2e.node_missing_reason()
    if reason:
        return [h.not_measured(NAME, reason, command)]
    cli = Path(sys.executable).parent / "anaconda-auth"
    if not cli.is_file():
        return [h.not_measured(NAME, f"{cli} is not installed", command)]
    no_chromium = chromium.chromium_missing_reason()

    rounds = rounds or 5
    times: dict[str, list[float]] = {"script": [], "chromium": []}
    with tempfile.TemporaryDirectory(prefix="aaa-bench-login-") as tmp:
        work = Path(tmp)
        try:
            e2e.ensure_node_modules()
            server_cm = e2e.run_server(work / "server")
            server = server_cm.__enter__()
        except e2e.HarnessError as exc:
            return [h.not_measured(NAME, f"the e2e provider did not start: {exc}", command)]
        try:
            for index in range(rounds + 1):  # the first round warms caches and is not counted
                for kind in ("script", "chromium"):
                    if kind == "chromium" and no_chromium:
                        continue
                    elapsed = _login(e2e, chromium, server, cli, work / f"{kind}{index}", kind)
                    if index:
                        times[kind].append(elapsed)
        finally:
            server_cm.__exit__(None, None, None)
    script = times["script"]
    rows = [
        h.Row(
            name=NAME,
            unit="ms",
            subject=h.median(script),
            goal=h.Goal("report", 0, "report"),
            command=command,
            subject_label="anaconda-auth login --force, BROWSER = the scripted e2e browser",
            rounds=[{"subject": t} for t in script],
            note=(
                f"median of {rounds} logins (min {min(script):.0f} ms, max {max(script):.0f} ms), "
                "each a fresh process with a fresh keyring"
            ),
        )
    ]
    if no_chromium:
        rows.append(h.not_measured(CHROMIUM_NAME, no_chromium, command))
        return rows
    real = times["chromium"]
    rows.append(
        h.Row(
            name=CHROMIUM_NAME,
            unit="ms",
            subject=h.median(real),
            baseline=h.median(script),
            ratio=h.median([r / s for r, s in zip(real, script, strict=True)]),
            goal=h.Goal("report", 0, "report"),
            command=command,
            subject_label="anaconda-auth login --force, BROWSER = tests/e2e/chromium.py",
            baseline_label="the same with BROWSER = the scripted e2e browser",
            rounds=[{"subject": r, "baseline": s} for r, s in zip(real, script, strict=True)],
            note=(
                f"median of {rounds} rounds, one login of each kind per round "
                f"(Chromium min {min(real):.0f} ms, max {max(real):.0f} ms); "
                "a new Chromium for each login"
            ),
        )
    )
    return rows


def _login(e2e: Any, chromium: Any, server: Any, cli: Path, work: Path, kind: str) -> float:
    """One ``anaconda-auth login --force`` with a fresh HOME; its wall time in ms."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("ANACONDA_", "E2E_", "BROWSER"))
    }
    home = work / "home"
    keyring = home / ".anaconda" / "keyring"
    env = {
        **base,
        **server.env(redirect_port=e2e.free_port()),
        "HOME": str(home),
        "ANACONDA_AUTH_KEYRING_PATH": str(keyring),
        "ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE": "anaconda-keyring",
        "ANACONDA_AUTH_TIMEOUT": "10",
        "ANACONDA_AUTH_LOGIN_TIMEOUT": "60",
        "E2E_BROWSER_MODE": "approve",
        "E2E_BROWSER_LOG": str(work / "browser"),
        "E2E_BROWSER_TIMEOUT": "50",
    }
    if kind == "chromium":
        env |= {
            "BROWSER": f"{sys.executable} {chromium.__file__} %s",
            "E2E_BROWSER_TRUST_CERT": str(server.pki.server_cert),
            "E2E_BROWSER_LINGER": "0",
        }
    else:
        env |= {
            "BROWSER": f"{sys.executable} {e2e.BROWSER_SCRIPT} %s",
            "E2E_BROWSER_CA": server.ca_bundle,
        }
    home.mkdir(parents=True)
    log = work / "login.log"
    elapsed, status = h.timed_run(
        [str(cli), "login", "--force"], env=env, cwd=home, timeout=90, output=log
    )
    _wait_for_browser(chromium, work / "browser")
    if status != 0:
        tail = log.read_text(errors="replace").strip()[-500:]
        raise AssertionError(f"anaconda-auth login ({kind}) exited {status}: {tail}")
    stored = json.loads(keyring.read_text())["Anaconda Cloud"][server.auth_domain]
    if not json.loads(base64.b64decode(stored)).get("api_key"):
        raise AssertionError("the login stored no API key")
    return elapsed


def _wait_for_browser(chromium: Any, log_dir: Path, timeout: float = 20.0) -> None:
    """Let the browser of the last sample finish (bounded), so samples do not overlap."""
    deadline = time.monotonic() + timeout
    while any(log_dir.glob("*.pid")) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in chromium.processes_naming(log_dir):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
