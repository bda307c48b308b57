"""docs/internals.md's module list is the import order: every module is in it, and each
imports (at run time, eagerly or on use) only modules listed below it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "anaconda_auth_async"


def listed_modules() -> list[str]:
    text = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    names: list[str] = []
    for line in block.splitlines():
        head = line.split("  ")[0]  # the module names, before the description
        names += re.findall(r"[\w/]+\.py", head)
    return names


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module path)`` of each package-relative import not under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(sub) for sub in ast.walk(node))
    here = path.relative_to(PACKAGE).parent
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0 or id(node) in typing_only:
            continue
        base = here
        for _ in range(node.level - 1):
            base = base.parent
        targets = [base / node.module.replace(".", "/")] if node.module else []
        targets += [] if node.module else [base / alias.name for alias in node.names]
        for target in targets:
            for candidate in (f"{target}.py", f"{target}/__init__.py"):
                if (PACKAGE / candidate).is_file():
                    found.append((node.lineno, str(Path(candidate))))
    return found


def test_every_module_is_listed_once() -> None:
    listed = listed_modules()
    modules = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    } | {"_flows/__init__.py"}
    assert sorted(set(listed)) == sorted(listed), "a module is listed twice"
    assert set(listed) == modules


def test_every_import_points_down_the_list() -> None:
    position = {name: i for i, name in enumerate(listed_modules())}
    upward = [
        f"{module} line {line} imports {target}"
        for module in position
        for line, target in runtime_imports(PACKAGE / module)
        if target != module and position.get(target, len(position)) <= position[module]
    ]
    assert upward == []
