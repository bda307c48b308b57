"""Developer sessions: `nox -s tests e2e interop docs` is what CI runs (see README.md)."""

from __future__ import annotations

import os
import shutil
import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "e2e", "interop", "docs"]
nox.options.reuse_existing_virtualenvs = True

PACKAGE = "anaconda_auth_async"


def _install(session: nox.Session, *extras: str) -> None:
    session.install("--upgrade", "pip")
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
"""Every Python that ``requires-python`` admits; `tests` runs on each of them."""

COVERAGE_PYTHON = "3.11"
"""The one Python whose `tests` run measures coverage (once is enough; it costs time)."""


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit and integration tests on every supported Python, on asyncio and trio.

    Coverage (with its 80% gate) is measured on `COVERAGE_PYTHON` only.
    """
    _install(session, "test")
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
    _install(session, "test")
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
