"""`oz-keys completion bash|zsh|fish`: the shell's tab completion, from the argument parser.

argcomplete writes the script and answers the shell's requests; it is imported only for those two
things, never when oz-keys runs a command (start-up time is measured). The script makes the shell
run `oz-keys` with `_ARGCOMPLETE` set; `answer_completion_request` then walks the same parser the
command line uses, so subcommands, options and their fixed choices can't drift from it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from typing import Any

from oz_tui.cli.base import EXIT_OK, PROG
from oz_tui.cli.registry import Invocation, Subcommand

SHELLS = ("bash", "zsh", "fish")
#: The variable argcomplete's shell code sets when it asks for completions.
REQUEST_VARIABLE = "_ARGCOMPLETE"
#: Offered for `--expires-in` (any human duration is accepted; these are Warp's dialog's choices
#: and a few common ones).
SUGGESTED_DURATIONS = ("90d", "30d", "1d", "1w", "12h", "1y")


def suggest(values: Iterable[str]) -> Any:
    """An argcomplete completer (any callable taking keyword arguments) offering `values`.

    Set as `action.completer`; plain Python, so declaring it does not import argcomplete."""
    choices = tuple(values)

    def completer(**_kwargs: object) -> tuple[str, ...]:
        return choices

    return completer


def is_completion_request() -> bool:
    return REQUEST_VARIABLE in os.environ


def answer_completion_request(parser: argparse.ArgumentParser) -> None:
    """Print the completions the shell asked for and exit the process (argcomplete's way)."""
    import argcomplete

    argcomplete.autocomplete(parser, always_complete_options=False)


def shell_script(shell: str) -> str:
    import argcomplete

    return argcomplete.shellcode([PROG], shell=shell)


def run_completion(invocation: Invocation) -> int:
    invocation.stdout.write(shell_script(invocation.args.shell))
    return EXIT_OK


def _completion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")


COMPLETION = Subcommand(
    name="completion",
    summary="Print the shell code that completes oz-keys' commands and options.",
    arguments=_completion_arguments,
    standalone=run_completion,
    options=(),
    notes=(
        "The script runs oz-keys to complete each word, so the completions always match this\n"
        "version. Load it from your shell's start-up file (see the README for each shell)."
    ),
    examples=(
        (f"eval \"$({PROG} completion bash)\"", "bash: in ~/.bashrc"),
        (f"eval \"$({PROG} completion zsh)\"", "zsh: in ~/.zshrc, after compinit"),
        (f"{PROG} completion fish > ~/.config/fish/completions/{PROG}.fish", "fish"),
    ),
)
