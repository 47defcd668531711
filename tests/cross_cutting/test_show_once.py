"""The show-once promise on every way out of *Save your key*, driven through the real OzKeysApp.

Every path that would end the dialog or the session before the key was copied asks first (y/n,
Enter keeps the dialog); screenshots never hold the secret; what the app writes is 0600.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.screens.show_key import (
    CLOSE_UNSAVED_QUESTION,
    QUIT_UNSAVED_QUESTION,
    CloseUnsavedKeyScreen,
)

from scenarios import settle
from screen_check import screen_lines
from show_once_steps import CLOSES, QUITS, WIDE, demo_app, first_raw_key, open_new_key, question_of, run_palette_command, trigger


@pytest.mark.parametrize("way", CLOSES + QUITS)
async def test_every_way_out_before_copying_asks_and_n_enter_esc_keep_the_key(
    way: str, reliability: Any
) -> None:
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        dialog = await open_new_key(pilot)
        for keep in ("n", "enter", "escape"):
            await trigger(pilot, way)
            expected = QUIT_UNSAVED_QUESTION if way in QUITS else CLOSE_UNSAVED_QUESTION
            assert question_of(app) == expected
            await pilot.press(keep)
            await pilot.pause()
            assert app.screen is dialog and app.is_running and app.return_code is None
            assert dialog.query_one("#secret", TextArea).text == first_raw_key()
    reliability.passed("secrets", "ways-out", "outcome",
                       "each asks first (y goes; n, Esc and Enter keep the key)")


@pytest.mark.parametrize("way", QUITS)
async def test_y_quits_and_the_secret_goes_with_the_session(way: str) -> None:
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        dialog = await open_new_key(pilot)
        field = dialog.query_one("#secret", TextArea)
        await trigger(pilot, way)
        assert question_of(app) == QUIT_UNSAVED_QUESTION
        footer = " ".join(b.binding.description for b in app.screen.active_bindings.values()
                          if b.binding.show and b.enabled)
        assert "Quit anyway" in footer and "Close anyway" not in footer
        await pilot.press("y")
        await pilot.pause()
        assert app.return_code == 0
        assert field.text == ""


@pytest.mark.parametrize("way", CLOSES)
async def test_y_closes_the_dialog_and_keeps_the_app(way: str) -> None:
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        field = (await open_new_key(pilot)).query_one("#secret", TextArea)
        await trigger(pilot, way)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen) and app.is_running
        assert field.text == ""


async def test_after_copying_quit_does_not_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    from oz_tui.tui import clipboard

    monkeypatch.setattr(clipboard, "find_system_copier", lambda: None)
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await open_new_key(pilot)
        await pilot.press("c")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code is not None and not isinstance(app.screen, CloseUnsavedKeyScreen)


async def test_asking_twice_opens_one_question() -> None:
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await open_new_key(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert sum(isinstance(s, CloseUnsavedKeyScreen) for s in app.screen_stack) == 1
        assert app.is_running and app.return_code is None


# -- screenshots ---------------------------------------------------------------------------------


async def test_screenshots_never_hold_the_secret_and_are_private(
    tmp_path: Path, reliability: Any
) -> None:
    raw = first_raw_key()
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        dialog = await open_new_key(pilot)
        # Every path to a picture of the screen: the export, the save, the delivery.
        svg = app.export_screenshot()
        saved = Path(app.save_screenshot("saved.svg", str(tmp_path)))
        app.deliver_screenshot("delivered.svg", str(tmp_path))
        await pilot.pause(0.5)
        delivered = tmp_path / "delivered.svg"
        for text in (svg, saved.read_text(), delivered.read_text()):
            text = text.replace("&#160;", " ")
            assert "Save your key" in text  # the dialog is in the picture ...
            assert raw not in text and raw[5:] not in text  # ... its secret is not
            assert "••••" in text
        for path in (saved, delivered):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        # The dialog still shows the key, unchanged, after the picture was taken.
        assert dialog.query_one("#secret", TextArea).text == raw
        drawn = "\n".join(screen_lines(app))
        assert raw in drawn
    reliability.passed("secrets", "screenshots", "outcome",
                       "the key is drawn as •••• in the picture; files created 0600")


@pytest.mark.parametrize("downloads", [True, False], ids=["downloads", "headless-home"])
async def test_palette_screenshot_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: bool
) -> None:
    """Saved in ~/Downloads, or (a headless machine's home has none) the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    if downloads:
        (tmp_path / "Downloads").mkdir()
    raw = first_raw_key()
    app = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await open_new_key(pilot)
        await run_palette_command(pilot, "Screenshot")
        await pilot.pause(0.5)
        await settle(pilot)
    written = [p for p in tmp_path.rglob("*.svg")]
    assert written, "the palette's Screenshot wrote nothing"
    assert {p.parent for p in written} == {tmp_path / "Downloads" if downloads else tmp_path}
    for path in written:
        assert raw not in path.read_text() and raw[5:] not in path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
