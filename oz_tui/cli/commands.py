"""The scripting subcommands, like Warp's `oz api-key`: list, create, expire (delete), whoami.

Each runs on a built `Backend` and prints through `Output`; a mistake in its arguments raises
`UsageError`, a failure on the server's side an `OzError`, and the command line (`oz_tui.cli`) turns
both into one line and an exit code. Each is declared by a `Subcommand` at the end of this file
(see `registry` for how to add one). No Textual here.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from oz_tui.core.errors import NotFoundError, OzError
from oz_tui.core.models import (
    Agent,
    ApiKey,
    CreatedKey,
    Expiration,
    KeyType,
    parse_time,
)
from oz_tui.cli.base import EXIT_OK, PROG, UsageError, is_tty
from oz_tui.cli.completion import SUGGESTED_DURATIONS, suggest
from oz_tui.cli.prompts import Cancelled, confirm, describe, explain_not_found, one_key
from oz_tui.cli.registry import Subcommand
from oz_tui.core.names import name_problem
from oz_tui.config import Settings
from oz_tui.core.durations import DurationError, parse_duration
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.backend import Backend, KeyService
    from oz_tui.cli.output import Output

SORT_FIELDS = ("name", "created-at", "last-used-at", "expires-at", "scope")

#: The line a declined confirmation (or a cancelled picker) prints, as Warp's CLI does.
CANCELLED = "Expiration cancelled"


# -- list --------------------------------------------------------------------------------------


def sort_keys(keys: Sequence[ApiKey], sort_by: str | None, order: str) -> list[ApiKey]:
    """Warp's CLI order: without `sort_by` the server's; else a stable sort (ties keep the
    server's order in both directions), names lowercased, and a missing last use or expiry
    first in ascending order."""
    if sort_by is None:
        return list(keys)

    def stamp(value: datetime | None) -> tuple[int, float]:
        return (0, 0.0) if value is None else (1, value.timestamp())

    primary: Callable[[ApiKey], Any] = {
        "name": lambda k: k.name.lower(),
        "created-at": lambda k: k.created_at.timestamp(),
        "last-used-at": lambda k: stamp(k.last_used_at),
        "expires-at": lambda k: stamp(k.expires_at),
        "scope": lambda k: k.owner_scope,
    }[sort_by]
    return sorted(keys, key=primary, reverse=order == "desc")


async def cmd_list(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    keys = await backend.client.list_keys()
    keys = sort_keys(keys, getattr(args, "sort_by", None), getattr(args, "sort_order", "asc"))
    output.keys(keys, backend.client.clock())
    return EXIT_OK


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sort-by", choices=SORT_FIELDS, metavar="FIELD",
        help=f"{', '.join(SORT_FIELDS)} (default: the server's order)",
    )
    parser.add_argument(
        "--sort-order", choices=("asc", "desc"), metavar="ORDER",
        help="asc or desc (default: asc); a missing last use or expiry sorts first in asc",
    )


LIST = Subcommand(
    name="list",
    summary="List active API keys.",
    arguments=_list_arguments,
    handler=cmd_list,
    examples=(
        (f"{PROG} list --sort-by last-used-at", "least recently used first (never used on top)"),
        (f"{PROG} list -o json | jq -r '.[].name'", "every key's name, for a script"),
        (f"{PROG} list --jq '.[] | select(.expires_at == null) | .uid'",
         "the uids of keys that never expire"),
    ),
)


# -- create ------------------------------------------------------------------------------------


def check_create(args: argparse.Namespace) -> None:
    """What argparse can't check: a usable name, a readable duration, no contradicting flags."""
    problem = name_problem(args.name)
    if problem is not None:
        raise UsageError(problem)
    if getattr(args, "team_id", None):
        for flag in ("personal", "agent", "agent_name"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag.replace('_', '-')} and --team-id cannot be used together")
    for flag in ("agent", "agent_name"):
        value = getattr(args, flag, None)
        if value is not None and not value.strip():
            raise UsageError(f"--{flag.replace('_', '-')} is empty")
    if getattr(args, "expires_in", None) is not None:
        duration("--expires-in", args.expires_in)


def duration(flag: str, text: str) -> timedelta:
    """`text` read as a duration for `flag`; a `UsageError` naming the flag if it can't be."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _expiration(args: argparse.Namespace, settings: Settings, now: datetime) -> Expiration | datetime:
    explicit = explicit_expiration(args, now)
    return settings.default_expiration if explicit is None else explicit


def explicit_expiration(args: argparse.Namespace, now: datetime) -> Expiration | datetime | None:
    """What `--expires-in`, `--expires-at` or `--no-expiration` ask for; None without them."""
    if getattr(args, "no_expiration", False):
        return Expiration.NEVER
    if getattr(args, "expires_in", None) is not None:
        return now + duration("--expires-in", args.expires_in)
    text = getattr(args, "expires_at", None)
    if text is not None:
        try:
            when = parse_time(text.strip())
        except ValueError:
            raise UsageError(
                "--expires-at needs an RFC 3339 time with a zone, like 2030-01-31T12:00:00Z"
            ) from None
        if when <= now:
            raise UsageError("--expires-at must be in the future")
        return when
    return None


def resolve_agent(agents: Sequence[Agent], name: str) -> Agent:
    """The one available agent named `name` (compared case-insensitively), or `UsageError`."""
    wanted = name.strip().casefold()
    matches = [agent for agent in agents if agent.name.casefold() == wanted]
    if not matches:
        known = ", ".join(safe_text(agent.name, max_length=60) for agent in agents)
        listed = f"; the team's agents: {known}" if known else "; the team has no agents"
        raise UsageError(f"no agent is named '{safe_text(name, max_length=60)}'{listed}")
    if len(matches) > 1:
        uids = ", ".join(safe_text(agent.uid) for agent in matches)
        raise UsageError(
            f"{len(matches)} agents are named '{safe_text(name, max_length=60)}'; "
            f"pass one of their uids with --agent: {uids}"
        )
    agent = matches[0]
    if not agent.available:
        raise UsageError(
            f"the agent '{safe_text(agent.name, max_length=60)}' is not available on the "
            "team's plan"
        )
    return agent


async def cmd_create(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    client = backend.client
    expiration = _expiration(args, settings, client.clock())
    agent_uid = getattr(args, "agent", None)
    agent_name = getattr(args, "agent_name", None)
    if agent_name is not None:
        agent_uid = resolve_agent(await client.list_agents(), agent_name).uid
    if agent_uid is not None:
        return await _create_and_deliver(
            client, output,
            client.create_key(args.name.strip(), expiration, agent_uid=agent_uid.strip()),
        )
    team_id = getattr(args, "team_id", None)
    wants_team = (
        bool(team_id)
        or getattr(args, "team", False)
        or (settings.default_key_type is KeyType.TEAM and not getattr(args, "personal", False))
    )
    if wants_team and not team_id:
        account = await client.whoami()
        teams = account.teams
        if not teams:
            raise OzError(
                f"{safe_text(account.label)} belongs to no team, so a team key cannot be made; "
                "create a personal key instead (--personal)"
            )
        team_id = teams[0].uid
        if len(teams) > 1:
            output.note(
                f"Using team '{safe_text(teams[0].name)}' ({safe_text(team_id)}), the first of "
                f"{len(teams)}; pick another with --team-id"
            )
    return await _create_and_deliver(
        client, output, client.create_key(args.name.strip(), expiration, team_id=team_id)
    )


async def _create_and_deliver(
    client: KeyService, output: Output, create: Awaitable[CreatedKey]
) -> int:
    """The new key printed once, or taken back (see `oz_tui.cli.delivery`)."""
    from oz_tui.cli.delivery import create_or_explain, deliver_or_expire

    created = await create_or_explain(create)

    def deliver() -> None:
        output.created(created)
        output.stdout.flush()

    await deliver_or_expire(client, created, deliver, output.stdout)
    return EXIT_OK


def _create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="a name for the key")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--team", action="store_true",
        help="a team key (the account's first team); oz-keys extension",
    )
    scope.add_argument("--personal", action="store_true", help="a personal key (the default)")
    scope.add_argument(
        "--agent", metavar="UID", help="an agent key: runs as this cloud agent of your team"
    )
    scope.add_argument(
        "--agent-name", metavar="NAME",
        help="an agent key for the team's agent with this name; oz-keys extension",
    )
    parser.add_argument(
        "--team-id", metavar="ID", help="the team for a team key (implies --team); oz-keys extension"
    )
    expiry = parser.add_mutually_exclusive_group()
    expires_in = expiry.add_argument(
        "--expires-in", metavar="DURATION",
        help="expire after a duration: 90m, 12h, 30d, 1w, or several like '1w 2d'",
    )
    expires_in.completer = suggest(SUGGESTED_DURATIONS)  # type: ignore[attr-defined]
    expiry.add_argument("--expires-at", metavar="TIME", help="expire at an RFC 3339 time")
    expiry.add_argument("--no-expiration", action="store_true", help="never expire")


CREATE = Subcommand(
    name="create",
    summary="Create an API key and print the raw key once (on stdout).",
    arguments=_create_arguments,
    handler=cmd_create,
    holds_secret=True,
    check=check_create,
    notes=(
        "Without an expiration option the config file's default_expiration is used (90d unless\n"
        "configured); without --team/--personal, its default_key_type (personal). The raw key is\n"
        "shown only once: pretty and text print it alone on stdout, json and ndjson as\n"
        "raw_api_key."
    ),
    examples=(
        (f"{PROG} create ci-deploy -o json | jq -r .raw_api_key",
         "create a key and keep only the secret"),
        (f"{PROG} create nightly --expires-in 1w", "a key that expires in a week"),
        (f"{PROG} create laptop --no-expiration --team",
         "a team key that never expires (oz-keys' --team)"),
    ),
)


# -- expire ------------------------------------------------------------------------------------


def _credential_warning(key: ApiKey, settings: Settings) -> str:
    source = f" from {settings.api_key_source}" if settings.api_key_source else ""
    return (
        f"Warning: '{safe_text(key.name)}' ({safe_text(key.masked)}) is the API key oz-keys is "
        f"signed in with{source}; once it expires, oz-keys and everything using it lose access."
    )


async def cmd_expire(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    client = backend.client
    now = client.clock()
    keys = await client.list_keys()
    interactive = is_tty(stdin)
    chosen: list[ApiKey] = []
    for target in args.targets:
        try:
            key = await one_key(keys, target, now, output, stdin)
        except Cancelled:
            output.note(CANCELLED)
            return EXIT_OK
        except NotFoundError as exc:
            raise await explain_not_found(client, exc) from None
        if key not in chosen:
            chosen.append(key)

    in_use = [key for key in chosen if client.is_credential(key)]
    if not getattr(args, "force", False):
        if not interactive:
            what = f"'{safe_text(chosen[0].name)}'" if len(chosen) == 1 else f"{len(chosen)} keys"
            raise UsageError(f"not expiring {what} without a terminal to confirm on; pass --force")
        for key in in_use:
            output.note(_credential_warning(key, settings))
        if len(chosen) == 1:
            question = (
                f"Expire API key '{describe(chosen[0], now)}'? This takes effect immediately."
            )
        else:
            for key in chosen:
                output.note(f"  {describe(key, now)}")
            question = f"Expire these {len(chosen)} API keys? This takes effect immediately."
        if not await confirm(question, stdin, output.stderr):
            output.note(CANCELLED)
            return EXIT_OK
    elif in_use:
        for key in in_use:
            output.note(f"{PROG}: warning: expiring '{safe_text(key.name)}', the API key oz-keys "
                        "is signed in with")

    from oz_tui.cli.output import ExpireResult

    several = len(args.targets) > 1
    results: list[ExpireResult] = []
    for key in chosen:
        try:
            await client.expire_key(key.uid)
        except OzError as exc:
            if not several:
                raise
            results.append(ExpireResult(key, expired=False, error=exc))
        else:
            results.append(ExpireResult(key, expired=True))
    output.expired(results, several=several)
    failed = [result.error for result in results if result.error is not None]
    return failed[0].exit_code if failed else EXIT_OK


def _expire_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets", metavar="KEY", nargs="+",
        help="a key's uid or exact name; several keys are expired after one confirmation",
    )
    parser.add_argument("--force", action="store_true", help="do not ask for confirmation")


EXPIRE = Subcommand(
    name="expire",
    aliases=("delete",),
    summary="Expire (delete) API keys at once.",
    arguments=_expire_arguments,
    handler=cmd_expire,
    notes=(
        "KEY is a uid, else a name. Asks for confirmation on a terminal (declining prints\n"
        "'Expiration cancelled' and exits 0); without one, --force is required. Several keys\n"
        "with the name: on a terminal you pick one (newest first); without one the command\n"
        "fails naming their uids on stderr (stdout stays empty).\n"
        "\n"
        "One KEY prints Warp's {key_uid, expired}; several print a list of them (a failed one\n"
        "also has error, and the exit code is non-zero)."
    ),
    examples=(
        (f"{PROG} expire ci-deploy", "asks first, naming the key, its uid and its age"),
        (f"{PROG} expire 3f2c9a1e-... old-laptop --force", "two keys, no question (scripts)"),
        (f"{PROG} list --jq '.[] | select(.last_used_at == null) | .uid' | xargs -r {PROG} expire --force",
         "expire every key that was never used"),
    ),
)


# -- whoami ------------------------------------------------------------------------------------


async def cmd_whoami(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    client = backend.client
    account = await client.whoami()
    if backend.is_local:
        server = {
            "url": None,
            "source": backend.source,
            "local": True,
            "location": backend.store.location if backend.store is not None else None,
        }
        kind = "none (in-process local service)"
    else:
        server = {"url": client.server_root, "source": backend.source, "local": False}
        kind = account.credential_kind if settings.api_key else "none"
    credential = {
        "kind": kind,
        "hint": client.credential_hint,
        "source": settings.api_key_source if not backend.is_local else None,
    }
    if backend.is_local and settings.api_key:
        output.note(f"{PROG}: note: the local service in process ignores the API key")
    output.whoami(account, server, credential)
    return EXIT_OK


WHOAMI = Subcommand(
    name="whoami",
    summary="Show the server, account, teams and kind of credential in use.",
    handler=cmd_whoami,
    notes=(
        "json has Warp's `oz whoami` fields (uid, type, display_name, email, team_uids,\n"
        "team_names, workspace_uid, workspace_name) plus server and credential; text prints\n"
        "type:uid."
    ),
    examples=(
        (f"{PROG} whoami", "who the credential acts as, on which server"),
        (f"{PROG} whoami --jq .team_names[0]", "the first team's name"),
    ),
)
