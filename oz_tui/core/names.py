"""The one rule for an API key's name, with the messages a user sees.

The create dialog, the CLI, the local store and the GraphQL service all call `check_name` (or
`name_problem`), so a name one of them takes, every one of them takes. The rule:

- the name is trimmed of surrounding white space first (Warp trims names);
- it is 1 to `MAX_KEY_NAME_LENGTH` characters once trimmed; the panel's dialog, like Warp's
  page, sends `DEFAULT_KEY_NAME` for a blank field, while the CLI, the store and the service
  refuse a blank name;
- it holds no control character (C0, DEL, C1), no line or paragraph separator (U+2028/2029) and
  no bidirectional control (U+200E/200F marks, U+202A–202E embeddings and overrides, U+2066–2069
  isolates): each is invisible or steers a terminal, and would make a listed name read as
  something it is not (`evil\u202egpj.exe` shows as `evilexe.jpg`).
"""

from __future__ import annotations

import unicodedata

DEFAULT_KEY_NAME = "Warp API Key"
MAX_KEY_NAME_LENGTH = 100

#: Characters refused beyond Unicode's control category (Cc).
_REFUSED = frozenset(
    "\u2028\u2029"  # line and paragraph separators
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)

BLANK = "The API key name cannot be blank."
CONTROL = (
    "The API key name cannot contain control characters (such as tabs, line breaks, escape "
    "codes or bidirectional controls)."
)


def too_long(length: int) -> str:
    return f"The API key name is too long ({length} characters); use at most {MAX_KEY_NAME_LENGTH}."


#: The rule in one sentence, for help texts and the docs.
RULE = (
    f"Names are trimmed, 1 to {MAX_KEY_NAME_LENGTH} characters (a blank name in the panel "
    f"becomes \u201c{DEFAULT_KEY_NAME}\u201d), with no control characters, line separators or "
    "bidirectional controls."
)


class KeyNameError(ValueError):
    """A name the rule refuses; `str(error)` is the message to show."""


def _refused(char: str) -> bool:
    return char in _REFUSED or unicodedata.category(char) == "Cc"


def name_problem(text: str, *, blank_allowed: bool = False) -> str | None:
    """Why `text` can't be a key name, or None when it can."""
    trimmed = text.strip()
    if any(_refused(char) for char in trimmed):
        return CONTROL
    if not trimmed and not blank_allowed:
        return BLANK
    if len(trimmed) > MAX_KEY_NAME_LENGTH:
        return too_long(len(trimmed))
    return None


def check_name(text: str) -> str:
    """The name as sent and stored (trimmed), or `KeyNameError` with the message to show."""
    problem = name_problem(text)
    if problem is not None:
        raise KeyNameError(problem)
    return text.strip()
