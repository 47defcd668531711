"""The scripting subcommands, like Warp's `oz api-key`: list, create, expire (delete), whoami.

Each runs on a built `Backend` and prints through `Output`; a mistake in its arguments raises
`UsageError`, a failure on the server's side an `OzError`, and the command line (`oz_tui.cli`) turns
both into one line and an exit code. No Textual here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from oz_tui.api.errors import NotFoundError, OzError
from oz_tui.api.models import (
    MAX_KEY_NAME_LENGTH,
    Agent,
    ApiKey,
    Expiration,
    KeyType,
    parse_time,
)
from oz_tui.cli.base import EXIT_OK, PROG, UsageError, is_tty
from oz_tui.cli.output import Output
from oz_tui.config import Settings
from oz_tui.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.backend import Backend

SORT_FIELDS = ("name", "created-at", "last-used-at", "expires-at", "scope")
EXPIRES_IN = {choice.code: choice for choice in Expiration if choice.days is not None}

Handler = Callable[["Backend", Settings, Output, argparse.Namespace, TextIO], Any]


def check_args(command: str, args: argparse.Namespace) -> None:
    """What argparse can't check: a usable name for create, and no contradicting flags."""
    if command == "create":
        name = args.name
        if not name.strip():
            raise UsageError("the key name cannot be blank")
        if len(name.strip()) > MAX_KEY_NAME_LENGTH:
            raise UsageError(
                f"the key name is {len(name.strip())} characters long; "
                f"use at most {MAX_KEY_NAME_LENGTH}"
            )
        if getattr(args, "team_id", None):
            for flag in ("personal", "agent", "agent_name"):
                if getattr(args, flag, None):
                    raise UsageError(
                        f"--{flag.replace('_', '-')} and --team-id cannot be used together"
                    )
        for flag in ("agent", "agent_name"):
            value = getattr(args, flag, None)
            if value is not None and not value.strip():
                raise UsageError(f"--{flag.replace('_', '-')} is empty")


def sort_keys(keys: list[ApiKey], sort_by: str, order: str) -> list[ApiKey]:
    """Sort like the panel's columns. "Never" sorts as the earliest use and the latest expiry."""
    def stamp(value: datetime | None, *, none_last: bool) -> tuple[int, float]:
        if value is None:
            return (1, 0.0) if none_last else (-1, 0.0)
        return (0, value.timestamp())

    primary: Callable[[ApiKey], Any] = {
        "name": lambda k: k.name.casefold(),
        "created-at": lambda k: k.created_at.timestamp(),
        "last-used-at": lambda k: stamp(k.last_used_at, none_last=False),
        "expires-at": lambda k: stamp(k.expires_at, none_last=True),
        "scope": lambda k: k.scope.value,
    }[sort_by]
    return sorted(
        keys,
        key=lambda k: (primary(k), k.name.casefold(), k.created_at.timestamp(), k.uid),
        reverse=order == "desc",
    )


async def cmd_list(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    keys = await backend.client.list_keys()
    keys = sort_keys(
        keys, getattr(args, "sort_by", "created-at"), getattr(args, "sort_order", "asc")
    )
    output.keys(keys, backend.client.clock())
    return EXIT_OK


def _expiration(args: argparse.Namespace, settings: Settings, now: datetime) -> Expiration | datetime:
    if getattr(args, "no_expiration", False):
        return Expiration.NEVER
    if getattr(args, "expires_in", None):
        return EXPIRES_IN[args.expires_in]
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
    return settings.default_expiration


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
        created = await client.create_key(args.name.strip(), expiration, agent_uid=agent_uid.strip())
        output.created(created)
        return EXIT_OK
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
    created = await client.create_key(args.name.strip(), expiration, team_id=team_id)
    output.created(created)
    return EXIT_OK


def resolve_target(keys: Sequence[ApiKey], target: str) -> ApiKey:
    """The key `target` names: an exact uid, else exactly one key with that exact name."""
    by_uid = [key for key in keys if key.uid == target]
    if by_uid:
        return by_uid[0]
    by_name = [key for key in keys if key.name == target]
    if not by_name:
        raise NotFoundError(f"no active API key has the uid or name '{target}'")
    if len(by_name) > 1:
        uids = ", ".join(key.uid for key in by_name)
        raise UsageError(
            f"{len(by_name)} API keys are named '{safe_text(target)}'; "
            f"pass one of their uids: {uids}"
        )
    return by_name[0]


async def confirm(question: str, stdin: TextIO, stderr: TextIO) -> bool:
    """Ask a yes/no question on the terminal; No unless the answer is y or yes."""
    stderr.write(f"{question} [y/N] ")
    stderr.flush()
    answer = await _read_line(stdin)
    if not answer.endswith("\n"):
        stderr.write("\n")  # EOF (Ctrl-D): leave the cursor on a fresh line
        stderr.flush()
    return answer.strip().lower() in ("y", "yes")


async def _read_line(stdin: TextIO) -> str:
    """One line from the terminal without blocking the event loop.

    Waiting on the file descriptor (not in a worker thread) keeps Ctrl-C working: asyncio.run
    cancels this wait and the command ends with exit 130 at once.
    """
    loop = asyncio.get_running_loop()
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return stdin.readline()  # not a real file (tests): it does not block
    done: asyncio.Future[bytes] = loop.create_future()

    def readable() -> None:
        if done.done():
            return
        try:
            done.set_result(os.read(fd, 4096))  # a terminal in canonical mode gives a line
        except OSError as exc:
            done.set_exception(exc)

    loop.add_reader(fd, readable)
    try:
        data = await done
    finally:
        loop.remove_reader(fd)
    return data.decode("utf-8", "replace")


async def cmd_expire(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    client = backend.client
    key = resolve_target(await client.list_keys(), args.target)
    if not getattr(args, "force", False):
        if not is_tty(stdin):
            raise UsageError(
                f"not expiring '{safe_text(key.name)}' without a terminal to confirm on; "
                "pass --force"
            )
        question = f"Expire API key '{safe_text(key.name)}'?"
        if not await confirm(question, stdin, output.stderr):
            output.expired(key, expired=False)
            return EXIT_OK
    await client.expire_key(key.uid)
    output.expired(key, expired=True)
    return EXIT_OK


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
            "location": backend.service.location if backend.service is not None else None,
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


COMMANDS: dict[str, Handler] = {
    "list": cmd_list,
    "create": cmd_create,
    "expire": cmd_expire,
    "delete": cmd_expire,
    "whoami": cmd_whoami,
}
