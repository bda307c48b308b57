"""mkdocs hook: tables generated from the code, so no copy of them is kept by hand.

``<!-- settings-table -->`` becomes one row per field of `AnacondaAuthSettings`: its name,
the environment variables it reads (in order, the first wins), its default and its
description. ``<!-- exit-codes -->`` becomes the exit code table that ``anaconda-auth
--help`` prints. Docstrings end a paragraph that introduces a literal block with ``::``
(reStructuredText); the rendered pages show one colon.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- settings-table -->"
EXIT_CODES_MARKER = "<!-- exit-codes -->"


def settings_rows() -> list[tuple[str, list[str], str, str]]:
    """(name, environment variables, default, description) for every setting."""
    from pydantic import AliasChoices
    from pydantic_core import PydanticUndefined

    from anaconda_auth_async import AnacondaAuthSettings

    rows = []
    for name, field in AnacondaAuthSettings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            env = [str(choice) for choice in alias.choices if isinstance(choice, str)]
        elif isinstance(alias, str):
            env = [alias]
        else:
            env = []
        if field.default_factory is not None:
            default: Any = field.default_factory()  # type: ignore[call-arg]
        elif field.default is PydanticUndefined:
            default = None
        else:
            default = field.default
        rows.append((name, env, _show_default(default), field.description or ""))
    return rows


def _show_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, Path):
        home = str(Path.home())
        text = str(value)
        value = "~" + text[len(home) :] if text.startswith(home) else text
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, float):
        value = f"{value:g}"
    if value == {}:
        return "none"
    return f"`{value}`"


def settings_table() -> str:
    """The Markdown table of every setting."""
    lines = [
        "| setting, then its environment variables (the first set wins) | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, env, default, description in settings_rows():
        names = "".join(f"<br>`{e}`" for e in env)
        text = description.replace("|", "\\|")
        lines.append(f"| **`{name}`**{names} | {default} | {text} |")
    table = "\n".join(lines)
    return f'<div class="settings-table" markdown="1">\n\n{table}\n\n</div>'


def exit_codes_table() -> str:
    """The exit codes listed at the end of ``anaconda-auth --help``, as a Markdown table."""
    from anaconda_auth_async.cli import cli

    lines = ["| code | meaning |", "| --- | --- |"]
    listing = False
    for line in (cli.epilog or "").splitlines():
        if line.strip() == "Exit codes:":
            listing = True
            continue
        if listing and not line.strip():
            break
        if listing:
            code, meaning = line.split(maxsplit=1)
            meaning = meaning.replace("|", "\\|")
            lines.append(f"| `{code}` | {meaning} |")
    if len(lines) == 2:
        raise ValueError("anaconda-auth --help lists no exit codes")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker lines with the generated tables."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, settings_table())
    if EXIT_CODES_MARKER in markdown:
        markdown = markdown.replace(EXIT_CODES_MARKER, exit_codes_table())
    return markdown


def on_page_content(html: str, **_: Any) -> str:
    """Show a docstring's ``text::`` (which introduces a code block) as ``text:``."""
    return html.replace("::</p>", ":</p>")


if __name__ == "__main__":
    sys.stdout.write(settings_table() + "\n")
