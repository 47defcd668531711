"""The panel draws its first frame before loading anything heavy: the CLI and the app import no
httpx, graphql-core, Starlette or local service, and the backend is built once the first frame is
on screen (then the page loads as before). Complements test_headless_imports.py (the client and
helpers load without Textual) and test_cli.py (subcommands load no Textual)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from oz_tui.backend import for_panel
from oz_tui.head_start import RemoteSession
from oz_tui.config import FileConfig, Flags, resolve
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.widgets import ErrorBanner, KeyTable, StatusLine

from fault_server import Request, ThreadedFaultServer, good, hang
from scenarios import settle

REPO_ROOT = Path(__file__).resolve().parents[2]
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
        from oz_tui.backend import for_panel
        from oz_tui.config import FileConfig, Flags, resolve
        from oz_tui.tui.app import OzKeysApp
        for flags in (Flags(demo=True), Flags(local=True, data_dir={str(tmp_path)!r})):
            backend = for_panel(resolve(flags, {{}}, FileConfig()))
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
        from oz_tui.backend import for_panel
        from oz_tui.config import FileConfig, Flags, resolve
        for_panel(resolve(Flags(demo=True), {}, FileConfig())).build_now()
        for_panel(
            resolve(Flags(server_root_url="https://app.warp.dev", api_key="wk-x"), {}, FileConfig())
        ).build_now()
        """
    )
    assert "httpx" in {name.split(".")[0] for name in loaded}
    assert "oz_tui.local.store" in loaded


def test_a_remote_backend_loads_httpx_without_its_command_line_tool() -> None:
    """httpx's command-line tool (rich, pygments: tens of ms) loads only when click is
    installed, which oz-keys' dependencies do not bring; this fails if that changes."""
    loaded = _loaded_after(
        """
        from oz_tui.backend import build
        from oz_tui.config import FileConfig, Flags, resolve
        flags = Flags(server_root_url="https://app.warp.dev", api_key="wk-x")
        build(resolve(flags, {}, FileConfig()))
        """
    )
    top = {name.split(".")[0] for name in loaded}
    assert "httpx" in top
    assert not {"click", "pygments", "rich"} & top


def test_the_embedded_default_loads_no_http_or_graphql(tmp_path: Path) -> None:
    """The decision of issue 15: the local store is reached directly, not through the GraphQL
    service (which stays for `serve`)."""
    loaded = _loaded_after(
        f"""
        import asyncio
        from oz_tui.backend import for_panel
        from oz_tui.config import FileConfig, Flags, resolve
        for flags in (Flags(demo=True), Flags(local=True, data_dir={str(tmp_path)!r})):
            backend = for_panel(resolve(flags, {{}}, FileConfig())).build_now()
            assert asyncio.run(backend.client.list_keys()) is not None
            asyncio.run(backend.aclose())
        """
    )
    assert "oz_tui.local.direct" in loaded
    assert not HEAVY - {"anyio"} & {name.split(".")[0] for name in loaded}
    assert "oz_tui.local.service" not in loaded


def _deferred(**flags: Any) -> Any:
    return for_panel(resolve(Flags(**flags), {}, FileConfig()))


class _FirstFrame(OzKeysApp):
    """The app, noting what was there when its first frame was on screen (Textual's Ready)."""

    def __init__(self, backend: Any, seen: Callable[[OzKeysApp], Any]) -> None:
        super().__init__(backend, cursor_blink=False)
        self._seen = seen
        self.at_first_frame: list[Any] = []

    def on_ready(self) -> None:
        self.at_first_frame.append(self._seen(self))


async def test_local_keys_are_in_the_first_frame() -> None:
    """The local store is light: the backend is built and the keys listed before the first
    frame, which shows them (no loading frame in between)."""
    backend = _deferred(demo=True)
    app = _FirstFrame(
        backend, lambda app: (backend._backend is not None, app.screen.query_one(KeyTable).loaded)
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.at_first_frame == [(True, True)]
        table = app.screen.query_one(KeyTable)
        assert table.loaded and len(table.visible_keys) == 8
        assert app.screen.query_one(StatusLine).source_plain == "Demo data (in memory)"
        assert backend._backend is not None and backend.store is not None
    assert app.return_code in (None, 0)


async def test_a_servers_opening_requests_go_out_before_the_first_frame() -> None:
    """Over a far link the keys cost round trips: the session opens its connections and sends
    the list, who-am-I's two requests and the agents (together, one connection each) while
    Textual is still starting, and later requests reuse those connections."""
    requests: list[str] = []
    release = threading.Event()

    def choose(request: Request) -> Any:
        requests.append(request.operation)
        release.wait(10)  # the answers wait until the test has seen the first frame
        return good()

    server = ThreadedFaultServer(lambda request: _held(request, choose))
    try:
        backend = _deferred(server_root_url=server.url, api_key="wk-1." + "0" * 64)
        assert isinstance(backend, RemoteSession)
        app = _FirstFrame(backend, lambda app: sorted(requests))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            release.set()
            await settle(pilot)
            table = app.screen.query_one(KeyTable)
            assert table.loaded and len(table.visible_keys) == 3
            assert app.at_first_frame == [
                ["/api/v1/agent/identities", "ApiKeys", "GetUser", "GetWorkspacesMetadataForUser"]
            ]
            await pilot.press("r")
            await settle(pilot)
            assert requests.count("ApiKeys") == 2
            assert requests.count("/api/v1/agent/identities") == 2
        assert server.server.connections == 4
    finally:
        release.set()
        server.close()


def _held(request: Request, choose: Callable[[Request], Any]) -> Any:
    """An action that runs `choose` (which may block) off the server's loop."""

    async def action(req: Request, reader: Any, writer: Any) -> bool:
        chosen = await asyncio.to_thread(choose, req)
        return await chosen(req, reader, writer)

    return action


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


async def test_cancelling_a_session_call_cancels_it_on_the_session_loop() -> None:
    """The panel's "stop waiting" reaches the request in the session's thread: it is cancelled
    there, and its connection dropped."""
    server = ThreadedFaultServer(lambda request: hang())
    try:
        session = _deferred(server_root_url=server.url, api_key="wk-1." + "0" * 64)
        assert isinstance(session, RemoteSession)
        session.build_now()
        call = asyncio.ensure_future(session.client.expire_key("some-key"))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if server.server.count("ExpireApiKey"):
                break
        assert server.server.count("ExpireApiKey") == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        pending = asyncio.run_coroutine_threadsafe(_pending_tasks(), session._loop).result(5)
        # Only the opening requests (still hung on the same server) remain: the list, the
        # agents, and who-am-I (which waits on its own two).
        assert pending <= 5
        await session.aclose()
        assert not session._thread.is_alive()
    finally:
        server.close()


async def _pending_tasks() -> int:
    await asyncio.sleep(0.1)
    current = asyncio.current_task()
    return sum(1 for task in asyncio.all_tasks() if task is not current and not task.done())
