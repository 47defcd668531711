"""The panel's rebindable actions and the config file's `[keymap]` table. No Textual here.

Each action is a Textual binding with an `id` (oz_tui/tui/screens/keys.py); the app hands the
checked table to `App.set_keymap`, so the footer and the help screen show the keys in effect.
Checked when the config is read (before Textual loads), so a mistake is one line naming the
entry, exit 2, like every config error:

    [keymap]
    create = "c"             # one key
    delete = "x,delete"      # several, comma-separated
    search = "ctrl+f"        # modifiers: ctrl, shift, alt, meta, super, hyper
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import NamedTuple


class PanelAction(NamedTuple):
    #: The binding id, and the name in `[keymap]`.
    id: str
    #: Default keys, Textual key names, comma-separated.
    keys: str
    #: What it does, as the help screen and the command palette say it.
    help: str
    #: The command palette's name for it; None: not in the palette (Textual's own Quit is).
    command: str | None
    #: The Textual action it runs on the keys page (its binding's action).
    action: str


#: The one table of the page's actions: the page's bindings, the footer (through them), the help
#: screen and the command palette all come from it.
PANEL_ACTIONS: tuple[PanelAction, ...] = (
    PanelAction("create", "n,plus", "Create a new API key", "Create API key", "create"),
    PanelAction(
        "search", "slash",
        "Search keys by name, last four, uid or qualifiers; Esc leaves the box, Esc again "
        "clears it", "Search API keys", "search",
    ),
    PanelAction("mark", "space", "Mark or unmark the highlighted key (or click its mark column)",
                "Mark or unmark key", "toggle_mark"),
    PanelAction("mark_all", "a", "Mark every key shown", "Mark every key shown", "mark_visible"),
    PanelAction("clear_marks", "A", "Clear all marks", "Clear marks", "clear_marks"),
    PanelAction(
        "delete", "d,delete", "Delete the marked keys, or else the highlighted key (asks first)",
        "Delete API key", "delete",
    ),
    PanelAction(
        "rotate", "R",
        "Rotate the highlighted key: a new key like it, shown once, then the old one expired",
        "Rotate API key", "rotate",
    ),
    PanelAction("refresh", "r", "Refresh the list", "Refresh", "refresh"),
    PanelAction(
        "sort", "s", "Sort by the next column (or click a column's header to sort by it)",
        "Sort by next column", "cycle_sort",
    ),
    PanelAction(
        "reverse_sort", "S", "Reverse the sort order (or click the sorted column's header)",
        "Reverse sort order", "reverse_sort",
    ),
    PanelAction("help", "question_mark", "Show this help", "Help", "help"),
    PanelAction("quit", "q", "Quit", None, "quit"),
)
#: The page's actions on keys no keymap changes (the keys are `RESERVED_KEYS`).
FIXED_ACTIONS: tuple[PanelAction, ...] = (
    PanelAction("clear_search", "ctrl+u", "Clear the search", "Clear search", "clear_search"),
    PanelAction("details", "enter", "Details of the highlighted key (or click its name)",
                "Key details", "details"),
)
#: Every action of the page, rebindable or not, by id.
EVERY_ACTION: dict[str, PanelAction] = {
    action.id: action for action in PANEL_ACTIONS + FIXED_ACTIONS
}
#: The rebindable actions, by id (the names `[keymap]` accepts).
ACTIONS: dict[str, PanelAction] = {action.id: action for action in PANEL_ACTIONS}

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
#: Named keys (besides single characters and Unicode character names like `question_mark`).
NAMED_KEYS = frozenset(
    (
        "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right",
        # Textual's short names for some characters.
        "slash", "backslash", "at", "minus", "plus", "underscore",
        *(f"f{number}" for number in range(1, 25)),
    )
)
#: Keys the panel keeps for itself: moving in the table (arrows, j k g G) and between widgets,
#: details (Enter), leaving search, dialogs and waits (Esc), clearing the search (ctrl+u), the
#: command palette and quitting from anywhere.
RESERVED_KEYS = frozenset(
    (
        "escape", "enter", "tab", "shift+tab", "up", "down", "left", "right", "pageup",
        "pagedown", "home", "end", "ctrl+home", "ctrl+end", "j", "k", "g", "G", "ctrl+u",
        "ctrl+p", "ctrl+q", "ctrl+c",
    )
)


class KeymapError(ValueError):
    """A `[keymap]` entry that can't be used; the message names the entry."""


def normalize_key(key: str) -> str | None:
    """`key` in Textual's long form (`?` -> `question_mark`, `ctrl+/` -> `ctrl+slash`), or None
    when it is not a key."""
    *modifiers, base = key.split("+") if key != "+" else ["+"]
    if any(modifier not in MODIFIERS for modifier in modifiers):
        return None
    if len(set(modifiers)) != len(modifiers) or not base:
        return None
    if len(base) == 1:
        if not base.isprintable() or base.isspace() or base == ",":
            return None
        base = _character_name(base)
    elif base not in NAMED_KEYS and not _is_character_name(base):
        return None
    return "+".join((*modifiers, base))


_SHORT_NAMES = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
                "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}


def _character_name(character: str) -> str:
    # Textual's own naming: letters and digits as they are, other characters by Unicode name.
    if character.isalnum():
        return character
    name = unicodedata.name(character, character).lower().replace("-", "_").replace(" ", "_")
    return _SHORT_NAMES.get(name, name)


def _is_character_name(name: str) -> bool:
    if name != name.lower():
        return False
    try:
        character = unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        return False
    # Only the name Textual gives a printable character's key (`esc` is a control's alias).
    return len(character) == 1 and character.isprintable() and _character_name(character) == name


def parse_keymap(table: object) -> dict[str, str]:
    """The `[keymap]` table as {action id: normalized keys}, or `KeymapError` naming the entry."""
    if not isinstance(table, Mapping):
        raise KeymapError("keymap must be a table ([keymap] with action = \"keys\" lines)")
    keymap: dict[str, str] = {}
    owner: dict[str, str] = {}  # key -> the action it is bound to in this keymap
    for action_id, value in table.items():
        entry = f"keymap.{action_id}"
        if action_id not in ACTIONS:
            import difflib  # only for this message (start-up loads what it uses)

            guesses = difflib.get_close_matches(str(action_id), list(ACTIONS), n=1)
            guess = guesses[0] if guesses else None
            hint = f"did you mean {guess!r}? " if guess else ""
            raise KeymapError(
                f"{entry}: no such action; {hint}actions are " + ", ".join(ACTIONS)
            )
        if not isinstance(value, str) or not value.strip():
            raise KeymapError(f'{entry} must be a string of keys like "x" or "x,delete"')
        keys = []
        for raw in value.split(","):
            key = normalize_key(raw.strip())
            if key is None:
                raise KeymapError(
                    f"{entry}: {raw.strip()!r} is not a key (a character, a name like delete, "
                    "f5 or space, with optional ctrl+, shift+, alt+ before it)"
                )
            if key in RESERVED_KEYS:
                raise KeymapError(f"{entry}: {raw.strip()!r} is kept by the panel itself")
            if key in owner and owner[key] != action_id:
                raise KeymapError(f"{entry}: {raw.strip()!r} is also keymap.{owner[key]}'s key")
            owner[key] = action_id
            keys.append(key)
        keymap[action_id] = ",".join(dict.fromkeys(keys))
    # A default key of an action the keymap leaves alone stays that action's: taking it would
    # silently leave that action with one key fewer.
    for action in PANEL_ACTIONS:
        if action.id in keymap:
            continue
        for key in action.keys.split(","):
            if key in owner:
                raise KeymapError(
                    f"keymap.{owner[key]}: {key!r} is {action.id}'s key; rebind "
                    f"keymap.{action.id} too to move it"
                )
    return keymap
