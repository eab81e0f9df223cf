"""The import graph of src/marketplace is a clean stack: no back-arrows, no circles, plain imports.

Floors (DESIGN.md, Layout): a package imports only from packages listed before it (and
`settings`); `rules` imports nothing of ours. The modules at the top (app, cli, seed ...) wire
everything. Read with `ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
ROOT = "marketplace"
FLOORS = (
    "rules",
    "core",
    "web",
    "reference",
    "accounts",
    "notifications",
    "directory",
    "scheduling",
    "reviews",
    "quotes",
    "calendars",
    "findings",
    "certificates",
    "billing",
    "readiness",
    "dashboards",
)
# The top floor: entry points and wiring, free to import every package.
TOP = ("app", "asgi", "cli", "hooks", "piccolo_app", "piccolo_conf", "seed", "server", "settings")
ANYWHERE = "settings"  # configuration every floor may read (rules excepted)


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. marketplace.dashboards.api
    target: str  # the module imported (a submodule when `from pkg import module`)
    line: int
    deferred: bool  # inside a function: no circle at import time, still a floor crossing
    typing_only: bool  # under `if TYPE_CHECKING:`


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor_of(module: str) -> str:
    """The top-level package (or top module) a module of ours belongs to."""
    return module.split(".")[1] if module.count(".") else module


def rank(floor: str) -> int:
    return FLOORS.index(floor) if floor in FLOORS else len(FLOORS)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Reader(ast.NodeVisitor):
    """Collects one module's imports of ours, `except ImportError` and getattr on our modules."""

    def __init__(self, name: str, is_package: bool, modules: set[str]) -> None:
        self.name, self.modules = name, modules
        self.package = name if is_package else name.rpartition(".")[0]
        self.imports: list[Import] = []
        self.findings: list[Finding] = []
        self.bound: set[str] = set()  # local names bound to one of our modules
        self.depth = 0
        self.typing = 0

    def _add(self, target: str, line: int) -> None:
        self.imports.append(Import(self.name, target, line, self.depth > 0, self.typing > 0))

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                self._add(alias.name, node.lineno)
                self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self._absolute(node)
        if module != ROOT and not module.startswith(ROOT + "."):
            return
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            if sub in self.modules:
                self._add(sub, node.lineno)
                self.bound.add(alias.asname or alias.name)
            else:
                self._add(module, node.lineno)

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.typing += 1
            for child in node.body:
                self.visit(child)
            self.typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        for n in names:
            if isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError"):
                self.findings.append(
                    Finding(f"{self.name}:{node.lineno}", f"except {n.id} (import plainly)")
                )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in self.bound
        ):
            self.findings.append(
                Finding(
                    f"{self.name}:{node.lineno}",
                    f"getattr on our module {node.args[0].id!r} (import the name plainly)",
                )
            )
        self.generic_visit(node)


def read_tree(src: Path = SRC) -> tuple[list[Import], list[Finding]]:
    paths = sorted((src / ROOT).rglob("*.py"))
    modules = {module_name(p, src) for p in paths}
    imports: list[Import] = []
    findings: list[Finding] = []
    for path in paths:
        reader = _Reader(module_name(path, src), path.name == "__init__.py", modules)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        imports += reader.imports
        findings += reader.findings
    return imports, findings


def back_arrows(imports: Iterable[Import]) -> list[Finding]:
    """Imports that reach up the floors: into a package listed after the importer's own."""
    out = []
    for i in imports:
        low, high = floor_of(i.importer), floor_of(i.target)
        if low == high or (high == ANYWHERE and low != "rules"):
            continue
        if rank(high) > rank(low) or (low == "rules" and high != "rules"):
            out.append(
                Finding(f"{i.importer}:{i.line}", f"{low} imports {i.target} ({high} is above)")
            )
    return out


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan's algorithm; the graph is a few hundred modules
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def module_graph(imports: Iterable[Import]) -> dict[str, set[str]]:
    """What each module imports when it is imported (not in functions, not for typing)."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        graph.setdefault(i.importer, set())
        if not i.deferred and not i.typing_only and i.target != i.importer:
            graph[i.importer].add(i.target)
    return graph


def _report(title: str, findings: list[Finding]) -> str:
    return "\n".join([title, *(f"  {f}" for f in findings)])


# --- the checker on a tiny fake tree, so it can be seen to fail -------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_finds_back_arrows_circles_and_dodges(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "settings.py": "",
            "rules/__init__.py": "",
            "rules/time.py": "from marketplace import settings\n",
            "core/__init__.py": "",
            "core/db.py": "import marketplace.settings\nfrom marketplace.core import clock\n",
            "core/clock.py": "from marketplace.core.db import x\n",
            "accounts/__init__.py": "",
            "accounts/a.py": (
                "from typing import TYPE_CHECKING\n"
                "from marketplace.core import db\n"
                "if TYPE_CHECKING:\n    from marketplace.accounts import b\n"
                "def later():\n    from marketplace.billing import c\n"
                "try:\n    import json\nexcept ImportError:\n    pass\n"
                "value = getattr(db, 'engine', None)\n"
            ),
            "accounts/b.py": "from . import a\n",
            "billing/__init__.py": "",
            "billing/c.py": "from ..accounts import a\n",
        },
    )
    imports, findings = read_tree(tmp_path)
    assert sorted(str(f) for f in back_arrows(imports)) == [
        "marketplace.accounts.a:6: accounts imports marketplace.billing.c (billing is above)",
        "marketplace.rules.time:1: rules imports marketplace.settings (settings is above)",
    ]
    # a <-> b is a circle only for typing, and a -> c inside a function: neither counts.
    assert circles(module_graph(imports)) == [["marketplace.core.clock", "marketplace.core.db"]]
    assert sorted(str(f) for f in findings) == [
        "marketplace.accounts.a:11: getattr on our module 'db' (import the name plainly)",
        "marketplace.accounts.a:9: except ImportError (import plainly)",
    ]
    assert circles({"x": ["x"], "y": ["z"], "z": []}) == [["x"]]


# --- the real tree ----------------------------------------------------------------------------


def _real() -> tuple[list[Import], list[Finding]]:
    return read_tree()


def test_every_module_is_on_a_floor() -> None:
    imports, _ = _real()
    floors = {floor_of(i.importer) for i in imports} | {floor_of(i.target) for i in imports}
    assert floors - set(FLOORS) - set(TOP) <= {ROOT}


def _strict(findings: list[Finding]) -> None:
    assert not findings, _report("floor rules broken:", findings)


def test_no_package_imports_a_floor_above_it() -> None:
    imports, _ = _real()
    _strict(back_arrows(imports))


def test_no_module_level_import_circles() -> None:
    imports, _ = _real()
    found = circles(module_graph(imports))
    assert not found, "import circles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_imports_are_plain() -> None:
    _, findings = _real()
    _strict(findings)
