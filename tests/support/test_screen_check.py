"""screen_check is the one place that reads Textual's private fields: fail loudly if they move."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from screen_check import notification_messages, notifications, screen_lines, terminal_output, unhandled_error


class _Probe(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("probe text on screen")


async def test_the_private_readers_still_see_what_textual_shows() -> None:
    app = _Probe()
    async with app.run_test() as pilot:
        assert notifications(app) == [] and unhandled_error(app) is None
        app.notify("a toast", title="a title")
        await pilot.pause()
        assert notification_messages(app) == ["a toast"]
        assert notifications(app)[0].title == "a title"
        assert any("probe text on screen" in line for line in screen_lines(app))
        assert "probe text on screen" in terminal_output(app)
        assert app.return_code is None
        app.exit(return_code=3)
        assert app.return_code == 3
