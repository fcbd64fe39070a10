"""The sandbox stands apart from the product it tests: it imports none of partnerplan's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

PRODUCT = {"partnerplan", "connectors", "mappings", "plans", "writeback", "worker"}


def test_the_sandbox_imports_nothing_from_the_product():
    """No module of the sandbox imports partnerplan's packages, even under TYPE_CHECKING."""
    found = []
    for path in sorted(Path(sandbox.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in PRODUCT]
    assert [] == found
