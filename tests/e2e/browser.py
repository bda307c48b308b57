"""A scripted browser for the end-to-end tests, used through ``BROWSER``.

Python's `webbrowser` runs ``BROWSER="python browser.py %s"`` with the URL to open. Like a
real browser this returns at once and carries on in the background (a detached child),
so a caller that waits for the browser command does not block the login. The child
follows the URL with httpx (trusting the e2e CA), fills in oidc-provider's development
login form, then acts on the consent or device page according to the mode, follows the
redirect to the SDK's loopback listener and on to the page that sends the user to, and
writes what it did to a JSON record.

Modes (``E2E_BROWSER_MODE`` or ``--mode``):

- ``approve``      log in and grant consent (the default)
- ``deny``         log in, then cancel at consent: oidc-provider answers ``access_denied``
- ``device``       enter the user code on the device verification page, confirm, log in
                   and consent (the code comes from the URL, ``--user-code`` or
                   ``E2E_BROWSER_USER_CODE``)
- ``device-deny``  enter the user code, then abort on the confirmation page
- ``ignore``       open nothing (a user who never completes the login)

Other environment: ``E2E_BROWSER_CA`` (CA bundle; else ``ANACONDA_AUTH_SSL_VERIFY`` when
it is a file), ``E2E_BROWSER_LOGIN`` (the login typed in the form, default ``ada``),
``E2E_BROWSER_LOG`` (a directory: one ``<time>-<pid>.json`` record per run, and a
``<pid>.pid`` file while a detached run is alive), ``E2E_BROWSER_TIMEOUT`` (seconds,
default 60).

Run it directly too: ``python browser.py --foreground --mode device --user-code ABCD-EFGH URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

MODES = ("approve", "deny", "device", "device-deny", "ignore")
MAX_STEPS = 40
_CODE_SUBMITTED = {
    "enter the user code",
    "submit the auto-submitting form",
    "abort the device login",
}
_SECRET_PARAMS = {"code", "code_verifier", "xsrf", "password", "state"}


# --------------------------------------------------------------------------------------
# A very small HTML reader: forms (with their inputs) and links.


@dataclass
class Form:
    """One <form>: its attributes and its named inputs."""

    id: str | None
    action: str | None
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.title = ""
        self._in_title = False
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("id"), a.get("action"), (a.get("method") or "get").upper())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form.fields[a["name"]] = a.get("value", "")
            self._form.types[a["name"]] = a.get("type", "text").lower()
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_page(html: str) -> _PageParser:
    """The forms, links and title of an HTML page."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


# --------------------------------------------------------------------------------------
# The browsing itself.


@dataclass
class Record:
    """What one run of the browser did; written as JSON for the tests to read."""

    mode: str
    start_url: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    final_url: str | None = None
    final_status: int | None = None
    final_title: str | None = None
    error: str | None = None
    pid: int = field(default_factory=os.getpid)
    final_text: str | None = None  # the real browser's only: the page's visible text
    screenshot: str | None = None  # the real browser's only: a PNG of the final page


class BrowserError(RuntimeError):
    """The page was not one the script knows how to act on for its mode."""


def redact(url: str) -> str:
    """The URL with secret query parameters (code, state, xsrf …) masked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _next_action(
    page: _PageParser,
    base_url: str,
    *,
    mode: str,
    login: str,
    user_code: str | None,
    entered_code: bool,
) -> tuple[str, str, dict[str, str] | None, str] | None:
    """What to do on this page: (method, url, form data, description), or None when done."""
    for form in page.forms:
        action = urljoin(base_url, form.action or base_url)
        data = dict(form.fields)
        prompt = data.get("prompt")
        if prompt == "login":
            data.update(login=login, password="any-password")  # devInteractions take any
            return "POST", action, data, f"login as {login}"
        if prompt == "consent":
            if mode == "deny":
                abort = next(
                    (link for link in page.links if link.rstrip("/").endswith("/abort")), None
                )
                if abort is None:
                    raise BrowserError("the consent page has no cancel link")
                return "GET", urljoin(base_url, abort), None, "deny consent"
            return "POST", action, data, "grant consent"
        if form.id == "op.deviceInputForm":
            if entered_code:
                return None  # shown again after an abort or a bad code: nothing left to do
            if not user_code:
                raise BrowserError("the device page asks for a user code and none was given")
            data["user_code"] = user_code
            return "POST", action, data, "enter the user code"
        if form.id == "op.deviceConfirmForm":
            if mode == "device-deny":
                data.pop("confirm", None)
                data["abort"] = "yes"
                return "POST", action, data, "abort the device login"
            return "POST", action, data, "confirm the device"
        if form.method == "POST" and data and set(form.types.values()) == {"hidden"}:
            # A self-submitting form (response_mode form_post, device code prefill).
            return "POST", action, data, "submit the auto-submitting form"
    return None


def browse(
    url: str,
    *,
    mode: str,
    ca: ssl.SSLContext,
    login: str = "ada",
    user_code: str | None = None,
    timeout: float = 60.0,
) -> Record:
    """Follow `url` as a user in `mode` would, until a page with nothing left to do."""
    record = Record(mode=mode, start_url=redact(url))
    if mode == "ignore":
        record.actions.append("ignore the page")
        return record
    if user_code is None:
        user_code = dict(parse_qsl(urlsplit(url).query)).get("user_code")
    deadline = time.monotonic() + timeout
    method, target, data = "GET", url, None
    try:
        with httpx.Client(verify=ca, timeout=10.0, follow_redirects=False) as http:
            for _ in range(MAX_STEPS):
                if time.monotonic() > deadline:
                    raise BrowserError(f"gave up after {timeout:.0f} s")
                response = http.request(method, target, data=data)
                record.steps.append(
                    {"method": method, "url": redact(target), "status": response.status_code}
                )
                if response.is_redirect:
                    location = response.headers["location"]
                    method, target, data = "GET", urljoin(str(response.url), location), None
                    continue
                page = parse_page(response.text)
                step = _next_action(
                    page,
                    str(response.url),
                    mode=mode,
                    login=login,
                    user_code=user_code,
                    entered_code=bool(_CODE_SUBMITTED.intersection(record.actions)),
                )
                if step is None:
                    record.final_url = redact(str(response.url))
                    record.final_status = response.status_code
                    record.final_title = page.title.strip()
                    return record
                method, target, data, description = step
                record.actions.append(description)
            raise BrowserError(f"still browsing after {MAX_STEPS} pages")
    except Exception as exc:  # the record says what went wrong; the caller decides
        record.error = f"{type(exc).__name__}: {exc}"
        return record


# --------------------------------------------------------------------------------------
# Command line: detach (like a real browser), run, write the record.


def _trust() -> ssl.SSLContext:
    """Trust the e2e CA when one is named, else the system's CAs."""
    for name in ("E2E_BROWSER_CA", "ANACONDA_AUTH_SSL_VERIFY"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return ssl.create_default_context(cafile=value)
    return ssl.create_default_context()


def write_record(record: Record) -> None:
    """Write `record` as ``<time>-<pid>.json`` in ``E2E_BROWSER_LOG`` (else print it)."""
    log_dir = os.environ.get("E2E_BROWSER_LOG")
    text = json.dumps(asdict(record), indent=2)
    if not log_dir:
        print(text)
        return
    directory = Path(log_dir)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{time.time_ns()}-{os.getpid()}.tmp"
    tmp.write_text(text)
    tmp.rename(directory / f"{time.time_ns()}-{os.getpid()}.json")


def detach(script: str, argv: list[str], *, new_session: bool = False) -> int:
    """Start `script` again with ``--foreground`` in the background and return at once, as
    browsers do; `new_session` gives it its own process group (the test ends it whole)."""
    log_dir = os.environ.get("E2E_BROWSER_LOG")
    out: Any = subprocess.DEVNULL
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        out = (Path(log_dir) / "browser-stderr.log").open("ab")
    subprocess.Popen(
        [sys.executable, str(Path(script).resolve()), "--foreground", *argv],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        close_fds=True,
        start_new_session=new_session,
    )
    return 0


@dataclass
class Options:
    """One run of a scripted browser: its command line, with the ``E2E_BROWSER_*``
    environment variables as defaults."""

    url: str
    mode: str
    login: str
    user_code: str | None
    timeout: float
    foreground: bool
    argv: list[str]


def parse_options(argv: list[str] | None, description: str) -> Options:
    """The command line both browsers take: URL, ``--mode``, ``--user-code``, ``--login``,
    ``--foreground``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=description.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--mode", choices=MODES, default=None)
    parser.add_argument("--user-code", default=None)
    parser.add_argument("--login", default=None)
    parser.add_argument("--foreground", action="store_true", help="do not detach")
    args = parser.parse_args(args_list)
    return Options(
        url=args.url,
        mode=args.mode or os.environ.get("E2E_BROWSER_MODE") or "approve",
        login=args.login or os.environ.get("E2E_BROWSER_LOGIN") or "ada",
        user_code=args.user_code or os.environ.get("E2E_BROWSER_USER_CODE") or None,
        timeout=float(os.environ.get("E2E_BROWSER_TIMEOUT") or 60),
        foreground=args.foreground,
        argv=args_list,
    )


@contextlib.contextmanager
def pid_file() -> Iterator[None]:
    """``<pid>.pid`` in ``E2E_BROWSER_LOG`` while the run lasts (the tests wait for it)."""
    log_dir = os.environ.get("E2E_BROWSER_LOG")
    path = Path(log_dir) / f"{os.getpid()}.pid" if log_dir else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(os.getpid()))
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Open one URL (see the module docstring); exit 0 when the run ended on a page."""
    options = parse_options(argv, __doc__ or "")
    if not options.foreground and os.environ.get("E2E_BROWSER_FOREGROUND") != "1":
        return detach(__file__, options.argv)
    with pid_file():
        if options.mode not in MODES:
            print(
                f"browser.py: unknown mode {options.mode!r}; expected one of {MODES}",
                file=sys.stderr,
            )
            return 2
        try:
            record = browse(
                options.url,
                mode=options.mode,
                ca=_trust(),
                login=options.login,
                user_code=options.user_code,
                timeout=options.timeout,
            )
        except Exception:
            record = Record(
                mode=options.mode, start_url=redact(options.url), error=traceback.format_exc()
            )
        write_record(record)
        return 1 if record.error else 0


if __name__ == "__main__":
    sys.exit(main())
