"""Screenshots read as the terminal does: no space is lost between two differently styled runs.

Rich's SVG draws each run of same-styled cells as a `<text>` at its own x, spaces as U+00A0.
librsvg (rsvg-convert, GNOME's viewers; the tool we look at screenshots with) strips the
whitespace that opens or closes a `<text>` unless `xml:space="preserve"` is in effect, so a run
that opens with spaces was drawn flush against the run before it: "Name: Deploy botwk-**8ba6" in
Save your key, "Copy key esc Close" in the footer. `drawn_rows` models that rule (checked
against rsvg-convert 2.54) and compares each picture with the cells as written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest
from rich.cells import cell_len

from oz_tui.tui.app import OzKeysApp

from determinism import FakeClock, deterministic_tokens
from scenarios import (
    NEW_KEY_NAME,
    SCENARIOS_BY_NAME,
    choose_agent,
    demo_backend,
    make_app,
    settle,
    type_text,
)

SVG = "{http://www.w3.org/2000/svg}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
#: What librsvg strips at either end of a `<text>` (Rust's char::is_whitespace, U+00A0 too).
STRIPPED = " \t\r\n\u00a0"


def drawn_rows(svg: str, *, as_librsvg: bool) -> list[str]:
    """The terminal rows a picture shows: as librsvg draws them, or with every cell as written."""
    root = ElementTree.fromstring(svg)
    rows: dict[float, dict[int, str]] = {}

    def walk(element: ElementTree.Element, preserve: bool) -> None:
        preserve = element.get(XML_SPACE, "preserve" if preserve else "default") == "preserve"
        if element.tag == f"{SVG}text" and element.get("textLength"):
            text = "".join(element.itertext())
            cells = cell_len(text.replace("\n", ""))
            if cells:
                width = float(element.get("textLength", "0")) / cells
                column = round(float(element.get("x", "0")) / width)
                if as_librsvg and not preserve:
                    text = text.strip(STRIPPED)  # and drawn from the same x
                row = rows.setdefault(float(element.get("y", "0")), {})
                for char in text.replace("\n", ""):
                    row[column] = char
                    column += cell_len(char)
        for child in element:
            walk(child, preserve)

    walk(root, False)
    drawn = []
    for _y, cells in sorted(rows.items()):
        line = [" "] * (max(cells) + 1)
        for column, char in cells.items():
            line[column] = char
        drawn.append("".join(line).replace("\u00a0", " ").rstrip())
    return drawn


def show_once(name: str, *, agent: bool) -> Any:
    """Create a key named `name` (an Agent key when `agent`) and stop at Save your key."""

    async def run_before(pilot: Any) -> None:
        if agent:
            assert name == NEW_KEY_NAME  # what choose_agent types
            await choose_agent(pilot)
            await pilot.press("enter")  # take the preselected agent, close the list
            await pilot.press("tab")  # on to the name
        else:
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            await type_text(pilot, name)
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ShowKeyScreen"

    return run_before


async def picture(app: OzKeysApp, run_before: Any, size: tuple[int, int] = (120, 36)) -> str:
    async with app.run_test(size=size) as pilot:
        await run_before(pilot)
        await pilot.pause()
        return app.export_screenshot()


def demo() -> OzKeysApp:
    clock = FakeClock()
    return make_app(demo_backend(clock, deterministic_tokens()), clock)


def assert_reads_as_written(svg: str, *expected: str) -> list[str]:
    written = drawn_rows(svg, as_librsvg=False)
    for text in expected:
        assert any(re.search(text, row) for row in written), (text, written)
    assert drawn_rows(svg, as_librsvg=True) == written
    return written


@pytest.mark.parametrize(
    ("name", "agent"),
    [(NEW_KEY_NAME, False), (NEW_KEY_NAME, True), ("Quarterly EU export pipeline " * 3, False)],
    ids=["personal", "agent", "long-name"],
)
async def test_save_your_key_keeps_the_space_between_name_and_key(name: str, agent: bool) -> None:
    svg = await picture(demo(), show_once(name, agent=agent))
    shown = name.strip()[:40]
    written = assert_reads_as_written(svg, r"Name: " + re.escape(shown))
    # The masked key follows the name (a long name wraps first), two spaces after it.
    start = next(index for index, row in enumerate(written) if "Name: " in row)
    assert any(re.search(r"\S  wk-\*\*[0-9a-f]{4}", row) for row in written[start:start + 2])


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        # The details grid: label, padding, value (the key fragment, the agent).
        ("key-details", [r"Key\s+wk-\*\*0347", r"Scope\s+Agent · default-agent"]),
        # The footer: each key and what it does, then the next key.
        ("marked-keys", [r"n Create  d Delete  space Mark"]),
        ("confirm-delete", [r"Delete API key “Nightly agent runs” \(wk-\*\*0347\)\?"]),
    ],
)
async def test_other_pictures_keep_their_spaces_too(scenario: str, expected: list[str]) -> None:
    svg = await picture(*SCENARIOS_BY_NAME[scenario].build())
    assert_reads_as_written(svg, *expected)
