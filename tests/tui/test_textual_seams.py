"""Where the panel leans on how Textual works, beyond its documented API: each test fails loudly
when Textual changes under it (an upgrade), instead of letting a secret linger or a pasted
escape reach the terminal."""

from __future__ import annotations

from textual.app import App, ComposeResult

from oz_tui.tui.clipboard import forget_app_clipboard
from oz_tui.tui.literal import LiteralInput

HOSTILE = "a\x1b[31mb\rc\x07d\u202ee\x08f\x0cg"


class InputHost(App[None]):
    def compose(self) -> ComposeResult:
        yield LiteralInput(id="box")


async def test_forgetting_the_app_clipboard_empties_only_its_mirror() -> None:
    # oz_tui.tui.clipboard.forget_app_clipboard sets Textual's private App._clipboard (no
    # public way empties the mirror alone): if Textual renames it, app.clipboard keeps the key.
    app = App[None]()
    async with app.run_test():
        app.copy_to_clipboard("wk-1.the-secret")
        assert app.clipboard == "wk-1.the-secret"
        forget_app_clipboard(app)
        assert app.clipboard == ""


async def test_a_literal_input_draws_every_character_as_a_visible_stand_in() -> None:
    # LiteralInput draws through Input's public `highlighter`: if Textual stops drawing the
    # value through it, controls would reach the terminal and this fails.
    app = InputHost()
    async with app.run_test(size=(60, 5)) as pilot:
        box = app.query_one("#box", LiteralInput)
        box.value = HOSTILE
        box.cursor_position = len(HOSTILE)
        await pilot.pause()
        drawn = "".join(box.render_line(line).text for line in range(box.size.height))
        assert "a␛[31mb␍c␇d" in drawn and "e␈f␌g" in drawn, drawn
        assert not any(ord(char) < 0x20 or char == "\u202e" for char in drawn)
        assert box.value == HOSTILE  # what was typed is kept as it is
