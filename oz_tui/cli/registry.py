"""How a subcommand is declared: one `Subcommand` value holds everything the command line needs.

To add a subcommand:
  1. write its handler (`async def cmd_x(backend, settings, output, args, stdin) -> int`, or a
     `standalone(invocation) -> int` for one that needs no key service, like `serve`);
  2. describe it in a `Subcommand` next to the handler: its arguments (a function that adds them
     to its parser), which global options apply (`options`), two or three `examples`, and any
     argument `check` argparse can't do;
  3. list it in `SUBCOMMANDS` (oz_tui/cli/subcommands.py).
The parser, `oz-keys help X`, `X --help`, did-you-mean suggestions and the "does not apply"
check for global options all come from that value.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TextIO

if TYPE_CHECKING:
    from oz_tui.backend import Backend
    from oz_tui.cli.output import Output
    from oz_tui.config import Settings

#: Runs on a key service built from the settings; prints through `Output`; returns the exit code.
Handler = Callable[
    ["Backend", "Settings", "Output", argparse.Namespace, TextIO], Awaitable[int]
]


class Invocation(NamedTuple):
    """What a standalone subcommand (no key service) gets."""

    args: argparse.Namespace
    settings: Settings
    parser: argparse.ArgumentParser
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO


Standalone = Callable[[Invocation], int]

# The global options, by their argparse `dest`. A subcommand lists those that apply to it; its
# --help shows only those, and one given before the subcommand that does not apply is refused.
#: Where the keys come from.
SOURCE_OPTIONS: tuple[str, ...] = (
    "api_key",
    "server_root_url",
    "local",
    "demo",
    "data_dir",
    "request_timeout",
    "command_timeout",
)
#: How results are printed.
OUTPUT_OPTIONS: tuple[str, ...] = ("output_format", "jq")
ALL_OPTIONS = SOURCE_OPTIONS + OUTPUT_OPTIONS


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def _no_check(args: argparse.Namespace) -> None:
    return None


@dataclass(frozen=True)
class Subcommand:
    name: str
    #: One line: the command list in `oz-keys --help` and the top of its own --help.
    summary: str
    #: Adds the subcommand's own arguments to its parser.
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    #: Exactly one of `handler` (runs on a key service) and `standalone` is set.
    handler: Handler | None = None
    standalone: Standalone | None = None
    #: The global options that apply (dests from SOURCE_OPTIONS / OUTPUT_OPTIONS).
    options: tuple[str, ...] = ALL_OPTIONS
    #: (command line, what it does); shown under "examples:" in its --help.
    examples: tuple[tuple[str, str], ...] = ()
    #: Paragraphs shown in its --help before the examples.
    notes: str = ""
    aliases: tuple[str, ...] = ()
    #: Checks argparse can't make; raises `UsageError`. Runs before any request.
    check: Callable[[argparse.Namespace], None] = _no_check
    #: It will hold a new raw key: core dumps are disabled before its first request.
    holds_secret: bool = False

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.standalone is None):
            raise ValueError(f"subcommand {self.name!r} needs exactly one of handler, standalone")
        unknown = set(self.options) - set(ALL_OPTIONS)
        if unknown:
            raise ValueError(f"subcommand {self.name!r}: unknown global options {unknown}")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)
