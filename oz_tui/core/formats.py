"""The formats of the server values oz-keys prints raw, copies or hands to another program.

A raw key is printed unchanged on stdout (it must stay usable), copied to the clipboard and given
to a `--jq` filter; a uid is copied by the panel's *Copy uid*, put in commands the CLI suggests
(`oz-keys expire UID --force`) and sent back to the server; a key's suffix is what a listing shows
of the secret and is compared with the credential. None of them can pass through `safe_text`
without ceasing to be itself, so each is checked against its format where the server's answer is
read (oz_tui/api/answers.py), and a value outside it is refused, never shown. Pure: no I/O.

- A raw key: `wk-`, then 1 to MAX_RAW_KEY_LENGTH - 3 visible ASCII characters (`!` to `~`, no
  space). Warp's keys are `wk-<digits>.<hex, dots, dashes>` (Warp's own redaction pattern);
  the local service's are `wk-1.` and 64 hex digits, 69 characters. 256 leaves Warp room to
  lengthen them nearly fourfold, and still keeps a hostile answer from writing pages.
- A uid: 1 to MAX_UID_LENGTH ASCII letters, digits, `-`, `_`, `.` and `:`, starting with a letter
  or a digit (never `-`: pasted after a command it would be read as an option). Warp's uids are
  22 letters and digits, the local service's are UUIDs (36), a service account's may carry a
  `serviceAccount:` prefix. Nothing a shell or a terminal would act on.
- A key suffix: 1 to MAX_SUFFIX_LENGTH visible ASCII characters (Warp shows the last four
  characters of the key, which are visible ASCII by the key's own format).
"""

from __future__ import annotations

import re

RAW_KEY_PREFIX = "wk-"
MAX_RAW_KEY_LENGTH = 256
MAX_UID_LENGTH = 128
MAX_SUFFIX_LENGTH = 16

_VISIBLE = "!-~"  # as a regex class range: 0x21 to 0x7E
_RAW_KEY = re.compile(rf"wk-[{_VISIBLE}]{{1,{MAX_RAW_KEY_LENGTH - len(RAW_KEY_PREFIX)}}}")
_UID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_UID_LENGTH - 1}}}")
_SUFFIX = re.compile(rf"[{_VISIBLE}]{{1,{MAX_SUFFIX_LENGTH}}}")

#: Each format in a few words, for the refusal and the docs.
RAW_KEY_FORMAT = f"`{RAW_KEY_PREFIX}` and visible ASCII, at most {MAX_RAW_KEY_LENGTH} characters"
UID_FORMAT = f"ASCII letters, digits, '-', '_', '.' and ':', at most {MAX_UID_LENGTH} characters"
SUFFIX_FORMAT = f"visible ASCII, at most {MAX_SUFFIX_LENGTH} characters"


def is_raw_key(value: str) -> bool:
    return _RAW_KEY.fullmatch(value) is not None


def is_uid(value: str) -> bool:
    return _UID.fullmatch(value) is not None


def is_key_suffix(value: str) -> bool:
    return _SUFFIX.fullmatch(value) is not None


def refusal(field: str, format_: str) -> str:
    """The one line saying a server's field is outside its format. Never holds the value: it
    may be an escape sequence meant for the terminal."""
    return f"The server's field {field!r} is not in its format ({format_}); it was not shown."
