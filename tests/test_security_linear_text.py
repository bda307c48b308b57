"""Security round 2, finding 4: a hostile server's text cannot freeze a login.

Before, redaction ran backtracking patterns over the whole server text and only then cut
it: a 180 KB ``error_description`` kept ``login --timeout 5`` busy for 31 s (regex work
holds the event loop, so no time limit can stop it). Each test here answers one endpoint
of a login with 200 KB of text built to make those patterns backtrack, and runs
``anaconda-auth login --device --timeout 5`` in a subprocess (the command, its own event
loop, no fixture around it; the fake platform only replaces the network). The command must
end with its own one-line error within the login limit plus a small margin; the
subprocess is killed past that, so the test is bounded whatever the code does.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from processes import python

import anaconda_auth_async
from anaconda_auth_async.foundation.safe_text import MAX_LENGTH, html_text, safe_line

LOGIN_LIMIT = 5
MARGIN = 3  # seconds past the login's limit a loaded machine may need to print and exit
STARTUP = 30  # seconds a loaded machine may take to start Python and import the package
SIZE = 200_000
# Each made the old patterns scan the rest of the text from every occurrence.
JWT_STARTS = "eyJ-" * (SIZE // 4)
SCRIPT_STARTS = "<script" * (SIZE // 7)
TAG_STARTS = "<" * SIZE

SCRIPT = """
import contextlib, io, json, sys, time
import httpx
from anaconda_auth_async.cli import main
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store

results = []
for endpoint, status, kind, path in json.load(open(sys.argv[1])):
    platform = FakePlatform()
    body = open(path, "rb").read()
    platform.script(endpoint, httpx.Response(status, content=body, headers={"Content-Type": kind}))
    err = io.StringIO()
    started = time.monotonic()
    with use_store(MemoryTokenStore()), use_platform(platform), contextlib.redirect_stderr(err):
        try:
            main(["login", "--device", "--timeout", sys.argv[2]])
            code = 0
        except SystemExit as exc:
            code = exc.code
    results.append([code, time.monotonic() - started, err.getvalue()])
print(json.dumps(results))
"""


def oauth_error(text: str) -> bytes:
    return json.dumps({"error": "invalid_request", "error_description": text}).encode()


CASES = [
    ("discovery", 500, "text/html", SCRIPT_STARTS.encode()),
    ("discovery", 400, "application/json", oauth_error(JWT_STARTS)),
    ("device", 400, "application/json", oauth_error(JWT_STARTS)),
    ("device", 502, "text/html", TAG_STARTS.encode()),
    ("token", 400, "application/json", oauth_error(JWT_STARTS)),
    ("token", 400, "application/json", oauth_error(TAG_STARTS)),
    ("jwks", 500, "text/html", SCRIPT_STARTS.encode()),
    ("api-keys", 500, "text/html", SCRIPT_STARTS.encode()),
    ("api-keys", 400, "application/json", json.dumps({"error": {"message": JWT_STARTS}}).encode()),
    ("api-keys", 403, "text/plain", JWT_STARTS.encode()),
]


def test_finding4_hostile_200kb_answer_on_each_endpoint_ends_the_login_within_its_limit(
    tmp_path: Path,
) -> None:
    """One subprocess runs the command once per case (one Python start-up for all)."""
    cases = []
    for number, (endpoint, status, kind, body) in enumerate(CASES):
        answer = tmp_path / f"answer-{number}"
        answer.write_bytes(body)
        cases.append((endpoint, status, kind, str(answer)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANACONDA_", "BROWSER"))}
    env.update(HOME=str(tmp_path), BROWSER="true")  # a browser that opens nothing
    env["PYTHONPATH"] = str(Path(anaconda_auth_async.__file__).parent.parent)  # this package
    bound = len(CASES) * (LOGIN_LIMIT + MARGIN) + STARTUP
    try:
        result = python(
            textwrap.dedent(SCRIPT),
            "cases.json",
            str(LOGIN_LIMIT),
            env=env,
            cwd=tmp_path,
            timeout=bound,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the logins were still busy {bound} s after they started")
    for (endpoint, status, _, _), (code, elapsed, stderr) in zip(
        CASES, json.loads(result.stdout), strict=True
    ):
        case = f"{endpoint} answering {status}: {stderr!r}"
        assert code not in (0, None), case
        assert "Traceback" not in stderr, case
        errors = [line for line in stderr.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, case
        assert len(errors[0]) < 600, case
        assert elapsed < LOGIN_LIMIT + MARGIN, case


@pytest.mark.parametrize("text", [JWT_STARTS, SCRIPT_STARTS, TAG_STARTS, "x" * 10 * SIZE])
def test_text_cleaning_looks_at_a_bounded_part_of_any_text(text: str) -> None:
    """The pure functions on the hostile texts, in-process (each took seconds before)."""
    line = safe_line(text)
    assert len(line) <= MAX_LENGTH
    assert len(html_text(text)) <= len(text)


def test_a_secret_cut_by_the_window_is_not_half_shown() -> None:
    secret = "S3CRET-" + "z" * 40
    # The window ends inside the secret; the long token before it shrinks to "[redacted]",
    # which brings the secret's cut beginning into the shown part.
    text = "eyJ" + "a" * 4080 + " " + secret
    shown = safe_line(text, secrets=[secret])
    assert shown.startswith("[redacted]")
    assert "S3CR" not in shown


def test_a_token_cut_short_is_still_redacted() -> None:
    shown = safe_line("x " + "eyJhbGciOiJSUzI1NiJ9" * 400, limit=100)
    assert "hbGci" not in shown
    shown = safe_line('{"access_token": "' + "q" * 9000, limit=100)
    assert "qqq" not in shown
