"""Imports in the panel run one way: the app imports its screens and widgets, never the other way
(a screen reaching back for the app at run time made a cycle). The page reads the app through
`oz_tui.tui.host.PanelHost`."""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "oz_tui" / "tui"


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, wherever the import statement is (a function, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_screen_or_widget_imports_the_app() -> None:
    files = sorted((TUI / "screens").glob("*.py")) + sorted((TUI / "widgets").glob("*.py"))
    assert len(files) > 10
    reaching_back = [
        path.relative_to(TUI).as_posix()
        for path in files
        if {"oz_tui.tui.app", "oz_tui.tui.OzKeysApp"} & imported_modules(path)
    ]
    assert reaching_back == []


def test_the_app_satisfies_what_the_page_reads() -> None:
    from oz_tui.tui.app import OzKeysApp
    from oz_tui.tui.host import PanelHost

    wanted = {name for name in vars(PanelHost) if not name.startswith("_")}
    assert wanted >= {"backend", "clock", "credential_source"}
    app = OzKeysApp(object())  # type: ignore[arg-type]
    assert all(hasattr(app, name) for name in wanted), wanted - set(dir(app))
