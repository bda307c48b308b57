"""Developer sessions: `nox -s tests e2e interop docs` is what CI runs (see README.md)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "e2e", "interop", "docs"]
nox.options.reuse_existing_virtualenvs = True
# A Python that `tests` promises but cannot find fails the run (nox would skip it and exit
# 0); `_report_missing_pythons` then ends the output with the one-line fix.
nox.options.error_on_missing_interpreters = True

PACKAGE = "anaconda_auth_async"


def _install(session: nox.Session, *extras: str) -> None:
    session.install("--upgrade", "pip")
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
"""Every Python that ``requires-python`` admits; `tests` runs on each of them."""

COVERAGE_PYTHON = "3.11"
"""The one Python whose `tests` run measures coverage (once is enough; it costs time), and
the one whose venv also gets Panel, so tests/test_panel.py runs (elsewhere it skips)."""


def _answers(version: str) -> bool:
    """Whether ``python<version>`` is on PATH and runs (a pyenv shim of a version that is
    installed but not selected is on PATH and fails)."""
    found = shutil.which(f"python{version}")
    if found is None:
        return False
    run = subprocess.run([found, "-c", "pass"], capture_output=True, check=False)
    return run.returncode == 0


def _asked_for_every_python() -> bool:
    """Whether this nox run asked for `tests` on every Python (``-s tests``, or the defaults)."""
    args = sys.argv[1:]
    narrowed = {"-l", "--list", "--list-sessions", "-p", "--python", "--pythons", "-k"}
    if narrowed & set(args) or any(a.startswith(("--python=", "--pythons=")) for a in args):
        return False  # a listing, or a run narrowed to some Pythons on purpose
    named = os.environ.get("NOXSESSION", "").split(",") if os.environ.get("NOXSESSION") else []
    for i, arg in enumerate(args):
        if arg in ("-s", "--session", "--sessions", "-e"):
            for name in args[i + 1 :]:
                if name.startswith("-"):
                    break
                named.append(name)
        elif arg.startswith("--sessions=") or arg.startswith("--session="):
            named += arg.split("=", 1)[1].split(",")
    return not named or "tests" in named


def _report_missing_pythons() -> None:
    """Last lines of a run: which Pythons `tests` could not find, and the one-line fix."""
    missing = [v for v in PYTHONS if not _answers(v)]
    if not missing or not _asked_for_every_python():
        return
    found = [v for v in PYTHONS if v not in missing]
    print(
        f"nox > tests ran on Python {', '.join(found) or 'none'}; Python "
        f"{', '.join(missing)} not found (python{missing[0]} must be on PATH and run), "
        "so those sessions failed and their tests did not run.",
        file=sys.stderr,
    )
    print(f"nox > Fix: {_fix(missing, found)}", file=sys.stderr)


def _fix(missing: list[str], found: list[str]) -> str:
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        listed = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
        ).stdout.split()
        newest = {v: max((n for n in listed if n.startswith(f"{v}.")), default="") for v in PYTHONS}
        absent = [v for v, name in newest.items() if not name]
        if absent:
            return f"pyenv install {' '.join(absent)}, then run this again for the next step"
        # Installed, not selected: select them all, this Python first (it runs nox), as
        # .ci/run does.
        this = f"{sys.version_info.major}.{sys.version_info.minor}"
        chosen = sorted(newest.values(), key=lambda name: not name.startswith(f"{this}."))
        return f"export PYENV_VERSION={':'.join(chosen)}  (then run the same command again)"
    sessions = " ".join(f"tests-{v}" for v in found) or "tests-3.12"
    return (
        f"install Python {', '.join(missing)} so python{missing[0]} is on PATH, or run only "
        f"the ones you have: python3 -m nox -s {sessions} e2e interop docs"
    )


atexit.register(_report_missing_pythons)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit and integration tests on every supported Python, on asyncio and trio.

    Coverage (with its 80% gate) is measured on `COVERAGE_PYTHON` only.
    """
    # Unit-test venvs hold what unit tests import; Panel (with Bokeh) only on the one
    # Python that measures coverage, so the Panel handler's tests run once.
    _install(session, "test", *(["panel"] if session.python == COVERAGE_PYTHON else []))
    pytest_args = ["tests", "--ignore=tests/e2e", "-q", "-p", "no:cacheprovider", *session.posargs]
    if session.python != COVERAGE_PYTHON:
        session.run("pytest", *pytest_args)
        return
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *pytest_args)
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report", "--fail-under=80")


@nox.session
def e2e(session: nox.Session) -> None:
    """End-to-end tests against a real OpenID Connect provider (oidc-provider on Node).

    Needs Node.js 20.19+ and npm: without them the session skips, except under CI=true,
    where it fails. `npm ci` installs the lockfile's packages in tests/e2e/provider.
    The real-browser tests also need Chromium and chromedriver (Debian's `chromium` and
    `chromium-driver`): without them they skip with a warning, and under CI=true fail.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        message = "the e2e tests need Node.js 20.19+ and npm on PATH"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            session.error(message)
        session.skip(message)
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        message = (
            "Chromium or chromedriver is not on PATH: the real-browser e2e tests "
            "(tests/e2e/test_e2e_chromium.py) need them; on Debian/Ubuntu "
            "`sudo apt-get install chromium chromium-driver` (.ci/run does this in CI)"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            session.error(message)
        session.warn(f"{message}; they will be skipped")
    _install(session, "test", "e2e")
    with session.chdir("tests/e2e/provider"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run("pytest", "-m", "e2e", "tests/e2e", *session.posargs)


INTEROP_PACKAGES = {
    "INTEROP_PYTHON_ANACONDA_AUTH": "anaconda-auth==0.15.3",
    "INTEROP_PYTHON_ANACONDA_CLOUD_AUTH": "anaconda-cloud-auth==0.6.0",
}


@nox.session
def interop(session: nox.Session) -> None:
    """One login shared with the real anaconda-auth 0.15.3 and anaconda-cloud-auth 0.6.0.

    Each is installed from PyPI into its own venv (anaconda-auth ships an
    anaconda_cloud_auth shim, so they cannot share one); tests/interop runs every storage
    scenario of docs/storage.md across the process boundary, in a throwaway HOME.
    """
    _install(session, "test")
    env = {}
    for variable, requirement in INTEROP_PACKAGES.items():
        name = requirement.split("==")[0]
        venv = os.path.abspath(os.path.join(session.create_tmp(), f"venv-{name}"))
        session.run(sys.executable, "-m", "venv", "--clear", venv, external=True)
        python = os.path.join(venv, "bin", "python")
        session.run(
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            requirement,
            external=True,
        )
        env[variable] = python
    session.run("pytest", "tests/interop", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with mkdocs --strict into build/site.

    Fails on a broken link or reference, and (docs/_hooks/check_reference.py) when a
    public name or an ``anaconda-auth`` command or option has no reference entry. The
    examples of README.md and docs/ are run by the e2e session
    (tests/e2e/test_e2e_examples.py), against its provider.
    """
    _install(session, "docs")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        "build/site",
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    _install(session, "typecheck")
    session.run("mypy", "--strict", PACKAGE)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against bare httpx run side by side (see docs/performance.md)."""
    _install(session, "bench", "test")
    session.run("python", "bench/run.py", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session(name="tests-lowest")
def tests_lowest(session: nox.Session) -> None:
    """The unit tests against the lowest versions pyproject.toml allows."""
    session.install("uv")
    session.run(
        "uv",
        "pip",
        "install",
        "--python",
        str(session.virtualenv.location),
        "--resolution",
        "lowest-direct",
        "-e",
        ".[test]",
    )
    session.run("pytest", "tests", "--ignore=tests/e2e", "-q", *session.posargs)
