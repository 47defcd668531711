"""What the page says: deleting the key the panel signs in with, a refused credential's source,
the local sandbox notice on a first run, and toasts that name their key."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from textual.widgets import Button, Static

from oz_tui import cli
from oz_tui.core.models import ApiKey
from oz_tui.backend import Backend, local_backend, remote_backend
from oz_tui.local import LocalService
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ConfirmDeleteScreen
from oz_tui.tui.screens.confirm_delete import CREDENTIAL_IN_USE_WARNING
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.widgets import AuthPanel, KeyTable, LocalServiceNotice, StatusLine

from determinism import FakeClock, deterministic_tokens
from scenarios import (
    NEW_KEY_NAME,
    SERVER_ROOT,
    demo_backend,
    make_app,
    settle,
    type_text,
    unauthorized_backend,
)
from screen_check import notification_messages, notifications

WIDE = (120, 36)


def page(app: OzKeysApp) -> KeysScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, KeysScreen)
    return screen


def plain(widget: Static) -> str:
    return " ".join(str(widget.content).split())


class CountingService:
    """The local service behind a remote-looking client that signs in with a key it issued."""

    def __init__(self, clock: FakeClock) -> None:
        self.service = LocalService.demo(clock=clock, token_factory=deterministic_tokens())
        self.service.require_auth = True
        stored, self.credential = self.service.store.create_key("oz-keys on my laptop")
        self.credential_uid = stored.uid

    def backend(self, clock: FakeClock) -> Backend:
        backend = remote_backend(
            SERVER_ROOT, self.credential, clock=clock, transport=self.service.transport(),
            max_retries=0,
        )
        backend.service = self.service
        return backend


async def delete_named(pilot: Any, name: str) -> ConfirmDeleteScreen:
    app = pilot.app
    table = page(app).query_one(KeyTable)
    table.focus()
    rows = len(table.visible_keys)
    await pilot.press(*["up"] * rows)
    for _ in range(rows):
        if table.highlighted_key is not None and table.highlighted_key.name == name:
            break
        await pilot.press("down")
    assert table.highlighted_key is not None and table.highlighted_key.name == name
    await pilot.press("d")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmDeleteScreen)
    return app.screen


# -- the key in use ------------------------------------------------------------------------------


def test_is_credential_is_decided_by_the_client() -> None:
    clock = FakeClock()
    fixture = CountingService(clock)
    client = fixture.backend(clock).client
    keys = fixture.service.store.active_keys()
    in_use = [key.uid for key in keys if client.is_credential(_listed(key))]
    assert in_use == [fixture.credential_uid]
    local = local_backend(demo=True, clock=clock).client  # no credential: never "in use"
    assert not any(local.is_credential(_listed(key)) for key in keys)


def _listed(stored: Any) -> ApiKey:
    from oz_tui.core.models import KeyScope

    return ApiKey(uid=stored.uid, name=stored.name, key_suffix=stored.key_suffix,
                  scope=KeyScope.PERSONAL, created_at=stored.created_at)


@pytest.mark.parametrize("source", ["WARP_API_KEY", "--api-key"])
async def test_deleting_the_key_in_use_warns_then_says_how_to_go_on(source: str) -> None:
    clock = FakeClock()
    fixture = CountingService(clock)
    app = OzKeysApp(fixture.backend(clock), clock=clock, cursor_blink=False,
                    credential_source=source)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        # Another key: no warning.
        other = await delete_named(pilot, "CI pipeline")
        assert not other.query("#credential-in-use")
        await pilot.press("n")
        await pilot.pause()
        # The key in use: the confirmation says plainly what happens.
        dialog = await delete_named(pilot, "oz-keys on my laptop")
        assert plain(dialog.query_one("#credential-in-use", Static)) == CREDENTIAL_IN_USE_WARNING
        await pilot.press("y")
        await settle(pilot)
        screen = page(app)
        panel = screen.query_one(AuthPanel)
        assert panel.shown and panel.border_title == "Signed out"
        assert "You deleted “oz-keys on my laptop”" in panel.message_plain
        fix = " ".join(panel.fix_plain.split())
        assert "quit (q)" in fix and "WARP_API_KEY" in fix and "start oz-keys again" in fix
        assert "Settings > Cloud platform > Oz Cloud API Keys" in fix
        assert source in fix
        assert "press r" not in fix.lower() and "retry" not in fix.lower()
        assert not screen.query_one(KeyTable).display
        assert screen.query_one("#create", Button).disabled
        assert screen.query_one(StatusLine).summary_plain == "Signed out"
        # r can't help, so it isn't offered and does nothing.
        shown = [b.binding.action for b in screen.active_bindings.values()
                 if b.binding.show and b.enabled]
        assert "refresh" not in shown
        await pilot.press("r")
        await settle(pilot)
        assert panel.border_title == "Signed out" and "You deleted" in panel.message_plain
        assert "Deleted “oz-keys on my laptop”" in notification_messages(app)
        assert not [key for key in fixture.service.store.active_keys()
                    if key.uid == fixture.credential_uid]


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("WARP_API_KEY", "came from the WARP_API_KEY environment variable"),
        ("--api-key", "came from the --api-key flag"),
        (None, "No API key is set"),
    ],
)
async def test_a_refused_credential_names_its_source_and_offers_no_retry(
    source: str | None, says: str
) -> None:
    clock = FakeClock()
    backend, _seen = unauthorized_backend(clock)
    app = OzKeysApp(backend, clock=clock, cursor_blink=False, credential_source=source)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        panel = page(app).query_one(AuthPanel)
        assert panel.shown and panel.border_title == "Can't sign in"
        fix = " ".join(panel.fix_plain.split())
        assert says in fix and "start oz-keys again" in fix and "quit (q)" in fix
        assert "press r" not in fix.lower() and "retry" not in fix.lower()
        assert not panel.query(Button)  # no Retry button


# -- the local sandbox ---------------------------------------------------------------------------


async def test_the_implicit_local_service_says_so_on_the_page_until_dismissed() -> None:
    clock = FakeClock()
    app = OzKeysApp(demo_backend(clock, deterministic_tokens()), clock=clock,
                    cursor_blink=False, explain_local_service=True)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        notices = page(app).query(LocalServiceNotice)
        assert len(notices) == 1
        text = plain(notices.first().query_one("#local-notice-text", Static))
        assert "local key service on this machine" in text and "don't work with Warp" in text
        assert "--local hides this" in text
        assert "WARP_API_KEY" in text and "Settings > Cloud platform > Oz Cloud API Keys" in text
        await pilot.press("r")
        await settle(pilot)
        assert len(page(app).query(LocalServiceNotice)) == 1  # a refresh doesn't add another
        await pilot.click("#local-notice-dismiss")
        await pilot.pause()
        assert not page(app).query(LocalServiceNotice)
        await pilot.press("r")
        await settle(pilot)
        assert not page(app).query(LocalServiceNotice)  # nor bring it back


async def test_a_chosen_local_service_or_a_server_has_no_notice() -> None:
    clock = FakeClock()
    app = make_app(demo_backend(clock, deterministic_tokens()), clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert not page(app).query(LocalServiceNotice)


@pytest.mark.parametrize(
    ("argv", "env", "explained", "source"),
    [
        ([], {}, True, None),
        (["--local"], {}, False, None),
        (["--demo"], {}, False, None),
        ([], {"WARP_API_KEY": "wk-1." + "a" * 64}, False, "WARP_API_KEY"),
        (["--api-key", "wk-1." + "b" * 64], {}, False, "--api-key"),
    ],
)
def test_the_command_line_tells_the_panel_how_it_was_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, argv: list[str], env: dict[str, str],
    explained: bool, source: str | None,
) -> None:
    started: list[OzKeysApp] = []
    monkeypatch.setattr(cli, "is_tty", lambda stream: True)
    monkeypatch.setattr(OzKeysApp, "run", lambda self, **kwargs: started.append(self))
    base = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "d"),
            "HOME": str(tmp_path)}
    assert cli.run(argv, env={**base, **env}, stdin=io.StringIO(), stdout=io.StringIO(),
                   stderr=io.StringIO()) == 0
    assert len(started) == 1
    assert started[0].explain_local_service is explained
    assert started[0].credential_source == source


# -- toasts --------------------------------------------------------------------------------------


async def test_toasts_name_the_key_literally_and_a_refresh_agrees() -> None:
    hostile = "[b]ci[/b] [@click=app.quit]-deploy"  # typed: markup only (Esc would close)
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await type_text(pilot, hostile)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await pilot.press("enter")
        await settle(pilot)
        created = f"Created “{safe_text(hostile)}”"
        messages = notification_messages(app)
        assert created in messages and all("\x1b" not in m for m in messages)
        assert any(n.title == f"“{safe_text(hostile)}”" for n in notifications(app))
        toasts = [" ".join(str(t.render()).split()) for t in app.screen.query("Toast")]
        assert any("[b]ci[/b] [@click=app.quit]-deploy" in toast for toast in toasts)
        await pilot.press("r")
        await settle(pilot)
        table = page(app).query_one(KeyTable)
        assert hostile in [key.name for key in table.keys]  # the refresh shows it was created

        dialog = await delete_named(pilot, hostile)
        assert dialog is app.screen
        await pilot.press("y")
        await settle(pilot)
        assert f"Deleted “{safe_text(hostile)}”" in notification_messages(app)
        await pilot.press("r")
        await settle(pilot)
        assert hostile not in [key.name for key in table.keys]  # and that it was deleted
        assert hostile not in [key.name for key in await backend.client.list_keys()]


def test_names_in_toasts_are_terminal_safe_and_cut() -> None:
    from oz_tui.core.display import quoted_name

    assert quoted_name("ci\x1b[31m-deploy\u202e") == "“ci␛[31m-deploy\\u202e”"
    assert len(quoted_name("x" * 500)) <= 62


def _start_panel(monkeypatch: pytest.MonkeyPatch, home: Any, argv: list[str]) -> OzKeysApp:
    """The app the command line would start (not run), with `home` as HOME and XDG dirs."""
    started: list[OzKeysApp] = []
    monkeypatch.setattr(cli, "is_tty", lambda stream: True)
    monkeypatch.setattr(OzKeysApp, "run", lambda self, **kwargs: started.append(self))
    env = {"XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "d"),
           "XDG_STATE_HOME": str(home / "state"), "HOME": str(home)}
    assert cli.run(argv, env=env, stdin=io.StringIO(), stdout=io.StringIO(),
                   stderr=io.StringIO()) == 0
    return started[-1]


def test_got_it_is_remembered_for_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # platformdirs reads os.environ
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    first = _start_panel(monkeypatch, tmp_path, [])
    assert first.explain_local_service

    async def press_got_it() -> None:
        async with first.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await pilot.click("#local-notice-dismiss")
            await pilot.pause()
            assert not page(first).query(LocalServiceNotice)

    asyncio.run(press_got_it())  # (the command line closes its backend outside any loop)
    # The next launch on the same data dir: no notice; on another data dir: the notice again.
    assert not _start_panel(monkeypatch, tmp_path, []).explain_local_service
    other = tmp_path / "other"
    monkeypatch.setenv("XDG_DATA_HOME", str(other))
    assert _start_panel(monkeypatch, tmp_path, []).explain_local_service
    state = (tmp_path / "state" / "oz-keys" / "state.json")
    assert oct(state.stat().st_mode & 0o777) == "0o600"


async def test_the_notice_leaves_room_for_keys_on_a_small_terminal() -> None:
    clock = FakeClock()
    app = OzKeysApp(demo_backend(clock, deterministic_tokens()), clock=clock,
                    cursor_blink=False, explain_local_service=True)
    async with app.run_test(size=(60, 18)) as pilot:
        await settle(pilot)
        notice = page(app).query_one(LocalServiceNotice)
        table = page(app).query_one(KeyTable)
        assert table.region.height >= 3, table.region  # a header and at least two rows show
        assert notice.region.height <= 5, notice.region
