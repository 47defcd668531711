"""`oz-keys`: the panel (no subcommand) and the scripting subcommands, like Warp's `oz api-key`.

Textual and the panel are imported only when the panel opens; subcommands never load them.
Here: the parser, the settings and the dispatch, `serve`, and opening the panel. The subcommands
are in `commands`, their printing in `output`, and what all of them share in `base`.

Exit codes: 0 ok, 1 API or network error, 2 usage (bad flag, bad config, refused without a
terminal), 3 authentication, 4 not found, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from oz_tui import __version__
from oz_tui.api.errors import OzError
from oz_tui.cli.base import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    is_tty,
)
from oz_tui.cli.commands import COMMANDS, EXPIRES_IN, SORT_FIELDS, Handler, check_args
from oz_tui.cli.output import Output
from oz_tui.config import (
    ENV_API_KEY,
    ENV_CLIENT_ID,
    ENV_CONFIG,
    ENV_OUTPUT_FORMAT,
    ENV_REQUEST_TIMEOUT,
    ENV_SERVER_ROOT,
    ENV_USER_AGENT,
    OUTPUT_FORMATS,
    Flags,
    Settings,
    SettingsError,
    load_settings,
)
from oz_tui.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.backend import Backend, DeferredBackend

SUBCOMMANDS = ("list", "create", "expire", "whoami", "serve")

API_KEY_FLAG_WARNING = (
    f"{PROG}: warning: --api-key leaves the key in your shell history and the process list; "
    f"prefer the {ENV_API_KEY} environment variable"
)

EPILOG = f"""\
With no subcommand, oz-keys opens the full-screen panel.

where the keys come from:
  --server-root-url / {ENV_SERVER_ROOT} / server_root_url in the config file, with the
  credential from {ENV_API_KEY} (recommended) or --api-key; a credential without a server
  means https://app.warp.dev. With neither, the local key service in the user data dir
  (--data-dir to pick another, --local to force it, --demo for in-memory demo data).

environment:
  {ENV_API_KEY:<25}API key (wk-...) sent as a Bearer token
  {ENV_SERVER_ROOT:<25}server root URL
  {ENV_OUTPUT_FORMAT:<25}pretty | json | ndjson | text
  {ENV_CONFIG:<25}config file to read instead of the default config.toml
  {ENV_REQUEST_TIMEOUT:<25}seconds one request attempt may take (at most 600; default 60)
  {ENV_CLIENT_ID:<25}X-Warp-Client-ID sent with every request (default warp-cli)
  {ENV_USER_AGENT:<25}User-Agent sent with every request (default: none)

exit codes:
  0 ok, 1 API or network error, 2 usage or config error, 3 authentication failed,
  4 not found, 130 interrupted
"""


class _ParserExit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors on one line, and raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        hint = f"see '{self.prog} --help'"
        raise UsageError(f"{message} ({hint})")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _ParserExit(status)


# -- the command line --------------------------------------------------------------------------


def _global_flags() -> argparse.ArgumentParser:
    """The flags accepted before or after any subcommand.

    Every default is SUPPRESS, on the main parser and the subparsers alike, so a flag given
    before the subcommand is not reset by the subparser's default (argparse's known pitfall).
    """
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("global options")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"API key to authenticate with (prefer the {ENV_API_KEY} environment variable)",
    )
    group.add_argument(
        "--server-root-url",
        metavar="URL",
        help=f"server to talk to (env {ENV_SERVER_ROOT}; default https://app.warp.dev "
        "when there is a credential)",
    )
    group.add_argument(
        "--local",
        action="store_true",
        help="use the embedded local key service (in the user data dir, or --data-dir)",
    )
    group.add_argument(
        "--demo", action="store_true", help="use an in-memory demo data set (nothing is saved)"
    )
    group.add_argument("--data-dir", metavar="DIR", help="the local key service's directory")
    group.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        help=f"how subcommands print (env {ENV_OUTPUT_FORMAT}; default pretty)",
    )
    group.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        help=f"how long one request attempt to a server may take, up to 600 (env "
        f"{ENV_REQUEST_TIMEOUT}; config request_timeout; default 60)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _global_flags()
    parser = _Parser(
        prog=PROG,
        description="Manage Warp's Oz Cloud API keys: a full-screen panel and scripting commands.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            argument_default=argparse.SUPPRESS,
            allow_abbrev=False,
            **kwargs,
        )

    p_list = add("list", "List active API keys.")
    p_list.add_argument("--sort-by", choices=SORT_FIELDS, help="default: created-at")
    p_list.add_argument("--sort-order", choices=("asc", "desc"), help="default: asc")

    p_create = add(
        "create",
        "Create an API key and print the raw key once (on stdout).",
        epilog="Without an expiration option the config's default_expiration is used (90d "
        "unless configured); without --team/--personal, its default_key_type (personal).",
    )
    p_create.add_argument("name", metavar="NAME", help="a name for the key")
    scope = p_create.add_mutually_exclusive_group()
    scope.add_argument("--team", action="store_true", help="a team key (the account's first team)")
    scope.add_argument("--personal", action="store_true", help="a personal key")
    scope.add_argument(
        "--agent", metavar="UID", help="an agent key: runs as this cloud agent of your team"
    )
    scope.add_argument(
        "--agent-name", metavar="NAME", help="an agent key for the team's agent with this name"
    )
    p_create.add_argument(
        "--team-id", metavar="ID", help="the team for a team key (implies --team)"
    )
    expiry = p_create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", choices=tuple(EXPIRES_IN), help="expire after 1, 30 or 90 days")
    expiry.add_argument("--expires-at", metavar="TIME", help="expire at an RFC 3339 time")
    expiry.add_argument("--no-expiration", action="store_true", help="never expire")

    p_expire = add(
        "expire",
        "Expire (delete) an API key at once.",
        aliases=["delete"],
        epilog="Asks for confirmation on a terminal; without one, --force is required.",
    )
    p_expire.add_argument("target", metavar="NAME_OR_UID", help="the key's exact uid or name")
    p_expire.add_argument("--force", action="store_true", help="do not ask for confirmation")

    add("whoami", "Show the server, account, teams and kind of credential in use.")

    p_serve = add(
        "serve",
        "Run the local key service on a socket (every request needs a key it issued).",
    )
    p_serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p_serve.add_argument("--port", type=_port, help="port to listen on (default 8787)")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, not {port}")
    return port


def _flags(args: argparse.Namespace) -> Flags:
    return Flags(
        api_key=getattr(args, "api_key", None),
        server_root_url=getattr(args, "server_root_url", None),
        local=getattr(args, "local", False),
        demo=getattr(args, "demo", False),
        data_dir=getattr(args, "data_dir", None),
        output_format=getattr(args, "output_format", None),
        request_timeout=getattr(args, "request_timeout", None),
    )


# -- entry points --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run and exit with the code."""
    sys.exit(run(argv))


def run(
    argv: Sequence[str] | None = None,
    *,
    env: dict[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command line; returns the exit code. Never raises for a user-facing failure."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    env = dict(os.environ) if env is None else env
    try:
        return _run(argv, env, stdin, stdout, stderr)
    except KeyboardInterrupt:
        _fail(stderr, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): silence the flush at exit and stop.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_ERROR


def _run(
    argv: Sequence[str] | None, env: dict[str, str], stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return _fail(stderr, str(exc), EXIT_USAGE)
    except _ParserExit as exc:
        return exc.code

    flags = _flags(args)
    command = getattr(args, "command", None)
    try:
        settings = load_settings(flags, env)
        if command == "serve":
            _check_serve_flags(flags)
    except SettingsError as exc:
        return _fail(stderr, exc.message, EXIT_USAGE)
    if flags.api_key is not None:
        stderr.write(API_KEY_FLAG_WARNING + "\n")
    _warn_plain_http(settings, stderr)

    if command is None:
        return _open_panel(settings, stdin, stdout, stderr)
    if command == "serve":
        return _serve(args, settings, stderr)

    output = Output(settings.output_format, stdout, stderr)
    handler = COMMANDS[command]
    try:
        check_args(command, args)
        return asyncio.run(_with_backend(settings, output, handler, args, stdin))
    except UsageError as exc:
        return _fail(stderr, str(exc), EXIT_USAGE)
    except OzError as exc:  # LocalStoreError is one
        return _fail(stderr, exc.message, exc.exit_code)
    finally:
        try:
            stdout.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError):
            pass


def _fail(stderr: TextIO, message: str, code: int = EXIT_ERROR) -> int:
    stderr.write(f"{PROG}: {safe_text(message)}\n")
    stderr.flush()
    return code


def _warn_plain_http(settings: Settings, stderr: TextIO) -> None:
    """A key sent over plain http to another machine can be read on the way."""
    from urllib.parse import urlsplit

    if settings.mode != "remote" or not settings.api_key or not settings.server_root_url:
        return
    parts = urlsplit(settings.server_root_url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and host not in ("localhost", "127.0.0.1", "::1"):
        stderr.write(
            f"{PROG}: warning: sending the API key unencrypted (http) to {safe_text(host)}\n"
        )


def _check_serve_flags(flags: Flags) -> None:
    if flags.demo:
        raise SettingsError("serve cannot serve demo data; drop --demo")
    if flags.server_root_url:
        raise SettingsError("serve runs a server; --server-root-url does not apply")


# -- backends --------------------------------------------------------------------------------


def make_backend(settings: Settings) -> Backend:
    from oz_tui.backend import local_backend, remote_backend, request_timeouts

    identity = {"client_id": settings.client_id, "user_agent": settings.user_agent}
    if settings.mode == "demo":
        return local_backend(demo=True, **identity)
    if settings.mode == "local":
        return local_backend(settings.data_dir, **identity)
    assert settings.server_root_url is not None
    return remote_backend(
        settings.server_root_url,
        settings.api_key,
        **identity,
        **request_timeouts(settings.request_timeout),
    )


async def _with_backend(
    settings: Settings, output: Output, handler: Handler, args: argparse.Namespace, stdin: TextIO
) -> int:
    backend = make_backend(settings)
    try:
        if settings.implicit_local and settings.output_format == "pretty":
            output.note(
                f"{PROG}: no {ENV_API_KEY} or server set; using the "
                f"{_local_label(backend)} (--local to silence this)"
            )
        return await handler(backend, settings, output, args, stdin)
    finally:
        await backend.aclose()


def _local_label(backend: Backend) -> str:
    location = backend.service.location if backend.service is not None else "?"
    return f"local key service at {safe_text(location)}"


# -- serve ---------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace, settings: Settings, stderr: TextIO) -> int:
    from oz_tui.local import default_data_dir, serve

    host = getattr(args, "host", "127.0.0.1")
    port = getattr(args, "port", 8787)
    data_dir = settings.data_dir or default_data_dir()
    data_flag = f" --data-dir {_shell_quote(str(data_dir))}"

    def ready(url: str) -> None:
        # Printed once the socket listens: a busy port or a bad store prints only its error.
        stderr.write(
            f"{PROG}: local key service on {url} (keys in {safe_text(str(data_dir))}); "
            "Ctrl-C stops it\n"
            f"  issue the first key:  {PROG} create NAME --local{data_flag}\n"
            f"  then point at it:     {ENV_API_KEY}=wk-... {PROG} --server-root-url {url}\n"
        )
        stderr.flush()

    try:
        serve(host=host, port=port, data_dir=data_dir, on_ready=ready)
    except OzError as exc:  # cannot listen, or the store cannot be opened
        return _fail(stderr, exc.message, exc.exit_code)
    stderr.write(f"{PROG}: local key service stopped\n")
    return EXIT_OK


def _shell_quote(text: str) -> str:
    import shlex

    return safe_text(shlex.quote(text))


# -- the panel -----------------------------------------------------------------------------------


def _panel_backend(settings: Settings) -> DeferredBackend:
    """The panel's backend, built after its first frame; the status line's source is known
    before that, from the same labels the built backend uses."""
    from oz_tui.backend import DeferredBackend
    from oz_tui.display import DEMO_SOURCE, local_source, server_host

    if settings.mode == "demo":
        source = DEMO_SOURCE
    elif settings.mode == "local":
        from oz_tui.local import DB_FILENAME, default_data_dir

        source = local_source(str((settings.data_dir or default_data_dir()) / DB_FILENAME))
    else:
        source = server_host(settings.server_root_url or "")
    return DeferredBackend(
        lambda: make_backend(settings), source=source, is_local=settings.mode != "remote"
    )


def _open_panel(settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if not (is_tty(stdin) and is_tty(stdout)):
        return _fail(
            stderr,
            "the panel needs a terminal (stdin and stdout); for scripts use a subcommand: "
            + ", ".join(SUBCOMMANDS)
            + f" (see '{PROG} --help')",
            EXIT_USAGE,
        )
    # Built after the first frame (httpx, graphql-core and Starlette load then, not before).
    backend = _panel_backend(settings)
    try:
        from oz_tui.api.models import system_clock
        from oz_tui.tui.app import OzKeysApp  # Textual loads here, and only here

        app = OzKeysApp(
            backend,
            clock=system_clock,
            default_expiration=settings.default_expiration,
            default_key_type=settings.default_key_type,
            theme=settings.theme,
            clipboard_clear_seconds=settings.clipboard_clear_seconds,
        )
        app.run()
        return app.return_code or 0
    finally:
        _close_quietly(backend)


def _close_quietly(backend: Backend | DeferredBackend) -> None:
    try:
        asyncio.run(backend.aclose())
    except Exception:  # noqa: BLE001 - already closed by the app, or its loop is gone
        pass
