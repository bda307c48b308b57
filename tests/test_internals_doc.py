"""docs/internals.md's signature blocks, module paths and login event kinds match the code.

Each ```python block in docs/internals.md belongs to the nearest heading above it, and that
heading names the one module it documents in backticks (``## `logins/login.py` ``). For
every line of such a block:

- ``def`` / ``async def`` (at the top: a function of the module; indented under a ``class``
  line: a method of that class) must be *defined* in that module (a re-export does not
  count) and compared with ``inspect.signature``: the parameter **names**, their **kinds**
  (positional-only, positional-or-keyword, ``*args``, keyword-only, ``**kwargs``), their
  **order**, and **whether each has a default** are compared. The default values themselves
  and every annotation (parameters and return) are *not* compared: the doc may abbreviate
  them (``settings=None``, ``max_bytes=...``, ``http`` for ``http: httpx.AsyncClient``).
  ``async def`` must be a coroutine function (or an async generator behind
  ``@asynccontextmanager``), ``def`` must not; ``self`` is written for methods.
- ``class Name(Base, ...)`` must be a class defined in the module; each base named must be
  in its MRO (``TypedDict``: a TypedDict). A ``@dataclass(frozen=True)`` line above it
  must hold in the code.
- ``name: annotation [= default]`` under a class is an attribute: it must exist (a field,
  an annotation or an attribute). For a dataclass, the documented fields must be all its
  fields in order, unless the class's lines include a ``...`` line (then a subset, in
  order), and "has a default" is compared. Where the doc's annotation is a ``Literal`` of
  strings and the code's is a ``Literal`` too, the two lists must be equal, in order.
- ``NAME = value`` at the top of a block is a module-level name defined in the module; when
  the doc's value is a Python literal it must equal the code's.

Every heading's backticked ``*.py`` path, and every backticked ``*.py`` path in the text,
must exist. The login event kinds (``Literal`` ``LoginEventKind`` in logins/events.py) are
checked where the docs list them: internals.md's ``LoginEvent`` block, ``LoginEvent``'s
docstring (the API reference renders it), decisions.md's list of reasons, and any
``LoginEvent("kind")`` / ``kind == "kind"`` in docs/.

The table under "## The folders" has one row per folder, equal to the folder's docstring
(its first line, its "Never imports:" line). No folder of the package is named like a
public name (docs/decisions.md says why). A `module.name` reference in single backticks
(in any docstring of the package, in internals.md or decisions.md) whose first part is
the last name of one of our modules or folders must name something that module defines.

When a module is split or a function moves, these fail naming the doc line and what to
write there instead.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from anaconda_auth_async.logins import events

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "anaconda_auth_async"
DOC = ROOT / "docs" / "internals.md"
DOCS = ROOT / "docs"
KINDS = list(typing.get_args(events.LoginEventKind))
REASONS = list(typing.get_args(events.LoginReason))
_PATH = re.compile(r"`([\w/.*-]+\.py)`")


@dataclass
class Item:
    """One statement of a signature block: where it is, what it says, and its class."""

    line: int
    heading: str
    module: str | None  # the heading's module path, e.g. "logins/login.py"
    text: str  # the statement, comments dropped, continuation lines joined
    owner: str | None = None  # the class it is indented under
    decorators: list[str] = field(default_factory=list)
    abbreviated: bool = False  # a class whose lines include "..."
    members: list[Item] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"docs/internals.md line {self.line} (under {self.heading!r})"

    def __str__(self) -> str:
        return f"L{self.line}:{self.text.split('(')[0].split(':')[0][:40]}"


def _code_part(line: str) -> str:
    """`line` without its comment (a ``#`` outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:i].rstrip()
    return line.rstrip()


def _depth(text: str) -> int:
    text = re.sub(r"\"[^\"]*\"|'[^']*'", "", text)
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def _split_top(text: str) -> list[str]:
    """`text` split at the ``;`` outside brackets and quotes."""
    parts, start, depth, quote = [], 0, 0, None
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def parse_doc() -> tuple[list[Item], list[tuple[int, str, list[str]]]]:
    """The items of every python block, and every heading: (line, text, paths)."""
    items: list[Item] = []
    headings: list[tuple[int, str, list[str]]] = []
    lines = DOC.read_text(encoding="utf-8").splitlines()
    heading, module, fence, i = "(none)", None, None, 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.startswith("```"):
            fence = None if fence is not None else raw[3:].strip()
            if fence == "python":
                classes: list[tuple[int, Item]] = []
                decorators: list[str] = []
            continue
        if fence is None:
            if raw.startswith("#"):
                heading = raw.lstrip("#").strip()
                paths = _PATH.findall(raw)
                headings.append((i, heading, paths))
                module = paths[0] if len(paths) == 1 else None
            continue
        if fence != "python" or not _code_part(raw).strip():
            continue
        start, text = i, _code_part(raw)
        while _depth(text) > 0 and i < len(lines):
            text += " " + _code_part(lines[i]).strip()
            i += 1
        indent = len(text) - len(text.lstrip())
        while classes and classes[-1][0] >= indent:
            classes.pop()
        owner = classes[-1][1] if classes else None
        for part in _split_top(text.strip()):
            if part == "...":
                if owner:
                    owner.abbreviated = True
                continue
            item = Item(start, heading, module, part, owner.text if owner else None)
            if part.startswith("@"):
                decorators.append(part)
                continue
            item.decorators, decorators = decorators, []
            items.append(item)
            if owner:
                owner.members.append(item)
            if part.startswith("class "):
                classes.append((indent, item))
    return items, headings


ITEMS, HEADINGS = parse_doc()


def _name(item: Item) -> str:
    match = re.match(r"(?:async\s+)?(?:def|class)\s+(\w+)|(\w+)\s*[:=]", item.text)
    assert match, f"{item.where}: cannot read `{item.text}` (def, class, name: type, NAME = value)"
    return match.group(1) or match.group(2)


def _class_name(owner: str) -> str:
    return re.match(r"class\s+(\w+)", owner).group(1)  # type: ignore[union-attr]


@cache
def _definitions(path: str) -> dict[str, ast.AST]:
    """Top-level names `path` defines (def, class, assignment), and each class's members."""
    tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
            if isinstance(node, ast.ClassDef):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                        found.setdefault(f"{node.name}.{sub.name}", sub)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = node
    return found


def _defined_elsewhere(qualname: str) -> list[str]:
    return [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if qualname in _definitions(str(path.relative_to(PACKAGE)))
    ]


def _hint(path: str) -> str:
    """Where a module named like `path` lives now, if one does."""
    found = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob(Path(path).name) if p.is_file()
    )
    return f" (did you mean {' or '.join(found)}?)" if found else ""


def _module(item: Item) -> Any:
    assert item.module, (
        f"{item.where}: a signature block must sit under a heading that names its one module "
        f"in backticks, e.g. ## `logins/login.py`"
    )
    assert (PACKAGE / item.module).is_file(), (
        f"{item.where}: anaconda_auth_async/{item.module} does not exist{_hint(item.module)}; "
        "change the heading to the module these lines now live in"
    )
    dotted = item.module.removesuffix(".py").replace("/", ".")
    return importlib.import_module(f"anaconda_auth_async.{dotted}")


def _defined(item: Item) -> Any:
    """The object `item` documents, after checking its module defines it."""
    module = _module(item)
    name = _name(item)
    qualname = f"{_class_name(item.owner)}.{name}" if item.owner else name
    if qualname not in _definitions(item.module):  # type: ignore[arg-type]
        elsewhere = _defined_elsewhere(qualname)
        hint = (
            f"it is defined in {' and '.join(elsewhere)}: move this line under that module's "
            f"heading (## `{elsewhere[0]}`) or update it"
            if elsewhere
            else "nothing in the package defines it any more: delete or rename this line"
        )
        pytest.fail(f"{item.where}: {item.module} does not define {qualname}; {hint}")
    if not item.owner:
        return getattr(module, name)
    cls = getattr(module, _class_name(item.owner))
    for klass in cls.__mro__[:-1]:
        if name in vars(klass):
            return vars(klass)[name]
    return getattr(cls, name)


def _doc_params(item: Item) -> list[tuple[str, str, bool]]:
    text = item.text.rstrip(":")
    try:
        tree = ast.parse(f"{text}: ...")
    except SyntaxError as exc:
        pytest.fail(f"{item.where}: `{item.text}` is not a Python signature ({exc.msg})")
    args = tree.body[0].args  # type: ignore[attr-defined]
    positional = [*args.posonlyargs, *args.args]
    defaulted = len(positional) - len(args.defaults)
    params = [
        (
            a.arg,
            "POSITIONAL_ONLY" if a in args.posonlyargs else "POSITIONAL_OR_KEYWORD",
            i >= defaulted,
        )
        for i, a in enumerate(positional)
    ]
    if args.vararg:
        params.append((args.vararg.arg, "VAR_POSITIONAL", False))
    params += [
        (a.arg, "KEYWORD_ONLY", d is not None)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    if args.kwarg:
        params.append((args.kwarg.arg, "VAR_KEYWORD", False))
    return params


def _code_params(signature: inspect.Signature) -> list[tuple[str, str, bool]]:
    return [
        (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
        for p in signature.parameters.values()
    ]


def _written(signature: inspect.Signature) -> str:
    """The parameter list to write in the doc: names, kinds and short defaults."""
    out: list[str] = []
    params = list(signature.parameters.values())
    for i, p in enumerate(params):
        first_keyword_only = p.kind is p.KEYWORD_ONLY and (
            i == 0 or params[i - 1].kind is not p.KEYWORD_ONLY
        )
        if first_keyword_only and not any(q.kind is q.VAR_POSITIONAL for q in params):
            out.append("*")
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.default is not p.empty:
            value = repr(p.default)
            text += f"={value}" if len(value) <= 20 and "<" not in value else "=..."
        out.append(text)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind
                                            is not p.POSITIONAL_ONLY):  # fmt: skip
            out.append("/")
    return ", ".join(out)


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return obj


FUNCTIONS = [i for i in ITEMS if re.match(r"(async\s+)?def\s", i.text)]
CLASSES = [i for i in ITEMS if i.text.startswith("class ")]
ATTRIBUTES = [i for i in ITEMS if i.owner and not re.match(r"(async\s+)?(def|class)\s", i.text)]
NAMES = [i for i in ITEMS if not i.owner and not re.match(r"(async\s+)?(def|class)\s", i.text)]


def test_the_doc_has_signature_blocks() -> None:
    assert len(FUNCTIONS) > 20, "the parser found no signature blocks"
    assert len(CLASSES) > 5, "the parser found no classes in the signature blocks"


@pytest.mark.parametrize("item", FUNCTIONS, ids=str)
def test_a_documented_signature_matches_the_code(item: Item) -> None:
    obj = _unwrap(_defined(item))
    signature = inspect.signature(obj)
    written = item.text.split("(")[0].strip()
    fix = f"write `{written}({_written(signature)})`"
    assert _doc_params(item) == _code_params(signature), (
        f"{item.where}: `{item.text}` does not match the code's parameters "
        f"(names, kinds, order, which have defaults); {fix}"
    )
    inner = inspect.unwrap(obj)
    is_async = inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)
    assert item.text.startswith("async ") == is_async, (
        f"{item.where}: {written} is {'async' if is_async else 'not async'} in the code; "
        f"{'add' if is_async else 'remove'} `async`"
    )


def _literal(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        if (found := _literal(arg)) is not None:
            return found
    return None


@pytest.mark.parametrize("item", CLASSES, ids=str)
def test_a_documented_class_matches_the_code(item: Item) -> None:
    cls = _defined(item)
    assert inspect.isclass(cls), f"{item.where}: {_name(item)} is not a class in the code"
    node = ast.parse(item.text.rstrip(":") + ": ...").body[0]
    for base in node.bases:  # type: ignore[attr-defined]
        name = ast.unparse(base).split("[")[0].split(".")[-1]
        holds = (
            typing.is_typeddict(cls)
            if name == "TypedDict"
            else name in {k.__name__ for k in cls.__mro__}
        )
        assert holds, f"{item.where}: {cls.__name__} does not derive from {name}; fix the bases"
    decorated = " ".join(item.decorators)
    if "dataclass" in decorated:
        assert dataclasses.is_dataclass(cls), f"{item.where}: {cls.__name__} is no dataclass"
        frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert ("frozen=True" in decorated) == frozen, (
            f"{item.where}: {cls.__name__} is {'' if frozen else 'not '}frozen; fix the "
            "@dataclass line above it"
        )
        fields = [(f.name, f.default is not dataclasses.MISSING or f.default_factory
                   is not dataclasses.MISSING) for f in dataclasses.fields(cls)]  # fmt: skip
        documented = [
            (_name(m), "=" in m.text.split(":", 1)[1])
            for m in item.members
            if not re.match(r"(async\s+)?(def|class)\s", m.text)
        ]
        wanted = [f for f in fields if f[0] in dict(documented)] if item.abbreviated else fields
        assert documented == wanted, (
            f"{item.where}: the fields of {cls.__name__} documented below it "
            f"({', '.join(n for n, _ in documented)}) are not its fields in order (name, and "
            f"'= default' where it has one); the code has: "
            + ", ".join(n + (" = ..." if d else "") for n, d in fields)
            + ("" if item.abbreviated else " (or end the list with a `...` line)")
        )


@pytest.mark.parametrize("item", ATTRIBUTES, ids=str)
def test_a_documented_attribute_exists(item: Item) -> None:
    module = _module(item)
    cls = getattr(module, _class_name(item.owner), None)  # type: ignore[arg-type]
    assert cls is not None, f"{item.where}: {item.module} has no class {item.owner}"
    name = _name(item)
    try:
        hints = typing.get_type_hints(cls)
    except NameError:  # an annotation imported for type checkers only: compare names alone
        hints = {k: None for klass in cls.__mro__ for k in inspect.get_annotations(klass)}
    assert name in hints or hasattr(cls, name), (
        f"{item.where}: {cls.__name__} has no attribute {name}; delete or rename this line"
    )
    try:
        node = ast.parse(item.text).body[0]
    except SyntaxError:
        return
    if isinstance(node, ast.AnnAssign) and hints.get(name) is not None:
        doc = _literal_of_node(node.annotation)
        code = _literal(hints[name])
        assert doc is None or code is None or doc == code, (
            f"{item.where}: {cls.__name__}.{name} is Literal{code} in the code; write "
            f"Literal[{', '.join(map(repr, code or []))}]".replace("'", '"')
        )


def _literal_of_node(node: ast.expr) -> list[str] | None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and ast.unparse(sub.value).endswith("Literal"):
            elts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
            return [e.value for e in elts if isinstance(e, ast.Constant)]
    return None


@pytest.mark.parametrize("item", NAMES, ids=str)
def test_a_documented_module_name_exists(item: Item) -> None:
    value = _defined(item)
    try:
        node = ast.parse(item.text).body[0]
        documented = ast.literal_eval(node.value)  # type: ignore[attr-defined]
    except (SyntaxError, ValueError, AttributeError):
        return  # an abbreviation ("64 KiB") or an expression: only the name is checked
    assert documented == value, f"{item.where}: {_name(item)} is {value!r} in the code"


@pytest.mark.parametrize("heading", HEADINGS, ids=lambda h: f"L{h[0]}")
def test_a_headings_module_path_exists(heading: tuple[int, str, list[str]]) -> None:
    line, text, paths = heading
    for path in paths:
        assert (PACKAGE / path).is_file(), (
            f"docs/internals.md line {line}: heading {text!r} names {path}, which does not "
            f"exist under anaconda_auth_async/{_hint(path)}; name the module it now lives in"
        )


@pytest.mark.parametrize("page", ["internals.md", "decisions.md"])
def test_every_module_path_in_the_text_exists(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    missing = [
        f"docs/{page} line {text.count(chr(10), 0, m.start()) + 1}: {m.group(1)}{_hint(m.group(1))}"
        for m in _PATH.finditer(text)
        if "*" not in m.group(1)
        and not (PACKAGE / m.group(1)).is_file()
        and not (ROOT / m.group(1)).is_file()
    ]
    assert missing == [], "module paths that do not exist (write the path from the package or "
    "repository root, where the module lives now):\n" + "\n".join(missing)


def test_internals_lists_every_login_event_kind() -> None:
    kind = [
        i for i in ATTRIBUTES if i.owner and _class_name(i.owner) == "LoginEvent"
        and _name(i) == "kind"
    ]  # fmt: skip
    assert len(kind) == 1, "docs/internals.md must document LoginEvent.kind as a Literal"
    documented = _literal_of_node(ast.parse(kind[0].text).body[0].annotation)  # type: ignore[attr-defined]
    assert documented == KINDS, (
        f"{kind[0].where}: write kind: Literal[{', '.join(map(repr, KINDS))}]".replace("'", '"')
    )


def test_login_event_docstring_describes_every_kind() -> None:
    described = re.findall(r"``(\w+)``:", events.LoginEvent.__doc__ or "")
    assert [k for k in KINDS if k not in described] == [], "kinds LoginEvent's docstring omits"
    assert set(described) - set(KINDS) - set(REASONS) == set(), "kinds that no longer exist"
    mentioned = re.findall(r"``(\w+)``", events.LoginEvent.__doc__ or "")
    assert [r for r in REASONS if r not in mentioned] == [], "reasons the docstring omits"


def test_decisions_lists_every_login_reason() -> None:
    text = " ".join((DOCS / "decisions.md").read_text(encoding="utf-8").split())
    match = re.search(r"``reason`` \(([^)]*)\)", text)
    assert match, "docs/decisions.md no longer lists the reasons after ``reason`` (...)"
    assert re.findall(r"``(\w+)``", match.group(1)) == REASONS, (
        f"docs/decisions.md: the list of reasons should read {', '.join(REASONS)}"
    )


def test_every_kind_the_docs_name_exists() -> None:
    pattern = re.compile(r"LoginEvent\(\s*(?:kind=)?\"(\w+)\"|kind\s*==\s*\"(\w+)\"")
    unknown = [
        f"{path.relative_to(ROOT)}: {a or b}"
        for path in [*DOCS.rglob("*.md"), ROOT / "README.md"]
        for a, b in pattern.findall(path.read_text(encoding="utf-8"))
        if (a or b) not in KINDS
    ]
    assert unknown == [], f"login event kinds that do not exist (they are {KINDS})"


def test_no_folder_is_named_like_a_public_name() -> None:
    # Importing a subpackage sets the package's attribute of that name to the subpackage,
    # replacing the public function (why logins/ and diagnostics/: docs/decisions.md).
    import anaconda_auth_async

    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert folders & set(anaconda_auth_async.__all__) == set()


def _folder_rows() -> dict[str, tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8").split("## The folders", 1)[-1].split("\n## ")[0]
    rows = re.findall(r"^\| `([\w/]+)/` \| (.+?) \| (.+?) \|$", text, flags=re.MULTILINE)
    return {folder: (what, never) for folder, what, never in rows}


def test_the_folders_table_is_the_folders_docstrings() -> None:
    rows = _folder_rows()
    folders = sorted(str(p.parent.relative_to(PACKAGE)) for p in PACKAGE.rglob("*/__init__.py"))
    assert sorted(rows) == folders, "docs/internals.md's '## The folders' table: one row each"
    for folder, (what, never) in rows.items():
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text("utf-8")))
        summary = " ".join((doc or "").split("\n\n")[0].split())
        forbids = re.search(r"Never imports: (.+?)\.\s*\n\s*\n", doc or "", flags=re.DOTALL)
        assert forbids, f"{folder}/__init__.py has no 'Never imports:' line"
        assert (what, never) == (summary, " ".join(forbids.group(1).split())), (
            f"docs/internals.md, '## The folders', row {folder}/: write "
            f"| `{folder}/` | {summary} | {' '.join(forbids.group(1).split())} |"
        )


@cache
def _modules_named() -> dict[str, list[Path]]:
    """Each module's (and folder's) last name: the paths it may mean."""
    named: dict[str, list[Path]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if path.name != "__init__.py":
            named.setdefault(path.stem, []).append(rel)
        elif rel.parent != Path("."):
            named.setdefault(rel.parent.name, []).append(rel)
    return named


def _holds(rel: Path, name: str) -> bool:
    if rel.name == "__init__.py":  # a folder: `flows.token_request`
        folder = PACKAGE / rel.parent
        return (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()
    return name in _definitions(str(rel))


OTHER_PROJECTS = {"panel", "warnings", "jwt", "keyring"}  # `panel.auth` is Panel's own


def _stale_references(text: str) -> list[str]:
    return [
        f"`{module}.{name}`"
        for module, name in re.findall(r"(?<![`\w])`(\w+)\.(\w+)`", text)
        if name != "py"
        and module in _modules_named()
        and module not in OTHER_PROJECTS
        and not any(_holds(rel, name) for rel in _modules_named()[module])
    ]


def test_module_references_in_docstrings_and_docs_resolve() -> None:
    # `session.token_in_use` in a docstring or internals.md / decisions.md names a module
    # by its last name; after a move or a rename the name must still be defined there.
    stale = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                stale += [
                    f"{path.relative_to(ROOT)} ({getattr(node, 'name', 'module')} docstring): {ref}"
                    for ref in _stale_references(ast.get_docstring(node) or "")
                ]
    for page in ("internals.md", "decisions.md"):
        stale += [f"docs/{page}: {ref}" for ref in _stale_references((DOCS / page).read_text())]
    assert stale == [], "references to a name its module no longer defines:\n" + "\n".join(stale)
