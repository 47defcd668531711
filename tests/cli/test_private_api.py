"""Production code uses no private name of argparse (the issue's "no private APIs of our
dependencies"): an override of `_check_value` or a read of `_actions` works until a Python
release renames them. The names are argparse's own, read from the running Python, so a new
private name is covered without editing this list."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "oz_tui"


def _argparse_private_names() -> set[str]:
    names = {n for n in vars(argparse) if n.startswith("_") and not n.startswith("__")}
    names |= {n for n in dir(argparse.ArgumentParser) if n.startswith("_") and n[1] != "_"}
    names |= {n for n in vars(argparse.ArgumentParser()) if n.startswith("_")}
    names.discard("_")  # gettext's alias: `._` would only match noise
    return names


_PRIVATE = re.compile(
    r"(?:\.|\bdef\s+)(" + "|".join(sorted(map(re.escape, _argparse_private_names()))) + r")\b"
)


def private_argparse_uses(text: str) -> list[str]:
    return [match.group(1) for match in _PRIVATE.finditer(text)]


def test_the_check_sees_what_the_old_parser_did() -> None:
    """What parser.py once held is caught, each kind of use (override, read, class)."""
    old = (
        "    def _check_value(self, action, value):\n"
        "        if isinstance(action, argparse._SubParsersAction):\n"
        "        known = [s for action in parser._actions for s in action.option_strings]\n"
        "        if flag in self.parser._option_string_actions:\n"
        "            self._print_message(message, sys.stderr)\n"
    )
    assert private_argparse_uses(old) == [
        "_check_value", "_SubParsersAction", "_actions", "_option_string_actions",
        "_print_message",
    ]
    assert private_argparse_uses("parser.add_argument('--x', choices=('a',))") == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if "argparse" in p.read_text(encoding="utf-8")),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_private_argparse_name_in_the_package(path: Path) -> None:
    assert private_argparse_uses(path.read_text(encoding="utf-8")) == []
