"""Every subcommand, in the order `oz-keys --help` lists them (see `registry` to add one)."""

from __future__ import annotations

from oz_tui.cli.audit import AUDIT
from oz_tui.cli.commands import CREATE, EXPIRE, LIST, WHOAMI
from oz_tui.cli.completion import COMPLETION
from oz_tui.cli.registry import Subcommand
from oz_tui.cli.rotate import ROTATE
from oz_tui.cli.serve import SERVE

SUBCOMMANDS: tuple[Subcommand, ...] = (
    LIST, CREATE, EXPIRE, ROTATE, AUDIT, WHOAMI, SERVE, COMPLETION,
)
