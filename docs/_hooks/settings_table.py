"""mkdocs hook: the settings table, generated from `AnacondaAuthSettings` itself.

A page that contains the line ``<!-- settings-table -->`` gets, in its place, one row per
field of the settings model: its name, the environment variables it reads (in order,
the first wins), its default and its description. The model is the one source of truth;
no copy of these names is kept by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- settings-table -->"


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
        "| setting | environment variables (first wins) | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, env, default, description in settings_rows():
        names = "<br>".join(f"`{e}`" for e in env) or "none"
        text = description.replace("|", "\\|")
        lines.append(f"| `{name}` | {names} | {default} | {text} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker line with the generated table."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, settings_table())


if __name__ == "__main__":
    sys.stdout.write(settings_table() + "\n")
