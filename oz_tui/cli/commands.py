"""The scripting subcommands, like Warp's `oz api-key`: list, create, expire (delete), whoami;
and oz-keys' own rotate and audit.

Each runs on a built `Backend` and prints through `Output`; a mistake in its arguments raises
`UsageError`, a failure on the server's side an `OzError`, and the command line (`oz_tui.cli`) turns
both into one line and an exit code. No Textual here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from oz_tui.api.errors import NotFoundError, OzError
from oz_tui.api.models import (
    MAX_KEY_NAME_LENGTH,
    ApiKey,
    CreatedKey,
    Expiration,
    KeyScope,
    KeyType,
    parse_time,
)
from oz_tui.audit import AuditPolicy, audit
from oz_tui.cli.base import EXIT_FINDINGS, EXIT_OK, PROG, UsageError, is_tty
from oz_tui.cli.output import Output
from oz_tui.config import Settings
from oz_tui.durations import DurationError, parse_duration
from oz_tui.hygiene import DEFAULT_EXPIRING, DEFAULT_IDLE
from oz_tui.rotation import (
    RotationError,
    TeamChoiceNeeded,
    owner_of,
    same_lifetime,
    still_active_message,
)
from oz_tui.sanitize import safe_text

if TYPE_CHECKING:
    from oz_tui.api.client import OzClient
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
        if getattr(args, "personal", False) and getattr(args, "team_id", None):
            raise UsageError("--personal and --team-id cannot be used together")


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
    explicit = _explicit_expiration(args, now)
    return settings.default_expiration if explicit is None else explicit


def _explicit_expiration(args: argparse.Namespace, now: datetime) -> Expiration | datetime | None:
    """What `--expires-in` (a choice code or any duration), `--expires-at` or `--no-expiration`
    ask for; None when none of them was given."""
    if getattr(args, "no_expiration", False):
        return Expiration.NEVER
    expires_in = getattr(args, "expires_in", None)
    if expires_in is not None:
        if expires_in in EXPIRES_IN:
            return EXPIRES_IN[expires_in]
        return now + _duration("--expires-in", expires_in)
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


def _duration(flag: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise UsageError(f"{flag}: {error}") from None


async def cmd_create(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    client = backend.client
    expiration = _expiration(args, settings, client.clock())
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


async def confirm(question: str, stdin: TextIO, stderr: TextIO, *, default: bool = False) -> bool:
    """Ask a yes/no question on the terminal: y or yes is Yes; Enter alone means `default`;
    EOF (Ctrl-D) with nothing typed is No whatever the default, so nothing is done unasked."""
    stderr.write(f"{question} {'[Y/n]' if default else '[y/N]'} ")
    stderr.flush()
    answer = await _read_line(stdin)
    pressed_enter = answer.endswith("\n")
    if not pressed_enter:
        stderr.write("\n")  # EOF: leave the cursor on a fresh line
        stderr.flush()
    word = answer.strip().lower()
    if not word:
        return default and pressed_enter
    return word in ("y", "yes")


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


async def cmd_rotate(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    """A new key like the old one (name, owner, lifetime), delivered once, then the old one
    expired. Requests: the list (to find the key), who-am-I only for a Team key without
    --team-id, then exactly one create and one expire."""
    client = backend.client
    keep_old = getattr(args, "keep_old", False)
    force = getattr(args, "force", False)
    if not keep_old and not force and not is_tty(stdin):
        raise UsageError(
            "not rotating without a terminal to confirm expiring the old key on; "
            "pass --force, or --keep-old to keep the old key active"
        )
    now = client.clock()
    explicit = _explicit_expiration(args, now)
    old = resolve_target(await client.list_keys(), args.target)
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
    created = await client.create_key(old.name, expiration, **owner.create_options())
    await deliver(client, created, lambda: output.rotated(created, old))

    expire_old = not keep_old
    if expire_old and not force:
        question = (
            f"Expire the old API key '{safe_text(old.name)}' ({safe_text(old.masked)}, "
            f"uid {safe_text(old.uid)}) now?"
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
    if isinstance(error, TeamChoiceNeeded):
        teams = ", ".join(f"{safe_text(t.uid)} ({safe_text(t.name)})" for t in error.teams)
        return f"; pass --team-id with one of: {teams}"
    return " (--expires-in, --expires-at or --no-expiration)"


async def deliver(client: OzClient, created: CreatedKey, write: Callable[[], None]) -> None:
    """Write a new key out with `write`; if stdout can't take it, expire the key again.

    A key whose secret nobody received must not stay active: nobody could use it, and part of
    it may sit in a broken pipe's buffer. Either way the user gets one line saying what happened.
    """
    try:
        write()
    except (OSError, ValueError) as error:  # BrokenPipeError is an OSError; ValueError: closed
        uid = safe_text(created.api_key.uid)
        try:
            await client.expire_key(created.api_key.uid)
        except OzError as expire_error:
            raise OzError(
                f"couldn't write the new key to stdout ({type(error).__name__}), and expiring "
                f"it again failed ({expire_error.message}): expire uid {uid} yourself"
            ) from None
        raise OzError(
            f"couldn't write the new key to stdout ({type(error).__name__}); it was expired "
            f"again (uid {uid}), so nothing was replaced"
        ) from None


async def cmd_audit(
    backend: Backend, settings: Settings, output: Output, args: argparse.Namespace, stdin: TextIO
) -> int:
    """The keys that need attention and why; exit 1 when there is any, 0 when all is well."""
    policy = audit_policy(args)
    client = backend.client
    keys = sort_keys(await client.list_keys(), "created-at", "asc")
    findings = audit(keys, client.clock(), policy)
    output.audit(findings, total=len(keys), policy=policy)
    return EXIT_FINDINGS if findings else EXIT_OK


def audit_policy(args: argparse.Namespace) -> AuditPolicy:
    """The audit's checks from its flags (bad durations are usage errors, before any request)."""
    expiring = getattr(args, "expiring_within", None)
    idle = getattr(args, "idle_for", None)
    return AuditPolicy(
        expiring_within=(
            DEFAULT_EXPIRING if expiring is None else _duration("--expiring-within", expiring)
        ),
        idle_for=DEFAULT_IDLE if idle is None else _duration("--idle-for", idle),
        never_expires=getattr(args, "never_expires", False),
        never_used=getattr(args, "never_used", False),
    )


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
    "rotate": cmd_rotate,
    "audit": cmd_audit,
}
