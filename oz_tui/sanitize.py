"""Make untrusted text (key names, server messages) safe to put on a terminal.

Everything that can steer a terminal or hide what a string says is replaced by a visible stand-in:
C0 controls by their Unicode control pictures (ESC shows as ␛), DEL as ␡, C1 controls, bidi
overrides, zero-width and other invisible format characters as `\\u202e`-style escapes. Runs of
combining marks are capped so a name cannot smear over its neighbours. Markup is *not* touched
here: the TUI shows text through non-markup APIs instead. No Textual imports.
"""

from __future__ import annotations

import unicodedata

#: Combining marks kept after one base character; more are dropped ("Zalgo" text).
MAX_COMBINING = 2


def _stand_in(char: str) -> str | None:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ␀ … ␟, ␛ for ESC, ␊ for LF
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code <= 0x9F:
        return f"\\x{code:02x}"
    category = unicodedata.category(char)
    if category in ("Cf", "Cs", "Co", "Cn") or char in "\u2028\u2029":
        # Format (bidi overrides, zero-width), surrogates, private use, unassigned, separators.
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return None


def safe_text(text: str, *, max_length: int | None = None) -> str:
    """`text` with every control, format and invisible character made visible and inert.

    `max_length` cuts the result (in characters) and marks the cut with an ellipsis.
    """
    out: list[str] = []
    combining = 0
    for char in text:
        stand_in = _stand_in(char)
        if stand_in is not None:
            out.append(stand_in)
            combining = 0
            continue
        if unicodedata.combining(char):
            combining += 1
            if combining > MAX_COMBINING:
                continue
        else:
            combining = 0
        out.append(char)
    result = "".join(out)
    if max_length is not None and len(result) > max_length:
        result = result[: max(max_length - 1, 0)] + "…"
    return result
