"""The API client and the helpers it shares with the CLI load without Textual (or the server)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(imports: list[str]) -> set[str]:
    """Top-level module names in sys.modules after importing `imports` in a fresh interpreter."""
    script = textwrap.dedent(
        f"""
        import importlib, json, sys
        for name in {imports!r}:
            importlib.import_module(name)
        print(json.dumps(sorted(sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def _top(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_headless_modules_do_not_import_textual() -> None:
    loaded = _loaded_after(
        [
            "oz_tui.api",
            "oz_tui.api.client",
            "oz_tui.backend",
            "oz_tui.core.display",
            "oz_tui.core.sanitize",
            "oz_tui.core.hygiene",
        ]
    )
    assert "oz_tui.api.client" in loaded and "oz_tui.backend" in loaded
    # (rich may load: httpx imports its optional command-line entry point, which uses it.)
    assert "textual" not in _top(loaded)


def test_the_client_does_not_load_graphql_or_the_local_service() -> None:
    loaded = _loaded_after(["oz_tui.api.client"])
    assert "httpx" in _top(loaded)
    assert not {"textual", "graphql", "starlette", "hypercorn"} & _top(loaded)
    assert not {m for m in loaded if m == "oz_tui.local" or m.startswith("oz_tui.local.")}


def test_the_check_would_notice_a_heavy_import() -> None:
    """The subprocess probe does see what it is asked to look for."""
    loaded = _loaded_after(["oz_tui.api.client", "graphql"])
    assert "graphql" in _top(loaded)


def test_the_key_list_model_loads_without_textual_or_rich() -> None:
    """The key list's state (order, search, marks) is drawn by the table, not tied to it."""
    loaded = _loaded_after(["oz_tui.core.key_list"])
    assert "oz_tui.core.key_list" in loaded
    assert not {"textual", "rich"} & _top(loaded)


def _core_modules() -> list[str]:
    core = REPO_ROOT / "oz_tui" / "core"
    return sorted(f"oz_tui.core.{path.stem}" for path in core.glob("*.py") if path.stem != "__init__")


def test_the_core_loads_no_ui_network_or_storage() -> None:
    """The core is rules and values: no Textual, Rich, httpx, SQLite, GraphQL or Starlette, and
    nothing else of oz-keys but the core (so `api` and `local` can both depend on it)."""
    modules = _core_modules()
    assert "oz_tui.core.models" in modules and "oz_tui.core.names" in modules
    loaded = _loaded_after(modules)
    heavy = {"textual", "rich", "httpx", "httpcore", "sqlite3", "graphql", "starlette", "hypercorn"}
    assert not heavy & _top(loaded)
    ours = {m for m in loaded if m.startswith("oz_tui.")}
    assert ours <= {"oz_tui.core", *modules}, sorted(ours - {"oz_tui.core", *modules})


def test_the_local_service_never_imports_the_api_client() -> None:
    """`local` and `api` both stand on the core, not on each other."""
    loaded = _loaded_after(["oz_tui.local.direct", "oz_tui.local.service", "oz_tui.local.serving",
                            "oz_tui.local.store"])
    assert "oz_tui.local.service" in loaded
    assert not {m for m in loaded if m == "oz_tui.api" or m.startswith("oz_tui.api.")}
