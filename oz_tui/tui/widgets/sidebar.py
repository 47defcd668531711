"""The settings sidebar: where this page sits in Warp's settings. Not interactive.

Only "Cloud platform > Oz Cloud API Keys" is real here; the other sections are listed dimmed, for
orientation, and are not selectable. Items wrap, so the sidebar can be narrowed; the screen hides
it on narrow terminals.
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


class SettingsSidebar(Vertical, can_focus=False):
    """Settings > Cloud platform (expanded) > Oz Cloud API Keys (selected)."""

    DEFAULT_CSS = """
    SettingsSidebar {
        width: 26;
        height: 1fr;
        padding: 1 1;
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
        yield Static(f"▾ {SECTION}", classes="-section", markup=False)
        yield Static(f"▸ {PAGE}", classes="-page", markup=False)
        for name in SECTIONS_AFTER:
            yield Static(name, classes="-other", markup=False)
