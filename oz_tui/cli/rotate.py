"""`oz-keys rotate KEY`: a new key like the old one, delivered once, then the old one expired.

The rules (same name, owner and lifetime; which team a Team key goes to) are in
`oz_tui.core.rotation`, shared with the panel. Here: the order of the steps, the question on a
terminal, and what happens when a step fails.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from oz_tui.core.errors import NotFoundError, OzError
from oz_tui.core.models import KeyScope
from oz_tui.cli.base import EXIT_OK, PROG, UsageError, is_tty
from oz_tui.cli.commands import duration, explicit_expiration
from oz_tui.cli.prompts import Cancelled, confirm, describe, explain_not_found, one_key
from oz_tui.cli.registry import Subcommand
from oz_tui.config import Settings
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.backend import Backend
    from oz_tui.cli.output import Output
    from oz_tui.core.rotation import RotationError


async def cmd_rotate(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    """A new key like the old one (name, owner, lifetime), delivered once, then the old one
    expired. Requests: the list (to find the key), who-am-I only for a Team key without
    --team-id, then exactly one create and one expire."""
    # Loaded when the command runs: every other command starts without them.
    from oz_tui.cli.delivery import create_or_explain, deliver_or_expire
    from oz_tui.core.rotation import RotationError, owner_of, same_lifetime, still_active_message

    client = backend.client
    keep_old = getattr(args, "keep_old", False)
    force = getattr(args, "force", False)
    if not keep_old and not force and not is_tty(stdin):
        raise UsageError(
            "not rotating without a terminal to confirm expiring the old key on; "
            "pass --force, or --keep-old to keep the old key active"
        )
    now = client.clock()
    explicit = explicit_expiration(args, now)
    try:
        old = await one_key(await client.list_keys(), args.target, now, output, stdin)
    except Cancelled:
        output.note("Rotation cancelled")
        return EXIT_OK
    except NotFoundError as exc:
        raise await explain_not_found(client, exc) from None
    team_id = getattr(args, "team_id", None)
    try:
        expiration = explicit if explicit is not None else same_lifetime(old, now)
        teams = None
        if old.scope is KeyScope.TEAM and not team_id:
            teams = (await client.whoami()).teams
        owner = owner_of(old, teams, team_id)
    except RotationError as error:
        if error.usage:
            raise UsageError(error.message + _choices_hint(error)) from None
        raise OzError(error.message) from None

    # If this fails nothing has changed (the error says whether the key may exist anyway).
    created = await create_or_explain(
        client.create_key(old.name, expiration, **owner.create_options())
    )
    # Printed, or expired again before the old key is touched (`oz_tui.cli.delivery`).
    await deliver_or_expire(
        client, created, lambda: output.rotated(created, old), output.stdout,
        unchanged=f"the old key '{safe_text(old.name, max_length=80)}' was left as it was",
    )

    expire_old = not keep_old
    if expire_old and not force:
        if client.is_credential(old):
            output.note(
                f"Note: '{safe_text(old.name)}' is the API key oz-keys is signed in with; "
                "sign in with the new key once the old one is expired."
            )
        question = (
            f"Expire the old API key '{describe(old, now)}' now? This takes effect immediately."
        )
        expire_old = await confirm(question, stdin, output.stderr, default=True)
    failure: OzError | None = None
    if expire_old:
        try:
            await client.expire_key(old.uid)
        except OzError as error:
            failure = error
    output.replaced(created, old, expired=expire_old and failure is None)
    if failure is not None:
        still_active = OzError(still_active_message(old, failure.message))
        still_active.exit_code = failure.exit_code  # 3 stays 3: the credential was refused
        raise still_active
    return EXIT_OK


def _choices_hint(error: RotationError) -> str:
    from oz_tui.core.rotation import TeamChoiceNeeded

    if isinstance(error, TeamChoiceNeeded):
        teams = ", ".join(f"{safe_text(t.uid)} ({safe_text(t.name)})" for t in error.teams)
        return f"; pass --team-id with one of: {teams}"
    return " (--expires-in, --expires-at or --no-expiration)"


def rotate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="KEY", help="the key's exact uid or name")
    expiry = parser.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-in", metavar="DURATION", help="expire after this long (30d, 12h, 1w 2d, ...)"
    )
    expiry.add_argument("--expires-at", metavar="TIME", help="expire at an RFC 3339 time")
    expiry.add_argument("--no-expiration", action="store_true", help="never expire")
    parser.add_argument("--team-id", metavar="ID", help="the Team key's team")
    old_key = parser.add_mutually_exclusive_group()
    old_key.add_argument(
        "--keep-old", action="store_true", help="keep the old key active (a staged roll-out)"
    )
    old_key.add_argument("--force", action="store_true", help="expire the old key without asking")


def check_rotate(args: argparse.Namespace) -> None:
    """Before any request: a readable duration."""
    if getattr(args, "expires_in", None) is not None:
        duration("--expires-in", args.expires_in)


ROTATE = Subcommand(
    name="rotate",
    summary="Replace an API key: create a new one like it, print it once, expire the old one.",
    arguments=rotate_arguments,
    handler=cmd_rotate,
    holds_secret=True,
    check=check_rotate,
    notes=(
        "KEY is a uid, else a name. The new key has the old one's name, owner (Personal, the\n"
        "same agent, or the same team) and lifetime length (never-expiring stays never), unless\n"
        "an expiration option says otherwise. Warp doesn't list a Team key's team: it goes to\n"
        "--team-id, else to your only team (with several, --team-id is required).\n"
        "\n"
        "The new key is printed first, as create prints it; then the old key is expired: on a\n"
        "terminal after asking (Enter says yes), without one only with --force. --keep-old\n"
        "keeps it active (a staged roll-out). json: {raw_api_key, api_key, replaced: {key_uid,\n"
        "expired}}. If expiring the old key fails, the new key is still printed and the exit\n"
        "code is non-zero."
    ),
    examples=(
        (f"{PROG} rotate ci-deploy --force -o json | jq -r .raw_api_key",
         "replace a key in a script and keep only the new secret"),
        (f"{PROG} rotate ci-deploy --keep-old", "a staged roll-out: the old key stays active"),
        (f"{PROG} rotate nightly --expires-in 30d --force", "replace it with a 30-day key"),
    ),
)
