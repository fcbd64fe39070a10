"""The layout's rules, enforced: imports go one way in flow order, no circles, no hidden imports.

The design card fixes the top level (``connectors/ mappings/ plans/ writeback/ worker/``, with
``partnerplan/`` shared by all and ``sandbox/`` on its own); each package imports only from the
packages to its left. These tests read every module's imports with :mod:`ast` (nothing is
imported), so a violation is reported as ``file:line`` with the rule it breaks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOW = ("partnerplan", "connectors", "mappings", "plans", "report", "writeback", "worker")
"""The product packages in flow order: each may import only the ones before it."""
SANDBOX = "sandbox"
PACKAGES = (*FLOW, SANDBOX)
MAY_IMPORT_SANDBOX = {"worker"}
"""``make demo`` and ``partnerplan sandbox serve`` start the sandbox; nothing else may."""
LAZY_IMPORTS_ALLOWED = ("worker/cli/",)
"""Command modules defer heavy imports until their command runs (``--help`` stays fast); the
circle check still counts those imports, so they can never hide a circle."""
CRM_KINDS = ("salesforce", "hubspot")


@dataclass(frozen=True)
class Edge:
    """One import: who imports what, where, and whether it sits inside a function."""

    source: str
    target: str
    path: str
    line: int
    in_function: bool

    def where(self) -> str:
        """``path:line``, the path relative to the repository."""
        return f"{self.path}:{self.line}"


def module_name(path: Path, root: Path) -> str:
    """``connectors/hubspot/__init__.py`` → ``connectors.hubspot``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every first-party module under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


class _Collector(ast.NodeVisitor):
    def __init__(self, name: str, path: str, package: bool, known: dict[str, Path]) -> None:
        self.name, self.path, self.package, self.known = name, path, package, known
        self.depth = 0
        self.edges: list[Edge] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, target: str, line: int) -> None:
        if target.split(".")[0] in PACKAGES:
            self.edges.append(Edge(self.name, target, self.path, line, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(node, self.name, self.package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.known else base, node.lineno)


def edges(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Edge]:
    """Every first-party import of every module under ``root``."""
    known = modules(root, packages)
    out: list[Edge] = []
    for name, path in known.items():
        relative = path.relative_to(root).as_posix()
        collector = _Collector(name, relative, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        out.extend(collector.edges)
    return out


def backwards(found: list[Edge]) -> list[str]:
    """Imports against the flow order, or into/out of the sandbox where not allowed."""
    problems = []
    for edge in found:
        source, target = edge.source.split(".")[0], edge.target.split(".")[0]
        if source == target:
            continue
        if source == SANDBOX:
            ok = False
        elif target == SANDBOX:
            ok = source in MAY_IMPORT_SANDBOX
        else:
            ok = FLOW.index(target) < FLOW.index(source)
        if not ok:
            problems.append(f"{edge.where()}: {edge.source} imports {edge.target}")
    return problems


def circles(found: list[Edge]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in found:
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def hidden(found: list[Edge]) -> list[str]:
    """First-party imports placed inside a function, outside the command modules."""
    return [
        f"{edge.where()}: {edge.source} imports {edge.target} inside a function"
        for edge in found
        if edge.in_function and not edge.path.startswith(LAZY_IMPORTS_ALLOWED)
    ]


def crm_branches(root: Path) -> Iterator[str]:
    """Comparisons with a CRM's kind outside its own folder (``if kind == "hubspot"``)."""
    for name, path in modules(root, FLOW).items():
        if name.startswith(("connectors.salesforce", "connectors.hubspot")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            literals = [
                elt.value
                for operand in operands
                for elt in (operand.elts if isinstance(operand, ast.Tuple | ast.Set) else [operand])
                if isinstance(elt, ast.Constant)
            ]
            if any(value in CRM_KINDS for value in literals):
                yield f"{path.relative_to(root)}:{node.lineno}: compares with a CRM kind"


@pytest.fixture(scope="module")
def project_edges() -> list[Edge]:
    """The repository's imports, read once."""
    return edges(ROOT)


def test_the_top_level_is_the_design_cards():
    """The stage packages, config, tests and crm sit at the root; no nested partnerplan/<stage>."""
    for name in (*PACKAGES, "config", "tests", "crm", "bench"):
        assert (ROOT / name).is_dir(), name
    for stage in ("connectors", "mappings", "plans", "worker", "writeback", "sandbox"):
        assert not (ROOT / "partnerplan" / stage).exists(), stage
    assert (ROOT / "connectors" / "salesforce").is_dir()
    assert (ROOT / "connectors" / "hubspot").is_dir()


def test_imports_go_one_way_in_flow_order(project_edges):
    """No package imports one to its right, and only the worker starts the sandbox."""
    assert [] == backwards(project_edges)


def test_no_module_imports_one_that_imports_it_back(project_edges):
    """No circles, whether the imports sit at module level, under TYPE_CHECKING or in a function."""
    assert [] == circles(project_edges)


def test_no_import_hides_inside_a_function(project_edges):
    """Imports are at the top of the module (command modules may defer theirs, see above)."""
    assert [] == hidden(project_edges)


def test_only_a_crms_own_folder_branches_on_its_kind():
    """Mappings, plans, write-back and the worker ask the dialect; they never test a CRM name."""
    assert [] == list(crm_branches(ROOT))


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checks_catch_each_kind_of_violation(tmp_path):
    """A planted backwards import, circle, hidden import and CRM branch are each reported."""
    _write(
        tmp_path,
        {
            "partnerplan/__init__.py": "",
            "connectors/__init__.py": "",
            "connectors/a.py": "import connectors.b\nfrom worker import run\n",
            "connectors/b.py": "from connectors import a\n",
            "mappings/__init__.py": "",
            "plans/__init__.py": "",
            "writeback/__init__.py": "",
            "worker/__init__.py": "",
            "worker/run.py": "def go():\n    from plans import x\n",
            "plans/x.py": "def f(kind):\n    return kind == 'hubspot'\n",
            "sandbox/__init__.py": "from connectors import a\n",
        },
    )
    found = edges(tmp_path)
    assert backwards(found) == [
        "connectors/a.py:2: connectors.a imports worker.run",
        "sandbox/__init__.py:1: sandbox imports connectors.a",
    ]
    assert circles(found) == [["connectors.a", "connectors.b"]]
    assert hidden(found) == ["worker/run.py:2: worker.run imports plans.x inside a function"]
    assert list(crm_branches(tmp_path)) == ["plans/x.py:2: compares with a CRM kind"]
