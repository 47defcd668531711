"""`oz-keys`: the panel (no subcommand) and the scripting subcommands, like Warp's `oz api-key`.

Textual and the panel are imported only when the panel opens; subcommands never load them.
Here: the entry and the dispatch, and opening the panel. The grammar is in `parser`, built from
the subcommands declared in `subcommands` (see `registry` for how to add one); their printing is
in `output`, and what all of them share in `base`.

Exit codes: 0 ok (also a declined prompt), 1 API or network error, 2 usage (bad flag, bad
config, refused without a terminal), 3 authentication, 4 not found, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from oz_tui.core.errors import OzError
from oz_tui.cli.base import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    ClosedStream,
    UsageError,
    fail,
    is_tty,
    is_writable,
)
from oz_tui.cli.completion import answer_completion_request, is_completion_request
from oz_tui.cli.parser import HELP_COMMAND, CommandLine, ParserExit, build, help_hint, help_topic
from oz_tui.cli.registry import Handler, Invocation, Subcommand
from oz_tui.cli.subcommands import SUBCOMMANDS
from oz_tui.config import ENV_API_KEY, Flags, Settings, SettingsError, flags_from, load_settings
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.backend import Backend
    from oz_tui.cli.output import Output
    from oz_tui.head_start import DeferredBackend, RemoteSession

API_KEY_FLAG_WARNING = (
    f"{PROG}: warning: --api-key leaves the key in your shell history and the process list; "
    f"prefer the {ENV_API_KEY} environment variable"
)


def build_parser() -> CommandLine:
    return build(SUBCOMMANDS)


def _flags(args: argparse.Namespace) -> Flags:
    return flags_from(args)


# -- entry points --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run and exit with the code."""
    _reserve_standard_fds()
    if is_completion_request():  # the shell asks for completions (`oz-keys completion`)
        answer_completion_request(build_parser().complete())
    code = run(argv)
    # All done: the interpreter's last collections at exit would walk every object of every
    # module (50 ms once httpx is loaded) only for the process to end. Frozen objects are
    # skipped; exit handlers and the files' flushing still run.
    gc.freeze()
    sys.exit(code)


def _reserve_standard_fds() -> None:
    """A closed fd 0, 1 or 2 gets /dev/null, so no file this process opens later (the key
    store, a socket) can land on it. `sys.stdout` stays None: `run` still knows it was closed."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                return
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)


def run(
    argv: Sequence[str] | None = None,
    *,
    env: dict[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command line; returns the exit code. Never raises for a user-facing failure."""
    # A stream closed before we started (`>&-`) is None in sys: a stand-in that refuses writes.
    stdin = stdin or sys.stdin or ClosedStream()
    stdout = stdout or sys.stdout or ClosedStream()
    stderr = stderr or sys.stderr or ClosedStream()
    env = dict(os.environ) if env is None else env
    try:
        return _run(argv, env, stdin, stdout, stderr)
    except _stop_errors():
        # (A stop signal that lands after the command's own handling, e.g. while closing.)
        fail(stderr, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): silence the flush at exit and stop.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_ERROR
    except RecursionError:
        return fail(stderr, "an input is nested too deeply to read", EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        return fail(stderr, f"internal error ({type(exc).__name__}); please report it", EXIT_ERROR)


def _stop_errors() -> tuple[type[BaseException], ...]:
    """What a stop (Ctrl-C, a signal) is raised as; looked up only when something is raised."""
    from oz_tui.cli.delivery import cancelled_error

    return (KeyboardInterrupt, cancelled_error())


def _run(
    argv: Sequence[str] | None, env: dict[str, str], stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    line = build_parser()
    try:
        with contextlib.redirect_stdout(stdout):  # where --help and --version print
            args, spec = line.parse(argv)
        _check_text_args(args)
    except UsageError as exc:
        return fail(stderr, str(exc), EXIT_USAGE)
    except ParserExit as exc:
        return exc.code
    help_asked = getattr(args, "command", None) == HELP_COMMAND
    if (help_asked or (spec is not None and spec.standalone is None)) and not is_writable(stdout):
        # Checked before anything is done: a key created now could not be shown.
        return fail(stderr, "standard output is closed; nothing was done", EXIT_ERROR)
    if help_asked:
        try:
            stdout.write(help_topic(line, args))
        except UsageError as exc:
            return fail(stderr, str(exc), EXIT_USAGE)
        return EXIT_OK

    flags = _flags(args)
    try:
        settings = load_settings(flags, env)
    except SettingsError as exc:
        return fail(stderr, exc.message, EXIT_USAGE)
    if flags.api_key is not None:
        stderr.write(API_KEY_FLAG_WARNING + "\n")
    _warn_plain_http(settings, stderr)

    if spec is None:
        return _open_panel(settings, stdin, stdout, stderr)
    if spec.standalone is not None:
        return spec.standalone(Invocation(args, settings, line.parser, stdin, stdout, stderr))
    return _run_handler(spec, args, settings, stdin, stdout, stderr)


def _run_handler(
    spec: Subcommand,
    args: argparse.Namespace,
    settings: Settings,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    assert spec.handler is not None
    # A command's own machinery: the panel starts without it.
    from oz_tui.backend import for_command
    from oz_tui.cli.jq_filter import JqError, JqFilter
    from oz_tui.cli.output import Output

    try:
        spec.check(args)
        if spec.holds_secret:
            from oz_tui.no_core_dumps import disable_core_dumps

            disable_core_dumps()
        # Compiled before any request: a bad filter must not cost a created key.
        jq = JqFilter(args.jq) if getattr(args, "jq", None) is not None else None
        output = Output(settings.output_format, stdout, stderr, jq=jq)
        backend = for_command(settings)
        running = _with_backend(backend, settings, output, spec.handler, args, stdin)
        if backend.is_local:
            # The store in process: nothing to wait for, so no event loop (nor its imports).
            from oz_tui.head_start import run_inline

            return run_inline(running)
        import asyncio

        return asyncio.run(running)
    except (UsageError, JqError) as exc:
        return fail(stderr, f"{exc} {help_hint(spec.name)}", EXIT_USAGE)
    except OzError as exc:  # LocalStoreError is one
        return fail(stderr, exc.message, exc.exit_code)
    finally:
        try:
            stdout.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError):
            pass


#: Arguments that are paths: any bytes are fine there (POSIX paths need not be UTF-8).
_PATH_ARGS = frozenset({"data_dir", "tls_cert", "tls_key"})
_ARG_LABELS = {"name": "the key name", "targets": "KEY", "topic": "COMMAND"}


def _check_text_args(args: argparse.Namespace) -> None:
    """Text arguments must be text: bytes that are not UTF-8 arrive as lone surrogates."""
    for attr, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if attr in _PATH_ARGS:
            continue
        for text in values:
            if isinstance(text, str) and any("\ud800" <= char <= "\udfff" for char in text):
                label = _ARG_LABELS.get(attr, "--" + attr.replace("_", "-"))
                raise UsageError(f"{label} is not valid UTF-8 text")


def _warn_plain_http(settings: Settings, stderr: TextIO) -> None:
    """A key sent over plain http to another machine can be read on the way."""
    if settings.mode != "remote" or not settings.api_key or not settings.server_root_url:
        return
    from urllib.parse import urlsplit

    from oz_tui.core.addresses import is_loopback_host

    parts = urlsplit(settings.server_root_url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and not is_loopback_host(host):
        stderr.write(
            f"{PROG}: warning: sending the API key unencrypted (http) to {safe_text(host)}\n"
        )


# -- a command's run ---------------------------------------------------------------------------


async def _with_backend(
    backend: Backend,
    settings: Settings,
    output: Output,
    handler: Handler,
    args: argparse.Namespace,
    stdin: TextIO,
) -> int:
    """Run `handler` on `backend`, which it closes."""
    from oz_tui.cli.delivery import SignalsCancel, cancelled_error

    signals = SignalsCancel()
    try:
        if settings.mode == "remote" and not settings.api_key:
            # Like Warp's CLI, no request without a credential: say what is missing, not "refused".
            from oz_tui.core.errors import NO_API_KEY, WHERE_TO_CREATE, AuthenticationError

            raise AuthenticationError(
                f"{NO_API_KEY}: set {ENV_API_KEY} to an API key ({WHERE_TO_CREATE}), or pass "
                "--local for the local key service"
            )
        with signals:
            if settings.implicit_local and settings.output_format == "pretty":
                output.note(
                    f"{PROG}: no {ENV_API_KEY} or server set; using the "
                    f"{_local_label(backend)} (--local to silence this)"
                )
            try:
                return await handler(backend, settings, output, args, stdin)
            except cancelled_error():
                if signals.received is None:
                    raise
                raise signals.interrupted("") from None
    finally:
        await backend.aclose()


def _local_label(backend: Backend) -> str:
    location = backend.store.location if backend.store is not None else "?"
    return f"local key service at {safe_text(location)}"


# -- the panel -----------------------------------------------------------------------------------


def _open_panel(settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if not (is_tty(stdin) and is_tty(stdout)):
        return fail(
            stderr,
            "the panel needs a terminal (stdin and stdout); for scripts use a subcommand: "
            + ", ".join(spec.name for spec in SUBCOMMANDS)
            + f" {help_hint()}",
            EXIT_USAGE,
        )
    from oz_tui.state import PanelState, default_state_path

    state = PanelState(default_state_path())
    # Before any connection: what the state file says is obeyed, like the config.
    refused = state.check()
    if refused:
        return fail(stderr, refused, EXIT_USAGE)
    from oz_tui.no_core_dumps import disable_core_dumps
    from oz_tui.backend import for_panel

    disable_core_dumps()  # the panel shows new keys: before it asks for any
    backend = for_panel(settings)
    try:
        from oz_tui.core.models import system_clock
        from oz_tui.local import default_data_dir
        from oz_tui.tui.app import OzKeysApp  # Textual loads here, and only here

        # The config's theme wins; else the one last picked in the command palette.
        data_dir = settings.data_dir or default_data_dir()
        app = OzKeysApp(
            backend,
            clock=system_clock,
            default_expiration=settings.default_expiration,
            default_key_type=settings.default_key_type,
            theme=settings.theme or state.theme(),
            clipboard_clear_seconds=settings.clipboard_clear_seconds,
            credential_source=settings.api_key_source,
            explain_local_service=(
                settings.implicit_local and not state.local_notice_dismissed(data_dir)
            ),
            keymap=settings.keymap,
            remember_theme=state.remember_theme,
            remember_notice_dismissed=lambda: state.remember_local_notice_dismissed(data_dir),
        )
        app.run()
        return app.return_code or 0
    finally:
        _close_quietly(backend)


def _close_quietly(backend: Backend | DeferredBackend | RemoteSession) -> None:
    import asyncio

    try:
        asyncio.run(backend.aclose())
    except Exception:  # noqa: BLE001 - already closed by the app, or its loop is gone
        pass
