"""Every Python and shell example of README.md and docs/ runs, against the e2e provider.

Each fenced ``python`` block runs as a script in a fresh process, and each ``shell``
block in ``bash -e -o pipefail``, as a reader would paste them: with the settings of
the provider and API emulator of tests/e2e in the environment, the scripted browser
as ``BROWSER``, its CA trusted (``SSL_CERT_FILE``), and a throwaway ``HOME`` per page.
The blocks of one page run in order in that page's HOME and working directory, which
starts logged in (``anaconda-auth login``), because the reader of a guide has logged in
already. ``https://anaconda.cloud`` and ``https://id.anaconda.cloud`` in an example are
read as the emulator's and the provider's origins.

An HTML comment on the line before a block changes how it runs (it is not rendered):

- ``<!-- example: skip: REASON -->`` does not run it (counted and printed as skipped);
- ``<!-- example: notebook -->`` runs it as a notebook cell: top-level ``await`` allowed,
  inside a running asyncio event loop, as in Jupyter;
- ``<!-- example: pytest -->`` runs it as a test file with ``python -m pytest``;
- ``<!-- example: exit N -->`` expects a shell block to exit with status N.

``<!-- examples: logged out -->`` anywhere in a page starts that page logged out;
``<!-- examples: offline -->`` runs its blocks logged out and without the servers'
settings in the environment (for pages about settings, which need no network); and
``<!-- examples: skip: REASON -->`` skips every block of the page. Other languages
(``text``, ``json``, ``toml``, ...) are shown, not run, and counted apart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import E2E, STEP_TIMEOUT

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LOGGED_IN = "<the HOME whose login every page copies>"
PYTHON = frozenset({"python", "py", "python3"})
SHELL = frozenset({"shell", "sh", "bash"})
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"<!--\s*example:\s*(?P<what>[\w-]+)\s*:?\s*(?P<arg>.*?)\s*-->")
PAGE_MARKER = re.compile(r"<!--\s*examples:\s*(?P<what>[\w ]+?)\s*(?::\s*(?P<arg>.*?))?\s*-->")

# Run a file as a Jupyter cell would: top-level await, in a running asyncio loop.
NOTEBOOK_DRIVER = """
import ast, asyncio, sys
path = sys.argv[1]
code = compile(open(path).read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
async def cell():
    result = eval(code, {"__name__": "__main__"})
    if asyncio.iscoroutine(result):
        await result
asyncio.run(cell())
"""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    page: str
    line: int
    lang: str
    code: str
    marker: str | None
    marker_arg: str

    @property
    def kind(self) -> str:
        """'python', 'shell' or 'other'."""
        if self.lang in PYTHON:
            return "python"
        if self.lang in SHELL:
            return "shell"
        return "other"


def pages() -> list[Path]:
    """README.md and every Markdown page of docs/, in a stable order."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_hooks" not in p.parts)
    return [ROOT / "README.md", *docs]


def parse(path: Path) -> list[Block]:
    """The fenced blocks of one page, with the marker comment before each."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, lang = match["indent"], match["fence"], match["lang"].lower()
        previous = next((line for line in reversed(lines[:i]) if line.strip()), "")
        marker = MARKER.search(previous)
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        start = i - len(body)
        blocks.append(
            Block(
                page,
                start,
                lang,
                "\n".join(body) + "\n",
                marker["what"] if marker else None,
                marker["arg"] if marker else "",
            )
        )
        i += 1
    return blocks


def page_markers(page: str) -> dict[str, str]:
    """The page-level ``<!-- examples: ... -->`` markers of a page."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return {m["what"].strip(): m["arg"] or "" for m in PAGE_MARKER.finditer(text)}


ALL_BLOCKS = [block for path in pages() for block in parse(path)]
CODE_BLOCKS = [block for block in ALL_BLOCKS if block.kind != "other"]


def skip_reason(block: Block) -> str | None:
    """Why a block is deliberately not run, or None."""
    page_skip = page_markers(block.page).get("skip")
    if page_skip is not None:
        return page_skip or "page marked"
    if block.marker == "skip":
        return block.marker_arg or "marked"
    return None


class Summary:
    """Prints the counts at the end of the run (a pytest plugin registered once)."""

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        kinds = Counter(block.kind for block in ALL_BLOCKS)
        skipped = [b for b in CODE_BLOCKS if skip_reason(b) is not None]
        ran = Counter(b.kind for b in CODE_BLOCKS if skip_reason(b) is None)
        write = terminalreporter.write_line
        terminalreporter.section("documentation examples")
        write(
            f"{len(ALL_BLOCKS)} fenced blocks in README.md and docs/: "
            f"{kinds['python']} python, {kinds['shell']} shell, {kinds['other']} other "
            "(shown, not run)"
        )
        write(
            f"run: {ran['python']} python, {ran['shell']} shell; "
            f"deliberately not run (marked): {len(skipped)}"
        )
        for block in skipped:
            write(f"  not run: {block.page}:{block.line} ({skip_reason(block)})")


@pytest.fixture(scope="module")
def homes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """One throwaway HOME per page (filled in by `page_home`), and the summary plugin."""
    plugin = Summary()
    request.config.pluginmanager.register(plugin, "documentation-examples-summary")
    return {}


def page_home(e2e: E2E, homes: dict[str, Path], page: str, tmp_root: Path) -> Path:
    """The page's HOME; on first use, holding the key of an ``anaconda-auth login``.

    One HOME, used by no example, logs in for real once; each page gets a copy of its
    keyring file, as if its reader had logged in (a login per page costs a browser run).
    """
    keyring = Path(".anaconda", "keyring")
    home = homes.get(page)
    fresh = home is None
    if home is None:
        home = tmp_root / re.sub(r"\W", "_", page)
        (home / "work").mkdir(parents=True)
        homes[page] = home
    e2e.delenv("ANACONDA_AUTH_KEYRING_PATH")  # the default, ~/.anaconda/keyring
    markers = page_markers(page)
    if fresh and "logged out" not in markers and "offline" not in markers:
        if LOGGED_IN not in homes:
            homes[LOGGED_IN] = tmp_root / "logged-in"
            e2e.setenv("HOME", str(homes[LOGGED_IN]))
            login = e2e.run_cli("login")
            assert login.returncode == 0, login.stderr
        (home / keyring).parent.mkdir(mode=0o700)
        shutil.copy2(homes[LOGGED_IN] / keyring, home / keyring)
    e2e.setenv("HOME", str(home))
    return home


def localise(code: str, e2e: E2E) -> str:
    """Point the public origins in an example at the provider and the API emulator."""
    code = code.replace("https://id.anaconda.cloud", f"https://{e2e.server.auth_domain}")
    return code.replace("https://anaconda.cloud", e2e.server.api_origin)


@pytest.mark.parametrize("block", CODE_BLOCKS, ids=[f"{b.page}:{b.line}" for b in CODE_BLOCKS])
def test_example(
    block: Block,
    e2e: E2E,
    homes: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    reason = skip_reason(block)
    if reason is not None:
        pytest.skip(f"marked not to run: {reason}")
    root = tmp_path_factory.getbasetemp() / "examples"
    home = page_home(e2e, homes, block.page, root)
    prefix = "test_example" if block.marker == "pytest" else "example"
    script = home / f"{prefix}_{block.line}.{'py' if block.kind == 'python' else 'sh'}"
    script.write_text(localise(block.code, e2e), encoding="utf-8")
    bin_dir = str(Path(sys.executable).parent)
    env = e2e.subprocess_env(
        HOME=str(home),
        SSL_CERT_FILE=e2e.server.ca_bundle,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    if "offline" in page_markers(block.page):
        env = {k: v for k, v in env.items() if not k.startswith("ANACONDA_")}
    if block.kind == "python" and block.marker == "notebook":
        command = [sys.executable, "-c", NOTEBOOK_DRIVER, str(script)]
    elif block.kind == "python" and block.marker == "pytest":
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    elif block.kind == "python":
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)]
    result = subprocess.run(
        command,
        cwd=home / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    sys.stdout.write(result.stdout)  # shown by pytest -rP, and with a failure
    sys.stderr.write(result.stderr)
    expected = int(block.marker_arg) if block.marker == "exit" else 0
    assert result.returncode == expected, (
        f"{block.page}:{block.line} exited {result.returncode} (expected {expected})\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
