"""DESIGN.md's layering: a lower layer never imports a higher one."""

import ast
from pathlib import Path

import gearsplan

PACKAGE = Path(gearsplan.__file__).parent
LAYERS = {
    "errors": 0,
    "paths": 0,
    "json_numbers": 0,
    "wording": 0,
    "data": 1,
    "knowledge": 2,
    "model": 3,
    "analysis": 4,
    "design": 5,
    "api": 6,
    "interface": 7,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if parts[0] == "gearsplan" and len(parts) > 1 else None


def test_no_module_imports_a_higher_layer():
    violations = []
    for file in PACKAGE.rglob("*.py"):
        module = "gearsplan." + ".".join(file.relative_to(PACKAGE).with_suffix("").parts)
        own = _layer(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            violations += [f"{module} imports {n}" for n in names if (_layer(n) or 0) > own]
    assert not violations
