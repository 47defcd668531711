"""Run by .ci/check-installed-wheel with the fresh virtualenv's python (`python -I`, from a
directory outside the source tree): the installed package opens the panel headless on the demo
data, shows its keys, opens help and a dialog, and quits. A package file left out of the wheel
(a .tcss, a .graphql) or an import that only works from the source tree fails here."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import oz_tui
from oz_tui.backend import local_backend
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens.help import HelpScreen

installed = Path(oz_tui.__file__).resolve()
assert installed.is_relative_to(Path(sys.prefix).resolve()), f"not the installed copy: {installed}"


async def main() -> None:
    app = OzKeysApp(local_backend(demo=True), cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.table
        for _ in range(200):
            if table.loaded:
                break
            await pilot.pause(0.05)
        assert table.loaded and table.keys, "the demo keys never showed"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen), f"help did not open: {app.screen!r}"
        await pilot.press("escape")
        await pilot.press("n")
        for _ in range(100):
            if type(app.screen).__name__ == "CreateKeyScreen":
                break
            await pilot.pause(0.05)
        assert type(app.screen).__name__ == "CreateKeyScreen", f"no create dialog: {app.screen!r}"
        await pilot.press("escape")
        await pilot.pause()
    print(f"panel ok: {len(table.keys)} demo keys from {installed.parent}")


asyncio.run(main())
