"""The command line's grammar, built from the `Subcommand` registry (see `registry`).

Every mistake becomes a `UsageError`: one line that names the mistake, suggests the nearest
subcommand, option or choice when there is one, and points at the right `--help`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

from oz_tui import __version__
from oz_tui.cli.base import PROG, UsageError
from oz_tui.cli.completion import suggest
from oz_tui.cli.registry import OUTPUT_OPTIONS, Subcommand
from oz_tui.config import ENV_API_KEY, ENV_SERVER_ROOT
from oz_tui.settings.table import FLAG_SETTINGS, SETTINGS

HELP_COMMAND = "help"

#: The variables `--help` lists, from the settings table.
ENVIRONMENT = "\n".join(
    f"  {setting.env:<25}{setting.env_help}"
    for setting in SETTINGS
    if setting.env and setting.env_help
)

EPILOG = f"""\
With no subcommand, oz-keys opens the full-screen panel. '{PROG} help COMMAND' (or
'{PROG} COMMAND --help') shows a subcommand's options and examples.

where the keys come from:
  --server-root-url / {ENV_SERVER_ROOT} / server_root_url in the config file, with the
  credential from {ENV_API_KEY} (recommended) or --api-key; a credential without a server
  means https://app.warp.dev. With neither, the local key service in the user data dir
  (--data-dir to pick another, --local to force it, --demo for in-memory demo data).

environment:
{ENVIRONMENT}

exit codes:
  0 ok (also a declined prompt), 1 API or network error, 2 usage or config error,
  3 authentication failed, 4 not found, 130 interrupted
"""


class ParserExit(Exception):
    """--help or --version was printed; exit with `code`."""

    def __init__(self, code: int) -> None:
        self.code = code


def help_hint(command: str | None = None) -> str:
    """`(see 'oz-keys list --help')`: where a usage error points."""
    target = f"{PROG} {command}" if command else PROG
    return f"(see '{target} --help')"


def closest(word: str, candidates: Sequence[str]) -> str | None:
    import difflib  # only for a mistyped word

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def nearest(value: str, choices: Sequence[str]) -> str:
    """`; did you mean 'name'?`, or ` (choose from a, b)` when no choice is near: what follows
    a wrong value (argparse's own message always lists every choice)."""
    guess = closest(value, choices)
    if guess:
        return f"; did you mean '{guess}'?"
    return f" (choose from {', '.join(choices)})"


def _with_choice_check(flags: Sequence[str], options: dict[str, Any]) -> dict[str, Any]:
    """`options` for `add_argument`, with a `type=` that checks `choices` and says the nearest.

    argparse converts a value with `type` before it checks `choices`, and an `ArgumentError`
    from the conversion is reported as is: so a wrong value gets our message, and `choices`
    stays on the argument for --help and argcomplete."""
    choices = options.get("choices")
    if choices is None or "type" in options:
        return options
    allowed = [str(choice) for choice in choices]
    positional = not any(flag.startswith("-") for flag in flags)
    name = (options.get("metavar") or flags[0]) if positional else "/".join(flags)

    def check(value: str) -> str:
        if value not in allowed:
            message = f"{name}: invalid choice '{value}'{nearest(value, allowed)}"
            raise argparse.ArgumentError(None, message)
        return value

    return {**options, "type": check}


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors on one line with a hint, and raises instead of exiting."""

    #: The subcommand this parser is for (None: the top level).
    command: str | None = None
    #: Adds this subcommand's arguments, the first time they are needed: building every
    #: subcommand's parser costs more than most commands take to run.
    pending_arguments: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: Every option string this parser takes (-h, --help, ...), as added.
        self.flags: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *flags: Any, **options: Any) -> argparse.Action:
        return self._checked(super().add_argument, flags, options)

    def _checked(
        self, add: Callable[..., argparse.Action], flags: Sequence[str], options: dict[str, Any]
    ) -> argparse.Action:
        """`add(*flags, **options)`, the choices checked, the flags remembered."""
        self.flags += [flag for flag in flags if flag.startswith("-")]
        return add(*flags, **_with_choice_check(flags, options))

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return self._routed(super().add_argument_group(*args, **kwargs))

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return self._routed(super().add_mutually_exclusive_group(**kwargs))

    def _routed(self, group: Any) -> Any:
        """`group`, its arguments (and its own groups') added through this parser's
        `add_argument`: a group's adder is its own, and would skip the flags and the check."""
        add, nested = group.add_argument, group.add_mutually_exclusive_group
        group.add_argument = lambda *flags, **options: self._checked(add, flags, options)
        group.add_mutually_exclusive_group = lambda **kwargs: self._routed(nested(**kwargs))
        return group

    def filled(self) -> _Parser:
        """This parser with all its arguments."""
        pending, self.pending_arguments = self.pending_arguments, None
        if pending is not None:
            pending()
        return self

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        # argparse hands the words after a subcommand's name to its parser this way.
        return super(_Parser, self.filled()).parse_known_args(args, namespace)

    def format_usage(self) -> str:
        return super(_Parser, self.filled()).format_usage()

    def format_help(self) -> str:
        return super(_Parser, self.filled()).format_help()

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} {help_hint(self.command)}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            with contextlib.suppress(AttributeError, OSError):  # no stderr: the code still says
                sys.stderr.write(message)
        raise ParserExit(status)


def version_text() -> str:
    """`oz-keys 0.1.0 (Python 3.11.7, Textual 8.2.8)`. Textual's version comes from its package
    metadata: importing Textual would cost the start-up of every subcommand."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        textual = version("textual")
    except PackageNotFoundError:
        textual = "not installed"
    return f"{PROG} {__version__} (Python {platform.python_version()}, Textual {textual})"


class _VersionAction(argparse.Action):
    """argparse's version action, with the text computed only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        sys.stdout.write(version_text() + "\n")
        raise ParserExit(0)


# -- global options ----------------------------------------------------------------------------


class _GlobalOption(NamedTuple):
    dest: str
    flags: tuple[str, ...]
    options: dict[str, Any]


def _global_options() -> tuple[_GlobalOption, ...]:
    # The settings' flags come from the settings table; --jq is an output option, not a setting.
    return (
        *(_GlobalOption(s.name, s.flags, dict(s.flag_options, help=s.help)) for s in FLAG_SETTINGS),
        _GlobalOption("jq", ("--jq",), dict(
            metavar="FILTER",
            help="a jq program applied to the JSON output; each result on its own line, "
            "strings without quotes (as jq -r)",
        )),
    )


GLOBAL_OPTIONS = {option.dest: option for option in _global_options()}


def _add_global_options(parser: argparse.ArgumentParser, dests: Sequence[str]) -> None:
    # Every default is SUPPRESS (set on each parser), so a flag given before the subcommand is
    # not reset by the subparser's default (argparse's known pitfall), and "given" is
    # `hasattr(args, dest)`.
    group = parser.add_argument_group("global options")
    for dest in dests:
        option = GLOBAL_OPTIONS[dest]
        group.add_argument(*option.flags, dest=dest, **option.options)


def _takes_value(dest: str) -> bool:
    return GLOBAL_OPTIONS[dest].options.get("action") is None


def option_flag(dest: str) -> str:
    return GLOBAL_OPTIONS[dest].flags[-1]


# -- the parser --------------------------------------------------------------------------------


def _epilog(spec: Subcommand) -> str | None:
    parts = []
    if spec.notes:
        parts.append(spec.notes.strip())
    if spec.examples:
        lines = ["examples:"]
        for command_line, what in spec.examples:
            lines.append(f"  {command_line}")
            lines.append(f"      {what}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) or None


@dataclass
class CommandLine:
    """The built parser and, per subcommand name (aliases included), its spec and parser."""

    parser: _Parser
    specs: dict[str, Subcommand]
    parsers: dict[str, _Parser]

    def parser_for(self, command: str | None) -> _Parser:
        if command is None:
            return self.parser
        return self.parsers[command].filled()

    def complete(self) -> argparse.ArgumentParser:
        """The top-level parser with every subcommand's arguments (completion walks them all)."""
        for name in self.parsers:
            self.parser_for(name)
        return self.parser

    def parse(self, argv: Sequence[str] | None) -> tuple[argparse.Namespace, Subcommand | None]:
        """Parse, or raise `UsageError` (one line with a hint) or `ParserExit` (help shown)."""
        argv = sys.argv[1:] if argv is None else list(argv)
        self._check_command(argv)
        args, extras = self.parser.parse_known_args(argv)
        command = getattr(args, "command", None)
        spec = self.specs.get(command) if command else None
        name = spec.name if spec else None
        if extras:
            raise UsageError(self._unknown(extras, spec))
        if spec is not None:
            for dest in GLOBAL_OPTIONS:
                if dest not in spec.options and hasattr(args, dest):
                    raise UsageError(
                        f"{option_flag(dest)} does not apply to '{name}' {help_hint(name)}"
                    )
        elif command is None:
            for dest in OUTPUT_OPTIONS:
                if hasattr(args, dest):
                    raise UsageError(
                        f"{option_flag(dest)} applies to subcommands, not the panel "
                        f"{help_hint()}"
                    )
        return args, spec

    def _check_command(self, argv: Sequence[str]) -> None:
        """`UsageError` naming the nearest subcommand when the word argparse will read as the
        subcommand is none (argparse's own message lists every one). The word is the first
        that is not a top-level option or its value ("--" included, as argparse reads it);
        after --help or --version there is none (argparse prints the help first)."""
        takes_value = {flag for dest, option in GLOBAL_OPTIONS.items() if _takes_value(dest)
                       for flag in option.flags}
        words = iter(argv)
        for word in words:
            if word in ("-h", "--help", "--version"):
                return
            if word.startswith("-") and word not in ("-", "--"):
                if word in takes_value:
                    next(words, None)
                continue
            break
        else:
            return
        commands = list(self.parsers)
        if word in commands:
            return
        raise UsageError(f"unknown command '{word}'{nearest(word, commands)} {help_hint()}")

    def _unknown(self, extras: list[str], spec: Subcommand | None) -> str:
        name = spec.name if spec else None
        word = next((item for item in extras if item.startswith("-")), extras[0])
        if not word.startswith("-"):
            return f"unexpected argument '{word}' {help_hint(name)}"
        flag = word.split("=", 1)[0]
        known = self.parser_for(name).flags
        if spec is not None and flag in self.parser.flags:
            return f"{flag} does not apply to '{name}' {help_hint(name)}"
        guess = closest(flag, [s for s in known if s.startswith("--")] if flag.startswith("--")
                        else known)
        suggestion = f"; did you mean '{guess}'?" if guess else ""
        return f"unknown option '{flag}'{suggestion} {help_hint(name)}"

    def help_text(self, command: str | None) -> str:
        return self.parser_for(command).format_help()


def build(subcommands: Sequence[Subcommand]) -> CommandLine:
    parser = _Parser(
        prog=PROG,
        description="Manage Warp's Oz Cloud API keys: a full-screen panel and scripting commands.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="show oz-keys' version and the Python and Textual it runs on")
    _add_global_options(parser, list(GLOBAL_OPTIONS))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    specs: dict[str, Subcommand] = {}
    parsers: dict[str, _Parser] = {}

    def add(name: str, summary: str, epilog: str | None, aliases: Sequence[str],
            arguments: Callable[[argparse.ArgumentParser], None],
            options: Sequence[str]) -> _Parser:
        child: _Parser = sub.add_parser(  # type: ignore[assignment] # parser_class=_Parser
            name,
            help=summary,
            description=summary,
            epilog=epilog,
            aliases=list(aliases),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            argument_default=argparse.SUPPRESS,
            allow_abbrev=False,
        )
        child.command = name

        def add_arguments() -> None:
            arguments(child)
            _add_global_options(child, options)

        child.pending_arguments = add_arguments
        return child

    for spec in subcommands:
        child = add(spec.name, spec.summary, _epilog(spec), spec.aliases, spec.arguments,
                    spec.options)
        for alias in spec.names:
            specs[alias] = spec
            parsers[alias] = child

    def help_arguments(child: argparse.ArgumentParser) -> None:
        topic = child.add_argument("topic", metavar="COMMAND", nargs="?",
                                   help="the subcommand to explain")
        topic.completer = suggest(specs)  # type: ignore[attr-defined]

    parsers[HELP_COMMAND] = add(
        HELP_COMMAND, "Show the help of oz-keys or of one subcommand.",
        f"examples:\n  {PROG} help create\n      create's options and examples",
        (), help_arguments, (),
    )
    return CommandLine(parser, specs, parsers)


def help_topic(line: CommandLine, args: argparse.Namespace) -> str:
    """The text `oz-keys help [COMMAND]` prints, or `UsageError` for an unknown COMMAND."""
    topic = getattr(args, "topic", None)
    if topic is None:
        return line.help_text(None)
    spec = line.specs.get(topic)
    if spec is None:
        guess = closest(topic, list(line.specs))
        suggestion = f"; did you mean '{guess}'?" if guess else ""
        raise UsageError(f"unknown command '{topic}'{suggestion} {help_hint()}")
    return line.help_text(spec.name)
