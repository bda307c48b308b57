"""The package's layout is the one docs/internals.md draws.

docs/internals.md's module list is the import order: every module is in it once, grouped by
folder, and each imports (at run time, eagerly or on use) only modules listed below it, so a
folder imports only the folders below it. Each folder's ``__init__.py`` is a docstring that
lists its modules in that same order and names what the folder never imports (other folders
and third-party packages); both are checked here against the code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "anaconda_auth_async"
FOLDERS = sorted(str(init.parent.relative_to(PACKAGE)) for init in PACKAGE.rglob("__init__.py"))[
    1:
]  # "." (the package itself) sorts first
MAX_LINES = 400


def listed_modules() -> list[str]:
    text = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def _typing_only(tree: ast.AST) -> set[int]:
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(sub) for sub in ast.walk(node))
    return typing_only


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module path)`` of each package-relative import not under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _typing_only(tree)
    here = path.relative_to(PACKAGE).parent
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0 or id(node) in typing_only:
            continue
        base = here
        for _ in range(node.level - 1):
            base = base.parent
        targets = [base / node.module.replace(".", "/")] if node.module else [base]
        targets += [targets[0] / alias.name for alias in node.names]
        for target in targets:
            for candidate in (f"{target}.py", f"{target}/__init__.py"):
                if (PACKAGE / candidate).is_file() and candidate != "__init__.py":
                    found.append((node.lineno, str(Path(candidate))))
    return found


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports `path` makes at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _typing_only(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def folder_docstring(folder: str) -> str:
    doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text("utf-8")))
    assert doc, f"{folder}/__init__.py has no docstring"
    return doc


def test_every_module_is_listed_once() -> None:
    listed = listed_modules()
    modules = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }
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


def test_folders_are_listed_together() -> None:
    # a nested folder (logins/flows) sits inside its parent's run
    seen: list[str] = []
    *modules, last = listed_modules()
    assert last == "_version.py"  # a leaf every layer may read: listed last, alone
    for module in modules:
        folder = Path(module).parts[0] if "/" in module else "."
        if not seen or seen[-1] != folder:
            assert folder not in seen, f"{folder}/ is split in the list at {module}"
            seen.append(folder)


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_folders_docstring_lists_its_modules_in_order(folder: str) -> None:
    listed = [
        Path(module).stem for module in listed_modules() if str(Path(module).parent) == folder
    ]
    section = folder_docstring(folder).split("Modules, in import order")[1]
    in_doc = re.findall(r"^    (\w+)$", section, flags=re.MULTILINE)
    assert in_doc == listed


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_folder_never_imports_what_its_docstring_forbids(folder: str) -> None:
    text = " ".join(folder_docstring(folder).split())
    line = re.search(r"Never imports: (.+?)\. Modules", text)
    assert line, f"{folder}/__init__.py does not say what it never imports"
    forbidden = {name.strip() for name in re.split(r"[,;]", line.group(1))}
    folders = forbidden & {f.split("/")[0] for f in FOLDERS}
    packages = forbidden - folders
    breaches = []
    for path in sorted((PACKAGE / folder).glob("*.py")):
        for lineno, target in runtime_imports(path):
            if target.split("/")[0] in folders:
                breaches.append(f"{path.name} line {lineno} imports {target}")
        breaches += [f"{path.name} imports {name}" for name in third_party_imports(path) & packages]
    assert breaches == []


def test_at_most_ten_modules_at_the_top() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
    assert len(top) <= 10, top


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
