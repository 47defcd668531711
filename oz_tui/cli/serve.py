"""`oz-keys serve`: the local key service on a socket, for other programs and machines' tools."""

from __future__ import annotations

import argparse

from oz_tui.core.errors import OzError
from oz_tui.cli.base import EXIT_OK, EXIT_USAGE, PROG, fail
from oz_tui.cli.registry import Invocation, Subcommand
from oz_tui.config import ENV_API_KEY
from oz_tui.core.sanitize import safe_text

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


def run_serve(invocation: Invocation) -> int:
    import shlex
    from pathlib import Path

    from oz_tui.local import default_data_dir, serve
    from oz_tui.local.serving import TLSFiles

    args, stderr = invocation.args, invocation.stderr
    host = getattr(args, "host", DEFAULT_HOST)
    port = getattr(args, "port", DEFAULT_PORT)
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if (cert is None) != (key is None):
        return fail(stderr, "--tls-cert and --tls-key go together; pass both", EXIT_USAGE)
    tls = TLSFiles(Path(cert), Path(key)) if cert and key else None
    data_dir = invocation.settings.data_dir or default_data_dir()
    data_flag = f" --data-dir {safe_text(shlex.quote(str(data_dir)))}"

    def ready(url: str) -> None:
        # Printed once the socket listens: a busy port or a bad store prints only its error.
        stderr.write(
            f"{PROG}: local key service on {url} (keys in {safe_text(str(data_dir))}); "
            "Ctrl-C stops it\n"
            f"  issue the first key:  {PROG} create NAME --local{data_flag}\n"
            f"  then point at it:     {ENV_API_KEY}=wk-... {PROG} --server-root-url {url}\n"
        )
        stderr.flush()

    from oz_tui.no_core_dumps import disable_core_dumps

    # Each key it creates passes through its memory as a raw key: before the first request.
    disable_core_dumps()
    try:
        serve(
            host=host,
            port=port,
            data_dir=data_dir,
            on_ready=ready,
            tls=tls,
            insecure_remote=getattr(args, "insecure_remote", False),
            introspection=getattr(args, "introspection", False),
        )
    except OzError as exc:  # cannot listen, refused, or the store cannot be opened
        return fail(stderr, exc.message, exc.exit_code)
    stderr.write(f"{PROG}: local key service stopped\n")
    return EXIT_OK


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, not {port}")
    return port


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=_port, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    parser.add_argument(
        "--insecure-remote",
        action="store_true",
        help="allow plain HTTP on an address other machines can reach (keys cross the network "
        "readable)",
    )
    parser.add_argument(
        "--introspection", action="store_true", help="answer GraphQL introspection queries"
    )


SERVE = Subcommand(
    name="serve",
    summary="Run the local key service on a socket (every request needs a key it issued).",
    arguments=_serve_arguments,
    standalone=run_serve,
    options=("data_dir",),
    examples=(
        (f"{PROG} serve --port 8787", "serve the keys in the user data dir on 127.0.0.1:8787"),
        (f"{PROG} serve --data-dir ./keys", "serve another directory's keys"),
        (f"{PROG} serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem",
         "serve HTTPS to other machines"),
    ),
)
