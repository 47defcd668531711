"""One way to reach a server (issue 25): the command line's way to the keys enters each module
once (cli -> backend -> client or local service -> panel), and what exists only to start fast is
in one module, `oz_tui/head_start.py`, which the ordinary path reaches through one seam."""

from __future__ import annotations

import ast
from pathlib import Path

import oz_tui

PACKAGE = Path(oz_tui.__file__).parent


def _imported_from(path: Path, module: str) -> set[str]:
    """The names `path` imports from `module` (anywhere in the file, lazily or not)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == module:
            names |= {alias.name for alias in node.names}
    return names


def test_the_cli_asks_the_backend_module_once_for_what_the_settings_name() -> None:
    """No backend is put together in the CLI (which then calls back into backend.py)."""
    asked = set().union(*(_imported_from(path, "oz_tui.backend")
                          for path in (PACKAGE / "cli").rglob("*.py")))
    assert asked - {"Backend", "KeyService"} <= {"for_command", "for_panel"}
    assert {"for_command", "for_panel"} <= asked


def test_the_client_knows_nothing_of_the_head_start() -> None:
    """`OzClient` takes the early connections as any transport: the one seam."""
    for job in ("client", "failures", "retry", "body"):
        path = PACKAGE / "api" / f"{job}.py"
        imported = {node.module for node in ast.walk(ast.parse(path.read_text("utf-8")))
                    if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name and "head_start" in name}, path
        assert "preconnect" not in path.read_text("utf-8").lower(), path


def test_only_the_head_start_looks_for_a_loaded_asyncio() -> None:
    """Code shared by commands with and without an event loop asks `head_start` which it is in,
    rather than each probing `sys.modules` (and no module is marked absent for a dependency)."""
    probing = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "sys.modules" in path.read_text("utf-8")
    )
    # (tui/app.py's is the panel's, for the secret screen: not about reaching a server.)
    assert set(probing) - {"tui/app.py"} == {"head_start.py"}


def test_the_backend_module_never_reaches_back_into_the_cli() -> None:
    for path in (PACKAGE / "backend.py", PACKAGE / "head_start.py"):
        tree = ast.parse(path.read_text("utf-8"))
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in modules if name and name.startswith("oz_tui.cli")}, path
