"""The panel's modal dialogs. The main screen pushes these; each dismisses with its result."""

from oz_tui.tui.screens.confirm_delete import ConfirmDeleteScreen
from oz_tui.tui.screens.create_key import CreateKeyScreen
from oz_tui.tui.screens.help import HelpScreen
from oz_tui.tui.screens.show_key import ShowKeyScreen

__all__ = ["ConfirmDeleteScreen", "CreateKeyScreen", "HelpScreen", "ShowKeyScreen"]
