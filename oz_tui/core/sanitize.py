"""Make untrusted text (key names, server messages) safe to put on a terminal.

Everything that can steer a terminal or hide what a string says is replaced by a visible stand-in:
C0 controls by their Unicode control pictures (ESC shows as ␛), DEL as ␡, C1 controls, bidi
overrides, zero-width and other invisible format characters (and the few invisible letters and
marks, such as the Hangul fillers) as `\\u202e`-style escapes. Runs of combining marks are capped
so a name cannot smear over its neighbours. Markup is *not* touched here: the TUI shows text
through non-markup APIs instead. No Textual imports.

Properties (tests/cross_cutting/test_hostile_text.py checks them with hypothesis): the result holds no C0, DEL,
C1, format (bidi, zero-width), surrogate, private-use, unassigned or line/paragraph-separator
character; at most MAX_COMBINING marks follow any other character; printable text without marks
comes back unchanged; and `safe_text(safe_text(s)) == safe_text(s)`.
"""

from __future__ import annotations

import unicodedata

#: Marks (general category Mn, Mc, Me: accents, vowel signs, enclosing circles, variation
#: selectors) kept after one base character; more are dropped ("Zalgo" text). Three covers real
#: writing (Vietnamese, Thai, Devanagari, emoji keycaps).
MAX_COMBINING = 3

#: Invisible characters outside the format category: they would let a name look blank or like
#: another name, so they are escaped like format characters. (Hangul fillers are letters; the
#: grapheme joiner and the Khmer inherent vowels are marks.)
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")

#: What `visible()` shows for a character `safe_text` would escape with several characters.
REPLACEMENT = "\ufffd"


def _stand_in(char: str) -> str | None:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ␀ … ␟, ␛ for ESC, ␊ for LF
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code <= 0x9F:
        return f"\\x{code:02x}"
    category = unicodedata.category(char)
    if category in ("Cf", "Cs", "Co", "Cn") or char in "\u2028\u2029" or char in _INVISIBLE:
        # Format (bidi overrides, zero-width), surrogates, private use, unassigned, separators.
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return None


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def safe_text(text: str, *, max_length: int | None = None) -> str:
    """`text` with every control, format and invisible character made visible and inert.

    `max_length` cuts the result (in characters) and marks the cut with an ellipsis.
    """
    out: list[str] = []
    marks = 0
    for char in text:
        stand_in = _stand_in(char)
        if stand_in is not None:
            out.append(stand_in)
            marks = 0
            continue
        if _is_mark(char):
            marks += 1
            if marks > MAX_COMBINING:
                continue
        else:
            marks = 0
        out.append(char)
    result = "".join(out)
    if max_length is not None and len(result) > max_length:
        result = result[: max(max_length - 1, 0)] + "…"
    return result


def visible(text: str) -> str:
    """`text` made inert character for character, for text a person is editing.

    Unlike `safe_text`, every character maps to exactly one (so a cursor position in the text is
    the same position in what is shown): controls to their control pictures, the characters
    `safe_text` escapes to U+FFFD (�), and marks beyond MAX_COMBINING to U+FFFD as well.
    """
    out: list[str] = []
    marks = 0
    for char in text:
        stand_in = _stand_in(char)
        if stand_in is not None:
            out.append(stand_in if len(stand_in) == 1 else REPLACEMENT)
            marks = 0
            continue
        if _is_mark(char):
            marks += 1
            out.append(char if marks <= MAX_COMBINING else REPLACEMENT)
            continue
        marks = 0
        out.append(char)
    return "".join(out)
