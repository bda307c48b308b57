"""mkdocs hook: fail the build unless the reference covers every public name and option.

The API page groups the names of `anaconda_auth_async` by task; a name in its ``__all__``
that the page does not mention yet is listed under "Other names" at the end, so a new
public name is documented from its docstring before anyone places it.

After the site is built, every name in the ``__all__`` of each module in
`PUBLIC_MODULES` must have an entry in the site's ``objects.inv`` (an API reference
section), and every ``anaconda-auth`` command and option must appear on the command line
reference page.
"""

from __future__ import annotations

import importlib
import re
import zlib
from pathlib import Path
from typing import Any

import click
from mkdocs.exceptions import PluginError

PUBLIC_MODULES = (
    "anaconda_auth_async",
    "anaconda_auth_async.sync",
    "anaconda_auth_async.testing",
    "anaconda_auth_async.pytest_plugin",
    "anaconda_auth_async.panel",
    "anaconda_auth_async.cli",
)
CLI_PAGE = Path("reference", "cli", "index.html")


def documented_names(site_dir: Path) -> set[str]:
    """The Python names listed in the built site's Sphinx inventory."""
    raw = (site_dir / "objects.inv").read_bytes()
    body = raw.split(b"\n", 4)[4]
    names = set()
    for line in zlib.decompress(body).decode().splitlines():
        name, domain_role = line.split(" ", 2)[:2]
        if domain_role.startswith("py:"):
            names.add(name)
    return names


def missing_api_names(site_dir: Path) -> list[str]:
    """Public names (module.name) without an API reference entry."""
    documented = documented_names(site_dir)
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if f"{module_name}.{name}" not in documented:
                missing.append(f"{module_name}.{name}")
    return missing


def missing_cli_items(site_dir: Path) -> list[str]:
    """Commands and options of ``anaconda-auth`` not on the command line reference page."""
    from anaconda_auth_async.cli import cli

    page = (site_dir / CLI_PAGE).read_text(encoding="utf-8")
    missing = []

    def visit(command: click.Command, path: str) -> None:
        if command.name and command.name not in page:
            missing.append(path)
        for param in command.params:
            if getattr(param, "hidden", False):
                continue  # a deprecated spelling (--domain): in docs/cli.md's prose, not the table
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-") and opt not in page:
                    missing.append(f"{path} {opt}")
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                visit(sub, f"{path} {name}")

    visit(cli, "anaconda-auth")
    return missing


API_PAGE = "reference/api.md"


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    """Append an entry for every public name the API page does not mention."""
    if page.file.src_uri != API_PAGE:
        return markdown
    module = importlib.import_module(PUBLIC_MODULES[0])
    placed = set(re.findall(r"^::: anaconda_auth_async\.(\w+)\s*$", markdown, re.MULTILINE))
    others = [name for name in module.__all__ if name not in placed]
    if not others:
        return markdown
    entries = "\n\n".join(f"::: {PUBLIC_MODULES[0]}.{name}" for name in others)
    return f"{markdown.rstrip()}\n\n## Other names\n\n{entries}\n"


def on_post_build(config: Any, **_: Any) -> None:
    """Abort the build when a public name or a CLI command/option is not documented."""
    site_dir = Path(config["site_dir"])
    missing = missing_api_names(site_dir) + missing_cli_items(site_dir)
    if missing:
        raise PluginError("not in the reference: " + ", ".join(missing))
