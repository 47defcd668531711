"""The settings sidebar: where this page sits in Warp's settings. Not interactive.

Only "Cloud platform > Oz Cloud API Keys" is real here; the other sections are listed dimmed, for
orientation, and a note under them says they are Warp's, not this app's. 16 columns ("Cloud
platform" on one line), and 20 from 120 columns up (app.tcss), where every entry fits on one line
and the table still lays out as at 16. The screen hides it on narrow terminals.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

#: Top-level sections of Warp's settings shown for orientation (dimmed, not interactive).
SECTIONS_BEFORE = ("Account", "Appearance", "Features", "AI")
SECTIONS_AFTER = ("Keyboard shortcuts", "Privacy", "About")
SECTION = "Cloud platform"
PAGE = "Oz Cloud API Keys"
#: Says the dimmed sections are not part of this app (they don't respond). Broken where it reads
#: well: each line fits the narrow sidebar.
OTHERS_NOTE = "Dimmed:\nin Warp only"


class SettingsSidebar(Vertical, can_focus=False):
    """Settings > Cloud platform (expanded) > Oz Cloud API Keys (selected)."""

    DEFAULT_CSS = """
    SettingsSidebar {
        width: 16;
        height: 1fr;
        padding: 1 0 1 1;
    }
    SettingsSidebar > Static {
        height: auto;
    }
    SettingsSidebar > .-title {
        text-style: bold;
        margin-bottom: 1;
    }
    SettingsSidebar > .-other {
        color: $text-disabled;
    }
    SettingsSidebar > .-note {
        color: $text-disabled;
        text-style: italic;
        margin-top: 1;
    }
    SettingsSidebar > .-section {
        text-style: bold;
    }
    SettingsSidebar > .-page {
        text-style: bold;
        background: $primary-muted;
        padding-left: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("Settings", classes="-title", markup=False)
        for name in SECTIONS_BEFORE:
            yield Static(name, classes="-other", markup=False)
        yield Static(SECTION, classes="-section", markup=False)
        yield Static(PAGE, classes="-page", markup=False)
        for name in SECTIONS_AFTER:
            yield Static(name, classes="-other", markup=False)
        yield Static(OTHERS_NOTE, classes="-note", markup=False)
