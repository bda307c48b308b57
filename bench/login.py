"""Browser login end to end against the e2e provider: a reported figure, no goal.

Reuses the end-to-end harness (``tests/e2e/e2e_harness.py``): oidc-provider and the
Anaconda API emulator on loopback HTTPS with a throwaway CA, and the scripted browser
(``tests/e2e/browser.py``, set as ``BROWSER``) that logs in and consents. Each sample runs
``anaconda-auth login --force`` as a user would, with a fresh keyring file and a free
redirect port, and times the whole process: CLI start-up, discovery, the browser round
trip (the scripted browser is itself a Python process following about ten pages), the
code exchange, ID-token validation, the API-key exchange and storing the key. The sample
fails unless the CLI exits 0 and the key is in the keyring file afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from pathlib import Path

import _harness as h

SCRIPT = "login.py"
E2E = h.ROOT / "tests" / "e2e"


def measure(quick: bool, rounds: int = 0) -> list[h.Row]:
    """The browser-login row."""
    name = "browser login end to end (anaconda-auth login, e2e provider)"
    command = h.script_command(SCRIPT, quick)
    if not (E2E / "e2e_harness.py").is_file():
        reason = "the e2e harness (tests/e2e/e2e_harness.py) is missing"
        return [h.not_measured(name, reason, command)]
    try:
        e2e = h.e2e_harness()
    except Exception as exc:
        return [h.not_measured(name, f"the e2e harness does not import: {exc}", command)]
    reason = e2e.node_missing_reason()
    if reason:
        return [h.not_measured(name, reason, command)]
    cli = Path(sys.executable).parent / "anaconda-auth"
    if not cli.is_file():
        return [h.not_measured(name, f"{cli} is not installed", command)]

    rounds = rounds or 5
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="aaa-bench-login-") as tmp:
        work = Path(tmp)
        try:
            e2e.ensure_node_modules()
            server_cm = e2e.run_server(work / "server")
            server = server_cm.__enter__()
        except e2e.HarnessError as exc:
            return [h.not_measured(name, f"the e2e provider did not start: {exc}", command)]
        try:
            base = {
                k: v
                for k, v in os.environ.items()
                if not k.upper().startswith(("ANACONDA_", "E2E_", "BROWSER"))
            }
            for index in range(rounds + 1):  # the first run warms caches and is not counted
                home = work / f"home{index}"
                keyring = home / ".anaconda" / "keyring"
                env = {
                    **base,
                    **server.env(redirect_port=e2e.free_port()),
                    "HOME": str(home),
                    "ANACONDA_AUTH_KEYRING_PATH": str(keyring),
                    "ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE": "anaconda-keyring",
                    "ANACONDA_AUTH_TIMEOUT": "10",
                    "ANACONDA_AUTH_LOGIN_TIMEOUT": "60",
                    "BROWSER": f"{sys.executable} {e2e.BROWSER_SCRIPT} %s",
                    "E2E_BROWSER_MODE": "approve",
                    "E2E_BROWSER_CA": server.ca_bundle,
                    "E2E_BROWSER_LOG": str(work / f"browser{index}"),
                    "E2E_BROWSER_TIMEOUT": "50",
                }
                home.mkdir(parents=True)
                log = work / f"login{index}.log"
                elapsed, status = h.timed_run(
                    [str(cli), "login", "--force"], env=env, cwd=home, timeout=90, output=log
                )
                if status != 0:
                    tail = log.read_text(errors="replace").strip()[-500:]
                    raise AssertionError(f"anaconda-auth login exited {status}: {tail}")
                stored = json.loads(keyring.read_text())["Anaconda Cloud"][server.auth_domain]
                if not json.loads(base64.b64decode(stored)).get("api_key"):
                    raise AssertionError("the login stored no API key")
                if index:
                    times.append(elapsed)
        finally:
            server_cm.__exit__(None, None, None)
    return [
        h.Row(
            name=name,
            unit="ms",
            subject=h.median(times),
            goal=h.Goal("report", 0, "report"),
            command=command,
            subject_label="anaconda-auth login --force, BROWSER = the scripted e2e browser",
            rounds=[{"subject": t} for t in times],
            note=(
                f"median of {rounds} logins (min {min(times):.0f} ms, max {max(times):.0f} ms), "
                "each a fresh process with a fresh keyring"
            ),
        )
    ]


if __name__ == "__main__":
    args = h.cli(__doc__ or "")
    h.emit(measure(args.quick, args.rounds), as_json=args.json)
