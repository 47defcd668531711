"""What the panel would write to the terminal, and checks that nothing hostile is in it.

`terminal_output(app)` renders the current screen (with the screens under a modal, and the
toasts) exactly as Textual's driver would, escape sequences and all, into a string: the bytes a
real terminal would receive for a full repaint. `assert_inert` then removes the sequences Textual
itself writes (SGR colours, cursor moves, OSC 8 links to allowed addresses) and fails on anything
left that could steer a terminal or hide text.
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterable

from rich.console import Console

#: Textual's own sequences: SGR, cursor position, and OSC 8 hyperlinks (open and close).
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_CURSOR = re.compile(r"\x1b\[\d+;\d+H")
_OSC8 = re.compile(r"\x1b\]8;[^;\x1b\x07]*;([^\x1b\x07]*)(?:\x1b\\|\x07)")
#: Characters that must never reach the terminal from untrusted text.
_FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb]"
)


def terminal_output(app: Any) -> str:
    """The full-repaint byte stream (as text) for the app's current screen."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens
    )
    return update.render_segments(console)


def screen_lines(app: Any) -> list[str]:
    """The characters on screen, line by line (no styles)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


# Textual keeps the notification list, the compositor and an app's unhandled exception in
# private fields and offers no public reader; this module is the one place in the tests that
# knows them (tests/support/test_screen_check.py fails loudly if a Textual release moves them).


def notifications(app: Any) -> list[Any]:
    """Every notification the app has raised and not yet expired (each has .message, .title)."""
    return list(app._notifications)


def notification_messages(app: Any) -> list[str]:
    return [str(n.message) for n in notifications(app)]


def unhandled_error(app: Any) -> BaseException | None:
    """The exception that is ending the app, if any (run_test re-raises it only at exit)."""
    return app._exception


def links(output: str) -> list[str]:
    return [url for url in _OSC8.findall(output) if url]


def assert_inert(output: str, allowed_links: Iterable[str] = ()) -> None:
    """Only Textual's own sequences in `output`, and links only to `allowed_links`."""
    allowed = set(allowed_links)
    foreign = [url for url in links(output) if url not in allowed]
    assert not foreign, f"foreign hyperlinks on screen: {foreign}"
    rest = _OSC8.sub("", _CURSOR.sub("", _SGR.sub("", output)))
    bad = _FORBIDDEN.search(rest)
    assert bad is None, (
        f"{bad.group()!r} reaches the terminal: …{rest[max(0, bad.start() - 40):bad.end() + 40]!r}…"
    )
