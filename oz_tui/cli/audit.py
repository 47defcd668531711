"""`oz-keys audit`: the keys that need attention and why; exit 1 when there is any.

What counts (expiring, idle, never expires, never used) is `oz_tui.core.audit`, built on the same
hygiene predicates as the panel's badges and search qualifiers.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from oz_tui.cli.base import EXIT_FINDINGS, EXIT_OK, PROG
from oz_tui.cli.commands import duration, sort_keys
from oz_tui.cli.registry import Subcommand
from oz_tui.config import Settings

if TYPE_CHECKING:
    from oz_tui.core.audit import AuditPolicy
    from oz_tui.backend import Backend
    from oz_tui.cli.output import Output


async def cmd_audit(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    """The keys that need attention and why; exit 1 when there is any, 0 when all is well."""
    from oz_tui.core.audit import audit  # loaded when the command runs, as audit_policy's imports

    policy = audit_policy(args)
    client = backend.client
    keys = sort_keys(await client.list_keys(), "created-at", "asc")
    findings = audit(keys, client.clock(), policy)
    output.audit(findings, total=len(keys), policy=policy)
    return EXIT_FINDINGS if findings else EXIT_OK


def audit_policy(args: argparse.Namespace) -> AuditPolicy:
    """The audit's checks from its flags (bad durations are usage errors, before any request)."""
    from oz_tui.core.audit import AuditPolicy
    from oz_tui.core.hygiene import DEFAULT_EXPIRING, DEFAULT_IDLE

    expiring = getattr(args, "expiring_within", None)
    idle = getattr(args, "idle_for", None)
    return AuditPolicy(
        expiring_within=(
            DEFAULT_EXPIRING if expiring is None else duration("--expiring-within", expiring)
        ),
        idle_for=DEFAULT_IDLE if idle is None else duration("--idle-for", idle),
        never_expires=getattr(args, "never_expires", False),
        never_used=getattr(args, "never_used", False),
    )


def audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expiring-within", metavar="DURATION", help="report keys expiring within this (default 7d)"
    )
    parser.add_argument(
        "--idle-for", metavar="DURATION", help="report keys unused for this long (default 90d)"
    )
    parser.add_argument(
        "--never-expires", action="store_true", help="also report keys that never expire"
    )
    parser.add_argument("--never-used", action="store_true", help="also report keys never used")


def check_audit(args: argparse.Namespace) -> None:
    """Before any request: readable durations."""
    audit_policy(args)


AUDIT = Subcommand(
    name="audit",
    summary="List the keys that need attention and why; exit 1 if any do, 0 if none.",
    arguments=audit_arguments,
    handler=cmd_audit,
    check=check_audit,
    notes=(
        "Always reported: keys expiring within --expiring-within (7d) and keys unused for\n"
        "--idle-for (90d; a never-used key is idle since its creation). With the flags, also\n"
        "keys that never expire and keys never used. Each key comes with its reasons (json:\n"
        "the list item plus reasons [{code, message}]). Exit 1 when any key is listed, so it\n"
        "works in cron: oz-keys audit || notify."
    ),
    examples=(
        (f"{PROG} audit", "keys expiring within a week or idle for 90 days"),
        (f"{PROG} audit --never-expires --never-used -o json", "every finding, for a script"),
        (f'out=$({PROG} audit 2>&1) || echo "$out" | mail -s "Oz keys" ops@example.com',
         "a cron line: mail only when something needs attention"),
    ),
)
