"""Keys your way: the config's [keymap] rebinds the panel's actions (footer and help follow), a
bad entry is one line naming it (exit 2), and the theme picked in the palette is remembered."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from oz_tui.config import SettingsError, load_config
from oz_tui.core.keymap import ACTIONS, EVERY_ACTION, PANEL_ACTIONS, parse_keymap
from oz_tui.state import PanelState
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ConfirmDeleteScreen, CreateKeyScreen, HelpScreen
from oz_tui.tui.screens.help import key_label
from oz_tui.tui.screens.key_details import KeyDetailsScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.screens.rotate_key import RotateKeyScreen
from oz_tui.tui.widgets.key_grid import KeyGrid
from oz_tui.tui.widgets.footer import KeysFooter

from determinism import FakeClock, deterministic_tokens
from scenarios import demo_backend, settle

WIDE = (120, 36)


def keymap_app(keymap: dict[str, str] | None = None, **options: Any) -> OzKeysApp:
    clock = FakeClock()
    return OzKeysApp(demo_backend(clock, deterministic_tokens()), clock=clock,
                     cursor_blink=False, keymap=keymap, **options)


def footer_keys(app: OzKeysApp) -> list[tuple[str, str]]:
    footer = app.screen.query_one(KeysFooter)
    return [(key.key_display, key.description)  # type: ignore[attr-defined]
            for key in footer.query("FooterKey")]


def help_text(app: OzKeysApp) -> str:
    """The help's key table as the terminal shows it."""
    from rich.console import Console

    table = app.screen.query_one("#keys", Static).content
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()


# -- the config's [keymap] ---------------------------------------------------------------------


def test_every_panel_action_is_a_binding_id_of_the_page() -> None:
    ids = {binding.id for binding in KeysScreen.BINDINGS if getattr(binding, "id", None)}
    assert ids == {action.id for action in PANEL_ACTIONS}


def test_a_keymap_is_read_and_normalized(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\ncreate = "c"\ndelete = "x, delete"\nhelp = "?,f1"\n'
                    'search = "ctrl+/"\n')
    assert load_config(path).keymap == {
        "create": "c", "delete": "x,delete", "help": "question_mark,f1", "search": "ctrl+slash",
    }


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[keymap]\ndelte = "x"\n',
         "keymap.delte: no such action; did you mean 'delete'? actions are create, search, "
         "mark, mark_all, clear_marks, delete, rotate, refresh, sort, reverse_sort, help, quit"),
        ('[keymap]\ncreate = "j"\n', "keymap.create: 'j' is kept by the panel itself"),
        ('[keymap]\nsearch = "space"\n', "keymap.search: 'space' is mark's key"),
        ('[keymap]\ncreate = "ctrl+"\n', "keymap.create: 'ctrl+' is not a key"),
        ('[keymap]\ncreate = "c,,x"\n', "keymap.create: '' is not a key"),
        ('[keymap]\ncreate = "Ctrl+x"\n', "keymap.create: 'Ctrl+x' is not a key"),
        ('[keymap]\ncreate = "delet"\n', "keymap.create: 'delet' is not a key"),
        ('[keymap]\ncreate = "esc"\n', "keymap.create: 'esc' is not a key"),
        ('[keymap]\ncreate = "ctrl+shift+ctrl+x"\n', "keymap.create: 'ctrl+shift+ctrl+x' is not"),
        ('[keymap]\nrefresh = "f99"\n', "keymap.refresh: 'f99' is not a key"),
        ('[keymap]\ncreate = 3\n', 'keymap.create must be a string of keys like "x"'),
        ('[keymap]\ncreate = ""\n', 'keymap.create must be a string of keys like "x"'),
        ("keymap = 3\n", "keymap must be a table"),
        ('[keymap]\ncreate = "escape"\n', "keymap.create: 'escape' is kept by the panel itself"),
        ('[keymap]\nsearch = "ctrl+p"\n', "keymap.search: 'ctrl+p' is kept by the panel itself"),
        ('[keymap]\ncreate = "x"\ndelete = "x"\n', "keymap.delete: 'x' is also keymap.create's"),
        ('[keymap]\ncreate = "d"\n', "keymap.create: 'd' is delete's key; rebind keymap.delete"),
    ],
)
def test_a_bad_keymap_entry_is_one_line_naming_it(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_taking_a_default_key_is_fine_once_its_action_moves() -> None:
    assert parse_keymap({"create": "d", "delete": "x"}) == {"create": "d", "delete": "x"}


def test_the_cli_refuses_a_bad_keymap_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nrefesh = "r"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "oz_tui", "--demo", "list"], capture_output=True, text=True,
        env={**env, "OZ_KEYS_CONFIG": str(path)}, timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"oz-keys: {path}: keymap.refesh: no such action; "
                                  "did you mean 'refresh'?")
    assert len(done.stderr.splitlines()) == 1


# -- the panel with a keymap -------------------------------------------------------------------


async def test_rebound_keys_work_and_the_old_ones_do_not() -> None:
    app = keymap_app({"create": "c", "delete": "x,delete"})
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CreateKeyScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        for key in ("x", "delete"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDeleteScreen), key
            await pilot.press("escape")
            await settle(pilot)


async def test_footer_and_help_show_the_keys_in_effect() -> None:
    app = keymap_app({"create": "c", "delete": "x,delete", "help": "f1", "search": "ctrl+f"})
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        shown = footer_keys(app)
        assert ("c", "Create") in shown and ("x", "Delete") in shown
        assert ("f1", "Help") in shown and ("^f", "Search") in shown
        assert ("n", "Create") not in shown and ("d", "Delete") not in shown
        # Each action keeps its place: rebinding doesn't move it to the end.
        assert [description for _key, description in shown][:7] == [
            "Create", "Delete", "Mark", "Search", "Refresh", "Sort", "Help",
        ]
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)

        def keys_of(action_id: str) -> list[str]:
            """The keys the help lists beside the action's description."""
            line = next(line for line in text.splitlines() if ACTIONS[action_id].help[:30] in line)
            return line.strip().split(ACTIONS[action_id].help[:30])[0].split()

        assert keys_of("create") == ["c"]
        assert keys_of("delete") == ["x", "Delete"]
        assert keys_of("help") == ["F1"]
        assert keys_of("search") == ["ctrl+f"]
        assert keys_of("refresh") == ["r"]  # not rebound: the default
        assert keys_of("mark") == ["Space"]


async def test_without_a_keymap_help_shows_the_default_keys() -> None:
    app = keymap_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = help_text(app)
        for keys, what in (("n  +", "Create a new API key"), ("d  Delete", "Delete the marked"),
                           ("?", "Show this help"), ("q  ctrl+q", "Quit"), ("Space", "Mark or")):
            assert any(line.strip().startswith(keys) and what in line
                       for line in text.splitlines()), (keys, text)


#: Rebinds delete, rotate and new (create) away from every default key.
MOVED = {"create": "c", "delete": "x,f5", "rotate": "ctrl+r"}


async def open_details(pilot: Any) -> KeyDetailsScreen:
    """The highlighted key's details, opened with Enter on the table."""
    app = pilot.app
    app.screen.query_one(KeyGrid).focus()
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, KeyDetailsScreen)
    return app.screen


@pytest.mark.parametrize(
    ("new_keys", "old_keys", "opens"),
    [
        (["x", "f5"], ["d", "delete"], ConfirmDeleteScreen),
        (["ctrl+r"], ["R"], RotateKeyScreen),
    ],
)
async def test_the_details_dialog_answers_the_rebound_keys_not_the_old_ones(
    new_keys: list[str], old_keys: list[str], opens: type
) -> None:
    app = keymap_app(MOVED)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        for old in old_keys:
            await open_details(pilot)
            await pilot.press(old)
            await settle(pilot)
            assert isinstance(app.screen, KeyDetailsScreen), old
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, KeysScreen)
        for new in new_keys:
            await open_details(pilot)
            await pilot.press(new)
            await settle(pilot)
            assert isinstance(app.screen, opens), new
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, KeysScreen), new


async def palette_prompts(pilot: Any, query: str) -> list[str]:
    """The command palette's options for `query`, as it shows them (title and help)."""
    from textual.command import CommandList

    app = pilot.app
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    options = app.screen.query_one(CommandList)
    for _ in range(100):  # the palette searches in the background; at most ~10 s
        await pilot.pause(0.1)
        if options.option_count and not options.has_class("--populating"):
            break
    prompts = []
    for index in range(options.option_count):
        prompt = options.get_option_at_index(index).prompt
        prompts.append(prompt.plain if hasattr(prompt, "plain") else str(prompt))
    await pilot.press("escape")
    await pilot.pause()
    return prompts


@pytest.mark.parametrize(
    ("keymap", "command", "keys", "not_keys"),
    [
        (MOVED, "Delete API key", "(x, F5)", "(d"),
        (MOVED, "Rotate API key", "(ctrl+r)", "(R)"),
        (MOVED, "Create API key", "(c)", "(n"),
        ({"refresh": "f6", "help": "f1"}, "Refresh", "(F6)", "(r)"),
        ({"refresh": "f6", "help": "f1"}, "Help", "(F1)", "(?)"),
        ({}, "Delete API key", "(d, Delete)", "(x"),
    ],
)
async def test_the_palette_shows_the_keys_in_effect(
    keymap: dict[str, str], command: str, keys: str, not_keys: str
) -> None:
    app = keymap_app(keymap)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        prompts = await palette_prompts(pilot, command)
        action = next(a for a in EVERY_ACTION.values() if a.command == command)
        entry = next(prompt for prompt in prompts if prompt.startswith(command))
        assert keys in entry and not_keys not in entry, entry
        assert action.help in entry


async def test_every_palette_command_is_a_table_action_with_its_keys() -> None:
    app = keymap_app(MOVED)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        for action in EVERY_ACTION.values():
            if action.command is None:
                continue
            keys = MOVED.get(action.id) or action.keys
            labels = ", ".join(key_label(key) for key in keys.split(","))
            assert commands[action.command].help == f"{action.help} ({labels})"


def test_the_table_names_the_action_each_page_binding_runs() -> None:
    for binding in KeysScreen.BINDINGS:
        if getattr(binding, "id", None) and "(" not in binding.action:
            assert EVERY_ACTION[binding.id].action == binding.action, binding.id
    for action in EVERY_ACTION.values():
        assert callable(getattr(KeysScreen, f"action_{action.action}", None)), action.id


@pytest.mark.parametrize("keymap", [{}, MOVED, {"sort": "o", "reverse_sort": "O", "quit": "f10"}])
async def test_each_action_line_of_help_is_the_table_with_the_keys_in_effect(
    keymap: dict[str, str],
) -> None:
    from rich.console import Console

    from oz_tui.tui.screens.help import EXTRA_KEYS, KEY_ROWS

    app = keymap_app(keymap)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        # Wide enough that no description wraps: one line per row.
        console = Console(width=400, record=True, file=io.StringIO(), color_system=None)
        console.print(app.screen.query_one("#keys", Static).content)
        lines = [line.rstrip() for line in console.export_text().splitlines()]
        checked = 0
        for row in KEY_ROWS:
            if isinstance(row, tuple):
                continue
            action = EVERY_ACTION[row]
            keys = keymap.get(row) or action.keys
            expected = "  ".join([key_label(key) for key in keys.split(",")]
                                 + ([EXTRA_KEYS[row]] if row in EXTRA_KEYS else []))
            line = next(line for line in lines if line.endswith("  " + action.help))
            assert line[: -len(action.help)].strip() == expected, (row, line)
            checked += 1
        assert checked == len(PANEL_ACTIONS) + 2  # every rebindable action, ctrl+u and Enter


# -- the remembered theme ----------------------------------------------------------------------


async def test_the_theme_picked_is_remembered_for_next_time(tmp_path: Path) -> None:
    state = PanelState(tmp_path / "state" / "oz-keys" / "state.json")
    app = keymap_app(remember_theme=state.remember_theme)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert not state.path.exists()  # starting remembers nothing
        app.theme = "nord"  # what the command palette's "Change theme" does
        await pilot.pause()
        await pilot.pause()
    assert json.loads(state.path.read_text()) == {"theme": "nord"}
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.path.parent.stat().st_mode) == 0o700
    assert state.theme() == "nord"

    again = keymap_app(theme=state.theme(), remember_theme=state.remember_theme)
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert again.theme == "nord"


async def test_the_palette_theme_picker_is_remembered(tmp_path: Path) -> None:
    state = PanelState(tmp_path / "state.json")
    app = keymap_app(remember_theme=state.remember_theme)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press(*"gruvbox")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.theme == "gruvbox"
    assert state.theme() == "gruvbox"


def test_a_damaged_state_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    state = PanelState(path)
    assert state.theme() is None
    state.remember_theme("dracula")
    assert state.theme() == "dracula"


def test_the_config_theme_wins_over_the_remembered_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import oz_tui.tui.app as app_module
    from oz_tui import cli

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    seen: list[str | None] = []

    class FakeApp:
        def __init__(self, backend: Any, **options: Any) -> None:
            seen.append(options["theme"])
            self.return_code = 0

        def run(self) -> None:
            pass

    monkeypatch.setattr(app_module, "OzKeysApp", FakeApp)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    PanelState(tmp_path / "state" / "oz-keys" / "state.json").remember_theme("dracula")
    config = tmp_path / "config.toml"
    config.write_text('theme = "nord"\n')
    for env in ({"OZ_KEYS_CONFIG": str(config)}, {}):
        code = cli.run(["--demo"], env=env, stdin=Tty(), stdout=Tty(), stderr=io.StringIO())
        assert code == 0
    assert seen == ["nord", "dracula"]
