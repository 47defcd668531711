"""The panel draws its first frame before loading anything heavy: the CLI and the app import no
httpx, graphql-core, Starlette or local service, and the backend is built once the first frame is
on screen (then the page loads as before). Complements test_headless_imports.py (the client and
helpers load without Textual) and test_cli.py (subcommands load no Textual)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from oz_tui import cli
from oz_tui.config import FileConfig, Flags, resolve
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.widgets import ErrorBanner, KeyTable, StatusLine

from scenarios import settle

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"httpx", "httpcore", "graphql", "starlette", "hypercorn", "anyio"}


def _loaded_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
        timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_panel_imports_nothing_heavy_before_its_first_frame(tmp_path: Path) -> None:
    loaded = _loaded_after(
        f"""
        from oz_tui import cli
        from oz_tui.config import FileConfig, Flags, resolve
        from oz_tui.tui.app import OzKeysApp
        for flags in (Flags(demo=True), Flags(local=True, data_dir={str(tmp_path)!r}),
                      Flags(server_root_url="https://app.warp.dev", api_key="wk-x")):
            backend = cli._panel_backend(resolve(flags, {{}}, FileConfig()))
            OzKeysApp(backend)
            backend.source, backend.is_local
        """
    )
    assert "textual" in {name.split(".")[0] for name in loaded}
    assert not HEAVY & {name.split(".")[0] for name in loaded}
    assert not {name for name in loaded if name.startswith("oz_tui.local.")}
    # The dialogs (and TextArea, which only the new-key dialog uses) load on first use.
    assert not {name for name in loaded if name.startswith("oz_tui.tui.screens.")} - {
        "oz_tui.tui.screens.keys"
    }
    assert "textual.widgets._text_area" not in loaded


def test_the_check_would_see_a_backend_built_too_early() -> None:
    loaded = _loaded_after(
        """
        from oz_tui import cli
        from oz_tui.config import FileConfig, Flags, resolve
        cli._panel_backend(resolve(Flags(demo=True), {}, FileConfig())).build_now()
        """
    )
    assert {"httpx", "graphql", "starlette"} <= {name.split(".")[0] for name in loaded}


def _deferred(**flags: Any) -> Any:
    return cli._panel_backend(resolve(Flags(**flags), {}, FileConfig()))


async def test_the_backend_is_built_after_the_first_frame_then_the_page_loads() -> None:
    backend = _deferred(demo=True)
    built_at_first_frame: list[bool] = []
    first_frame_shown = backend.first_frame_shown

    def spy() -> None:
        built_at_first_frame.append(backend._backend is not None)
        first_frame_shown()

    backend.first_frame_shown = spy
    app = OzKeysApp(backend, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert built_at_first_frame == [False]
        table = app.screen.query_one(KeyTable)
        assert table.loaded and len(table.visible_keys) == 8
        assert app.screen.query_one(StatusLine).source_plain == "Demo data (in memory)"
        assert backend._backend is not None and backend.service is not None
    assert app.return_code in (None, 0)


async def test_the_expected_source_is_the_built_one(tmp_path: Path) -> None:
    for flags in ({"demo": True}, {"local": True, "data_dir": str(tmp_path)}):
        backend = _deferred(**flags)
        expected = backend.source
        assert backend.build_now().source == expected
        await backend.aclose()


async def test_an_unusable_store_is_shown_on_the_page_with_a_retry(tmp_path: Path) -> None:
    (tmp_path / "keys.db").write_bytes(b"this is not a database" * 100)
    backend = _deferred(local=True, data_dir=str(tmp_path))
    app = OzKeysApp(backend, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        banner = app.screen.query_one(ErrorBanner)
        assert banner.shown
        assert "not a usable oz-keys database" in banner.message_plain
        assert app.is_running
        # Fixed while the page is open: a retry builds the backend and loads.
        (tmp_path / "keys.db").unlink()
        await pilot.press("r")
        await settle(pilot)
        assert not banner.shown
        assert app.screen.query_one(KeyTable).message.startswith("No API Keys")
