"""What the store hands out and how it is kept: keys and agents as values, the local identity,
the raw key's format and hash, and the row encoding (times as integer microseconds).

No SQL here: the queries are `key_store`'s, the tables `schema`'s.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from oz_tui.core.models import Agent, OwnerType, Team

KEY_PREFIX = "wk-1."
RAW_KEY_PATTERN = re.compile(r"wk-1\.[0-9a-f]{64}")
SECRET_PATTERN = re.compile(r"[0-9a-f]{64}")


class LocalIdentity(NamedTuple):
    """The one user of the local service, their workspace and its team."""

    user_uid: str = "local-user"
    display_name: str = "Local owner"
    email: str | None = None
    workspace_uid: str = "local-workspace"
    workspace_name: str = "Local workspace"
    teams: tuple[Team, ...] = (Team("local-team", "Local team"),)

    def team(self, uid: str) -> Team | None:
        return next((team for team in self.teams if team.uid == uid), None)


#: The name every team's default agent has in the local service.
DEFAULT_AGENT_NAME = "default-agent"


def default_agent_uid(team_uid: str) -> str:
    """The uid of a team's default agent: stable, so every store of a team agrees on it."""
    import uuid  # with hashlib, a few ms: only creating rows needs it

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"oz-keys:agent:{team_uid}:default"))


LOCAL_IDENTITY = LocalIdentity()


class StoredKey(NamedTuple):
    """A key row. Holds no secret: only the last four characters of the raw key."""

    uid: str
    name: str
    key_suffix: str
    owner_type: OwnerType
    team_uid: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    #: The agent an Agent key runs as (its team is `team_uid`); None for other keys.
    agent_uid: str | None = None
    #: That agent's name, when read from the store.
    agent_name: str | None = None


class StoredAgent(NamedTuple):
    """An agent row: one of a team's cloud agents."""

    uid: str
    name: str
    team_uid: str
    available: bool = True
    is_default: bool = False

    def to_agent(self) -> Agent:
        return Agent(uid=self.uid, name=self.name, available=self.available)


def hash_key(raw_key: str) -> str:
    """What is stored instead of the key. Keys carry 256 random bits, so a plain hash suffices."""
    import hashlib  # OpenSSL's, a few ms to load: only creating and authenticating need it

    return hashlib.sha256(raw_key.encode("ascii")).hexdigest()


def new_uid() -> str:
    import uuid

    return str(uuid.uuid4())


def default_token() -> str:
    import secrets

    return secrets.token_hex(32)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = value.astimezone(timezone.utc) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def row_to_agent(row: tuple) -> StoredAgent:
    uid, name, team_uid, available, is_default = row
    return StoredAgent(
        uid=uid, name=name, team_uid=team_uid, available=bool(available), is_default=bool(is_default)
    )


class DamagedRow(Exception):
    pass


def row_to_key(row: tuple) -> StoredKey:
    """A row as a key; `DamagedRow` when a column holds what oz-keys never writes there."""
    uid, name, suffix, owner, team_uid, created, last_used, expires, revoked, agent, agent_name = row
    if not all(isinstance(value, str) for value in (uid, name, suffix)):
        raise DamagedRow("a text column holds something else")
    if any(v is not None and not isinstance(v, str) for v in (team_uid, agent, agent_name)):
        raise DamagedRow("team_uid or an agent column is not text")
    try:
        owner_type = OwnerType(owner)
        times = [_checked_time(value) for value in (created, last_used, expires, revoked)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise DamagedRow(str(exc) or type(exc).__name__) from None
    if times[0] is None:
        raise DamagedRow("created_at is empty")
    return StoredKey(
        uid=uid,
        name=name,
        key_suffix=suffix,
        owner_type=owner_type,
        team_uid=team_uid,
        created_at=times[0],
        last_used_at=times[1],
        expires_at=times[2],
        revoked_at=times[3],
        agent_uid=agent,
        agent_name=agent_name,
    )


def _checked_time(value: object) -> datetime | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"a time column holds {type(value).__name__}")
    return from_micros(value)
