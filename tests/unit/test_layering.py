"""The rooms of the house (docs/architecture.md): the HTTP and WebSocket edges hold no rules and
run no queries; the agent never imports the server; the domain never touches HTTP."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "src" / "relaydesk" / "server"
EDGES = [SERVER / "api", SERVER / "realtime"]
QUERY_CALLS = {"execute", "scalar", "scalars", "add", "add_all", "delete", "get", "merge", "flush"}
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text"}


def _edge_modules() -> list[Path]:
    return [p for edge in EDGES for p in edge.rglob("*.py")]


def test_edges_run_no_queries_and_build_no_sql() -> None:
    offences = []
    for path in _edge_modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("sqlalchemy")
            ):
                names = {alias.name for alias in node.names}
                if names - {"AsyncSession"}:
                    offences.append(
                        f"{path.name}:{node.lineno} imports {sorted(names)} from sqlalchemy"
                    )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                if (
                    isinstance(target, ast.Name)
                    and target.id == "db"
                    and node.func.attr in QUERY_CALLS
                ):
                    offences.append(f"{path.name}:{node.lineno} calls db.{node.func.attr}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in QUERY_BUILDERS
            ):
                offences.append(f"{path.name}:{node.lineno} builds SQL with {node.func.id}()")
    assert offences == []


def test_edges_exist_so_the_check_above_means_something() -> None:
    assert len(_edge_modules()) >= 10


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [lint_imports, "--no-cache"], capture_output=True, text=True, cwd=SERVER.parents[2]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout
