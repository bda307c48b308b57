"""A real browser for the end-to-end tests: headless Chromium, used through ``BROWSER``.

Python's `webbrowser` runs ``BROWSER="python chromium.py %s"`` and waits for it. Like a
desktop browser this returns at once: it starts a detached child in its own session
(stdin, stdout and stderr not inherited, so a caller that captures the output of
``anaconda-auth login`` is not held open by the browser) and exits 0. The child starts
headless Chromium through Selenium and the system's chromedriver, opens the URL and
acts like a person on the provider's pages: it types the login and password into the
form and clicks "Sign-in", clicks "Continue" (or "[ Cancel ]") at consent, types the
user code on the device page. When a page with nothing left to do has settled, it saves
a screenshot, writes a JSON record (the same shape as ``browser.py``'s) and then keeps
Chromium open on that page, as a person's browser stays open, until it gets SIGTERM or
``E2E_BROWSER_LINGER`` seconds pass; then it quits Chromium and exits.

Modes (``E2E_BROWSER_MODE`` or ``--mode``) are ``browser.py``'s: ``approve``, ``deny``,
``device``, ``device-deny``, ``ignore``.

Environment, besides ``browser.py``'s ``E2E_BROWSER_LOGIN``, ``E2E_BROWSER_LOG`` (records,
and ``<pid>.pid`` while a run is alive; the pid is also its process group) and
``E2E_BROWSER_TIMEOUT``:

- ``E2E_BROWSER_TRUST_CERT``: a PEM certificate whose key Chromium accepts (the e2e server
  certificate), through ``--ignore-certificate-errors-spki-list``: exactly that key is
  trusted, every other certificate error still stops the page.
- ``E2E_BROWSER_ARTIFACTS``: the directory for screenshots (``<name>-<n>.png``).
- ``E2E_BROWSER_NAME``: the screenshot's name (default ``chromium``).
- ``E2E_BROWSER_PROBE``: loopback paths (comma separated) to open on the redirect URI's
  origin before the login page, as a person with a stale tab or Chromium's own favicon
  fetch would.
- ``E2E_BROWSER_LINGER``: seconds to keep Chromium open on the final page (default 60).
- ``E2E_BROWSER_EXPECT``: text the final page is waited for (within the time limit) before
  its screenshot, for pages that render by script after they load (a Panel app).
- ``E2E_CHROMIUM`` / ``E2E_CHROMEDRIVER``: the binaries (default ``/usr/bin/chromium`` and
  ``/usr/bin/chromedriver``, else ``chromium`` / ``chromedriver`` on PATH).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# The scripted browser's record format and helpers; this file sits beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import Record, detach, parse_options, pid_file, redact, write_record

SETTLE = 0.4  # seconds a page must stay put (URL and document) to count as final
POLL = 0.05
_ENV_DEFAULTS = {"chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver"}

# What kind of page this is, from the provider's pages' own markup.
_PAGE_KIND_JS = """
const prompt = document.querySelector('form input[name="prompt"]');
const kind = prompt ? prompt.value
  : document.getElementById('op.deviceInputForm') ? 'device-input'
  : document.getElementById('op.deviceConfirmForm') ? 'device-confirm'
  : [...document.forms].some((f) => f.elements.length
      && [...f.elements].every((e) => e.type === 'hidden')) ? 'auto-submit'
  : 'other';
window.__e2eId = window.__e2eId || Math.random().toString(36).slice(2);
return [kind, document.readyState, location.href, document.title, !!window.__e2eActed,
        window.__e2eId];
"""


def chromium_missing_reason() -> str | None:
    """Why a real-browser test cannot run here (no Chromium, chromedriver or Selenium)."""
    missing = [name for name in _ENV_DEFAULTS if binary(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not found; the real-browser e2e tests need Chromium and "
        "its driver: `sudo apt-get install chromium chromium-driver` on Debian/Ubuntu "
        "(or set E2E_CHROMIUM and E2E_CHROMEDRIVER to the binaries)"
    )


def binary(name: str) -> str | None:
    """The path of ``chromium`` or ``chromedriver``: the E2E_* variable, Debian's, PATH."""
    configured = os.environ.get(f"E2E_{name.upper()}")
    for candidate in (configured, _ENV_DEFAULTS[name], shutil.which(name)):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    return None


def spki_hash(pem_path: str) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate, as Chromium wants it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(Path(pem_path).read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_arguments(user_data_dir: str, trust_cert: str | None) -> list[str]:
    """The command-line switches: headless, as root, no traffic of its own, fresh profile."""
    args = [
        "--headless",
        "--no-sandbox",  # we are root in CI
        "--disable-gpu",
        "--disable-quic",
        "--disable-dev-shm-usage",  # containers have a small /dev/shm
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",  # the network is closed: no update or sync calls
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1024,768",
        f"--user-data-dir={user_data_dir}",
    ]
    if trust_cert:
        args.append(f"--ignore-certificate-errors-spki-list={spki_hash(trust_cert)}")
    return args


def processes_naming(path: Path) -> list[int]:
    """Pids of the processes whose command line names `path` (this module's own excepted).

    Chromium's crash handler leaves the process group (it runs in its own session): it is
    found by the profile directory on its command line, which is unique to one run.
    """
    if not Path("/proc").is_dir():
        return []
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone already
            continue
    return found


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name: state, ppid, pgrp, ... ([] if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def is_running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie waiting for PID 1 has)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] not in {"Z", "X"}


def group_members(pgid: int) -> list[int]:
    """The running processes of process group `pgid`."""
    if not Path("/proc").is_dir():
        return []
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
                members.append(int(entry.name))
    return members


def _end_processes(path: Path, timeout: float = 3.0) -> None:
    """Wait for Chromium's stragglers (found by `path`) to exit; SIGKILL what remains."""
    deadline = time.monotonic() + timeout
    while processes_naming(path) and time.monotonic() < deadline:
        time.sleep(POLL)
    for pid in processes_naming(path):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class Stopped(BaseException):
    """SIGTERM arrived: quit Chromium and exit."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Stopped


# --------------------------------------------------------------------------------------
# A person at the keyboard.


class Person:
    """Drives one Chromium window through the provider's pages for a mode."""

    def __init__(self, driver: Any, record: Record, *, mode: str, login: str, user_code: str):
        self.driver = driver
        self.record = record
        self.mode = mode
        self.login = login
        self.user_code = user_code
        self.entered_code = False

    def page(self) -> tuple[str, str, str, str, bool, str]:
        """The page's kind, readyState, URL, title, whether we acted on it, its identity."""
        kind, ready, url, title, acted, identity = self.driver.execute_script(_PAGE_KIND_JS)
        return str(kind), str(ready), str(url), str(title), bool(acted), str(identity)

    def act(self, kind: str) -> bool:
        """Do what a person does on this page; False when there is nothing to do."""
        from selenium.webdriver.common.by import By

        find = self.driver.find_element
        if kind == "login":
            find(By.NAME, "login").send_keys(self.login)
            find(By.NAME, "password").send_keys("any-password")  # devInteractions take any
            self._click(find(By.CSS_SELECTOR, "button[type=submit]"), f"login as {self.login}")
        elif kind == "consent" and self.mode == "deny":
            self._click(find(By.CSS_SELECTOR, "a[href$='/abort']"), "deny consent")
        elif kind == "consent":
            self._click(find(By.CSS_SELECTOR, "button[type=submit]"), "grant consent")
        elif kind == "device-input" and not self.entered_code:
            if not self.user_code:
                raise RuntimeError("the device page asks for a user code and none was given")
            find(By.NAME, "user_code").send_keys(self.user_code)
            self.entered_code = True
            self._click(find(By.CSS_SELECTOR, "button[type=submit]"), "enter the user code")
        elif kind == "device-confirm" and self.mode == "device-deny":
            self._click(find(By.CSS_SELECTOR, "button[name=abort]"), "abort the device login")
        elif kind == "device-confirm":
            self._click(
                find(By.CSS_SELECTOR, "button[type=submit]:not([name=abort])"),
                "confirm the device",
            )
        else:
            return False
        return True

    def _click(self, element: Any, description: str) -> None:
        self.driver.execute_script("window.__e2eActed = true;")
        self.record.actions.append(description)
        element.click()

    def browse(self, url: str, deadline: float) -> None:
        """Open `url` and act on each page until one has nothing to do and settles."""
        self.driver.get(url)
        stable_since, last = time.monotonic(), ("", "")
        while time.monotonic() < deadline:
            try:
                kind, ready, current, title, acted, identity = self.page()
            except Exception:  # between two documents: the script found none
                time.sleep(POLL)
                continue
            if not self.record.steps or self.record.steps[-1]["url"] != redact(current):
                self.record.steps.append({"url": redact(current), "kind": kind})
            if ready == "complete" and not acted and self.act(kind):
                continue
            if (identity, ready) != last:
                last, stable_since = (identity, ready), time.monotonic()
            elif (
                ready == "complete"
                and not acted  # after a click the old page stays until the answer comes
                and kind != "auto-submit"
                and time.monotonic() - stable_since >= SETTLE
            ):
                self.record.final_url = redact(current)
                self.record.final_title = title.strip()
                return
            time.sleep(POLL)
        raise RuntimeError(f"gave up after {os.environ.get('E2E_BROWSER_TIMEOUT', 60)} s")


def _probe(driver: Any, url: str, paths: str, record: Record) -> None:
    """Open loopback paths on the redirect URI's origin first (a stale tab, a favicon)."""
    # The login's single-use start link is on the listener itself; an authorize URL
    # names it in redirect_uri.
    redirect = dict(parse_qsl(urlsplit(url).query)).get("redirect_uri")
    if not redirect and urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        redirect = url
    if not redirect:
        return
    origin = urlsplit(redirect)
    for path in filter(None, (p.strip() for p in paths.split(","))):
        driver.get(urlunsplit((origin.scheme, origin.netloc, path, "", "")))
        record.actions.append(f"open {path} on the loopback listener")


# The page's visible text, shadow DOM included (Panel/Bokeh render inside shadow roots).
_VISIBLE_TEXT_JS = """
const parts = [document.body ? document.body.innerText : ''];
const walk = (root) => root.querySelectorAll('*').forEach((element) => {
  if (!element.shadowRoot) return;
  for (const child of element.shadowRoot.children) {
    if (!['STYLE', 'SCRIPT', 'LINK'].includes(child.tagName)) parts.push(child.innerText || '');
  }
  walk(element.shadowRoot);
});
walk(document);
return parts.filter((part) => part.trim()).join('\\n');
"""


def _wait_for_text(driver: Any, expected: str | None, deadline: float) -> str:
    """The page's visible text, once it shows `expected` (pages rendered by script)."""
    while True:
        text = str(driver.execute_script(_VISIBLE_TEXT_JS))
        if not expected or expected in text or time.monotonic() > deadline:
            return text[:2000]
        time.sleep(POLL)


def _screenshot(driver: Any, record: Record) -> None:
    directory = os.environ.get("E2E_BROWSER_ARTIFACTS")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    name = os.environ.get("E2E_BROWSER_NAME") or "chromium"
    n = 1
    while (path := Path(directory) / f"{name}-{n}.png").exists():
        n += 1
    driver.save_screenshot(str(path))
    record.screenshot = str(path)


def run(url: str, *, mode: str, login: str, user_code: str, timeout: float, linger: float) -> int:
    """Drive one Chromium through `url`; keep it on the final page until stopped."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    record = Record(mode=mode, start_url=redact(url))
    if not user_code:
        user_code = dict(parse_qsl(urlsplit(url).query)).get("user_code", "")
    if mode == "ignore":
        record.actions.append("ignore the page")
        write_record(record)
        return 0
    chromium, chromedriver = binary("chromium"), binary("chromedriver")
    if chromium is None or chromedriver is None:
        record.error = chromium_missing_reason()
        write_record(record)
        return 1
    # Chromium's profile, crash database and any dot-file go under one fresh directory
    # (in the test's browser log directory when there is one), removed at the end.
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=os.environ.get("E2E_BROWSER_LOG")))
    os.environ.update(HOME=str(profile), XDG_CONFIG_HOME=str(profile / "config"))
    os.environ.update(XDG_CACHE_HOME=str(profile / "cache"))
    driver = None
    written = False
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        trust_cert = os.environ.get("E2E_BROWSER_TRUST_CERT")
        for argument in chromium_arguments(str(profile / "user-data"), trust_cert):
            options.add_argument(argument)
        # A path for the driver: Selenium Manager is never asked (and never downloads).
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        driver.set_page_load_timeout(timeout)
        deadline = time.monotonic() + timeout
        if probe := os.environ.get("E2E_BROWSER_PROBE"):
            _probe(driver, url, probe, record)
        Person(driver, record, mode=mode, login=login, user_code=user_code).browse(url, deadline)
        record.final_text = _wait_for_text(driver, os.environ.get("E2E_BROWSER_EXPECT"), deadline)
        _screenshot(driver, record)
        write_record(record)
        written = True
        end = time.monotonic() + linger  # stay on the page, as a person's browser does
        while time.monotonic() < end:
            time.sleep(0.2)
        return 0
    except Stopped:
        return 0
    except Exception as exc:  # the record says what went wrong; the test decides
        record.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if driver is not None:
            with contextlib.suppress(Exception):  # the error above is what matters
                record.final_url = redact(driver.current_url)
                _screenshot(driver, record)
        return 1
    finally:
        if not written:
            write_record(record)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # quitting must not be interrupted
        if driver is not None:
            with contextlib.suppress(Exception):  # else the fixture kills the process group
                driver.quit()
        _end_processes(profile)
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Open one URL in headless Chromium (see the module docstring)."""
    options = parse_options(argv, __doc__ or "")
    if not options.foreground:
        return detach(__file__, options.argv, new_session=True)

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download
    signal.signal(signal.SIGTERM, _on_sigterm)
    with pid_file():
        try:
            return run(
                options.url,
                mode=options.mode,
                login=options.login,
                user_code=options.user_code or "",
                timeout=options.timeout,
                linger=float(os.environ.get("E2E_BROWSER_LINGER") or 60),
            )
        except Stopped:
            return 0


if __name__ == "__main__":
    sys.exit(main())
