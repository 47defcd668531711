"""Asking the person at the terminal: yes or no, a line, and which key they mean.

`one_key` turns what was typed on the command line (a uid or a name) into one key, asking which
on a terminal when several share the name. Prompts go to stderr (stdout carries only results);
without a terminal nothing is asked. Shared by the subcommands that act on a key (expire,
rotate). No Textual here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from oz_tui.core.errors import NotFoundError
from oz_tui.core.models import ApiKey
from oz_tui.cli.base import UsageError, is_tty
from oz_tui.core.display import relative_time
from oz_tui.head_start import running_loop
from oz_tui.core.sanitize import safe_text

if TYPE_CHECKING:
    import asyncio

    from oz_tui.backend import KeyService
    from oz_tui.cli.output import Output


def resolve_target(keys: Sequence[ApiKey], target: str) -> list[ApiKey]:
    """The keys `target` may mean: an exact uid, else every key with that exact name, newest
    first. `NotFoundError` when none."""
    by_uid = [key for key in keys if key.uid == target]
    if by_uid:
        return by_uid[:1]
    by_name = [key for key in keys if key.name == target]
    if not by_name:
        raise NotFoundError(f"no active API key has the uid or name '{safe_text(target)}'")
    return sorted(by_name, key=lambda key: key.created_at, reverse=True)


def describe(key: ApiKey, now: datetime) -> str:
    """`name (uid, created 3 days ago)`: how a prompt names a key."""
    return (
        f"{safe_text(key.name)} ({safe_text(key.uid)}, "
        f"created {relative_time(key.created_at, now)})"
    )


async def confirm(question: str, stdin: TextIO, stderr: TextIO, *, default: bool = False) -> bool:
    """Ask a yes/no question on the terminal: y or yes is Yes; Enter alone means `default`;
    end of input (Ctrl-D) with nothing typed is No whatever the default."""
    answer = await ask(f"{question} {'[Y/n]' if default else '[y/N]'} ", stdin, stderr)
    word = answer.strip().lower()
    if not word:
        return default and answer.endswith("\n")
    return word in ("y", "yes")


async def ask(prompt: str, stdin: TextIO, stderr: TextIO) -> str:
    """Show `prompt` on stderr and read one line (empty at end of input)."""
    stderr.write(prompt)
    stderr.flush()
    answer = await _read_line(stdin)
    if not answer.endswith("\n"):
        stderr.write("\n")  # EOF (Ctrl-D): leave the cursor on a fresh line
        stderr.flush()
    return answer


async def _read_line(stdin: TextIO) -> str:
    """One line from the terminal without blocking the event loop.

    Waiting on the file descriptor (not in a worker thread) keeps Ctrl-C working: asyncio.run
    cancels this wait and the command ends with exit 130 at once.
    """
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return stdin.readline()  # not a real file (tests): it does not block
    loop = running_loop()
    if loop is None:
        # Run without an event loop (the in-process store): nothing else to do meanwhile, and
        # Ctrl-C interrupts the read.
        return os.read(fd, 4096).decode("utf-8", "replace")
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


class Cancelled(Exception):
    """The person left the picker without choosing."""


async def _pick(
    name: str, candidates: Sequence[ApiKey], now: datetime, stdin: TextIO, stderr: TextIO
) -> ApiKey:
    """On a terminal: which of several keys with one name (newest first)."""
    stderr.write(f"{len(candidates)} API keys are named '{safe_text(name)}' (newest first):\n")
    for number, key in enumerate(candidates, start=1):
        created = relative_time(key.created_at, now)
        used = relative_time(key.last_used_at, now, never="never")
        stderr.write(f"  {number}) {safe_text(key.uid)}  {safe_text(key.masked)}  "
                     f"created {created}, last used {used}\n")
    while True:
        answer = (await ask(f"Which one? [1-{len(candidates)}, Enter to cancel] ", stdin,
                            stderr)).strip()
        if not answer:
            raise Cancelled
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return candidates[int(answer) - 1]


async def explain_not_found(client: KeyService, error: NotFoundError) -> NotFoundError:
    """What to say when no listed key has the name: a service account (a Team or Agent key) lists
    only itself, so "no such key" would hide the reason it may not act on the key it named. The
    question costs a round trip only on this failure."""
    from oz_tui.core.errors import OzError

    try:
        account = await client.whoami()
    except OzError:
        return error
    if account.principal_type != "SERVICE_ACCOUNT":
        return error
    return NotFoundError(
        f"{error}: oz-keys is signed in with a service account's key (a Team or Agent key), "
        "which sees and may expire only itself; sign in with a Personal key"
    )


async def one_key(
    keys: Sequence[ApiKey], target: str, now: datetime, output: Output, stdin: TextIO
) -> ApiKey:
    """The one key `target` names. Several keys with that name: on a terminal the person picks
    (`Cancelled` if they don't); without one it's a `UsageError` naming their uids (on stderr: stdout holds
    only results)."""
    candidates = resolve_target(keys, target)
    if len(candidates) == 1:
        return candidates[0]
    if not is_tty(stdin):
        # One line on stderr, never a listing on stdout: a script piping stdout into a secret
        # store must store the result or nothing.
        raise UsageError(
            f"{len(candidates)} API keys are named '{safe_text(target)}'; pass one of their "
            "uids (newest first): "
            + ", ".join(
                f"{safe_text(key.uid)} (created {relative_time(key.created_at, now)})"
                for key in candidates
            )
        )
    return await _pick(target, candidates, now, stdin, output.stderr)
