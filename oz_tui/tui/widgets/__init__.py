"""The panel's widgets. The key list is `KeyTable`; the rest are small pieces of the page."""

from oz_tui.tui.widgets.banner import (
    AuthPanel,
    ErrorBanner,
    LocalServiceNotice,
    RetryRequested,
)
from oz_tui.tui.widgets.footer import KeysFooter
from oz_tui.core.key_list import Column
from oz_tui.tui.widgets.key_table import KeyTable
from oz_tui.tui.widgets.search_hint import SearchHint
from oz_tui.tui.widgets.sidebar import SettingsSidebar
from oz_tui.tui.widgets.status import StatusLine, source_text

__all__ = [
    "AuthPanel",
    "Column",
    "ErrorBanner",
    "KeyTable",
    "KeysFooter",
    "LocalServiceNotice",
    "RetryRequested",
    "SearchHint",
    "SettingsSidebar",
    "StatusLine",
    "source_text",
]
