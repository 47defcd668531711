"""`--jq FILTER`: a jq program applied to a subcommand's JSON output, with jq's own semantics.

The `jq` package (bindings to the jq library) is imported only when the flag is used. Each result
is printed on its own line: a string without quotes (as `jq -r`, through `safe_text`, so a
server's name cannot put escapes on the terminal), anything else as compact JSON.
"""

from __future__ import annotations

from typing import Any

from oz_tui.core.sanitize import safe_text


class JqError(Exception):
    """A filter that cannot be compiled or fails on the data. One line; exit 2."""


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "invalid filter"
    return line.removeprefix("jq: error: ").removeprefix("jq: ").strip()


class JqFilter:
    def __init__(self, program: str) -> None:
        import jq  # only here: most runs never need it

        self.program = program
        try:
            self._compiled = jq.compile(program)
        except ValueError as exc:
            raise JqError(f"--jq: {_first_line(str(exc))}") from None

    def apply(self, document: Any) -> list[Any]:
        try:
            return list(self._compiled.input_value(document).all())
        except ValueError as exc:
            raise JqError(f"--jq: {_first_line(str(exc))}") from None

    @staticmethod
    def render(value: Any) -> str:
        if isinstance(value, str):
            return safe_text(value)
        import json  # only with --jq

        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
