"""Typed, immutable models of Warp's API key objects (no Textual, no I/O)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime. Injected wherever "now" matters."""


def system_clock() -> datetime:
    return datetime.now(timezone.utc)




class KeyScope(str, enum.Enum):
    """Who a key acts as; the wire's `ownerType` plus `agentInfo`."""

    PERSONAL = "Personal"
    TEAM = "Team"
    AGENT = "Agent"


class KeyType(str, enum.Enum):
    """What the create dialog offers. Expressed on the wire by which id is set: neither
    (Personal), `teamId` (Team, the older form) or `agentUid` (Agent)."""

    PERSONAL = "Personal"
    TEAM = "Team"
    AGENT = "Agent"


class OwnerType(str, enum.Enum):
    USER = "User"
    TEAM = "Team"


class Expiration(enum.Enum):
    """The expiration choices of Warp's create dialog, in its order.

    Not an enum on the wire: the client turns a choice into `expiresAt = now + N days`.
    """

    DAYS_90 = ("90d", "90 days", 90)
    DAYS_30 = ("30d", "30 days", 30)
    DAY_1 = ("1d", "1 day", 1)
    NEVER = ("never", "Never", None)

    def __init__(self, code: str, label: str, days: int | None) -> None:
        self.code = code
        self.label = label
        self.days = days

    def expires_at(self, now: datetime) -> datetime | None:
        return None if self.days is None else now + timedelta(days=self.days)

    @classmethod
    def from_code(cls, code: str) -> Expiration:
        for choice in cls:
            if choice.code == code:
                return choice
        raise ValueError(
            f"unknown expiration {code!r}; choose one of " + ", ".join(c.code for c in cls)
        )


def check_key_owner(team_id: str | None, agent_uid: str | None) -> None:
    """A key is a team key or an agent key (or personal), never both."""
    if team_id and agent_uid:
        raise ValueError("a key is a team key or an agent key, not both")


def expiry_time(expiration: Expiration | datetime, now: datetime) -> datetime | None:
    """When a key created `now` with `expiration` (a dialog choice or an aware datetime)
    expires; None for never."""
    if isinstance(expiration, Expiration):
        return expiration.expires_at(now)
    if isinstance(expiration, datetime):
        if expiration.tzinfo is None or expiration.utcoffset() is None:
            raise ValueError("expiration must be an aware datetime (with a time zone)")
        return expiration
    raise TypeError(f"expiration must be an Expiration or a datetime, not {expiration!r}")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as listed: never holds the secret, only its last four characters."""

    uid: str
    name: str
    key_suffix: str
    scope: KeyScope
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    agent_name: str | None = None
    agent_uid: str | None = None

    @property
    def masked(self) -> str:
        return f"wk-**{self.key_suffix}"

    @property
    def owner_scope(self) -> str:
        """"Personal" or "Team", from the owner type alone, as Warp's CLI writes `scope`: an
        Agent key is owned by its team, so it is "Team" there (`agent` says which agent)."""
        return "Personal" if self.scope is KeyScope.PERSONAL else "Team"

    def to_json(self) -> dict[str, Any]:
        """The shape of `oz api-key list --output-format json` items, plus `agent`."""
        return {
            "uid": self.uid,
            "name": self.name,
            "key_suffix": self.key_suffix,
            "scope": self.owner_scope,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "expires_at": _iso(self.expires_at),
            "agent": (
                {"uid": self.agent_uid, "name": self.agent_name}
                if self.scope is KeyScope.AGENT
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """The answer to a create: the listed key plus the raw secret, shown once."""

    api_key: ApiKey
    raw_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"CreatedKey(api_key={self.api_key!r}, raw_key='{self.api_key.masked}')"

    def to_json(self) -> dict[str, Any]:
        return {"raw_api_key": self.raw_key, "api_key": self.api_key.to_json()}


@dataclass(frozen=True, slots=True)
class Agent:
    """One of the team's cloud agents (`GET /api/v1/agent/identities`); an Agent key runs as it."""

    uid: str
    name: str
    available: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "name": self.name, "available": self.available}


@dataclass(frozen=True, slots=True)
class Team:
    uid: str
    name: str


@dataclass(frozen=True, slots=True)
class Workspace:
    uid: str
    name: str
    teams: tuple[Team, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    """Who the credential acts as (`user` query)."""

    uid: str
    display_name: str | None
    email: str | None
    workspaces: tuple[Workspace, ...] = ()
    api_key_owner_type: OwnerType | None = None
    principal_type: str = "USER"

    @property
    def teams(self) -> tuple[Team, ...]:
        return tuple(team for ws in self.workspaces for team in ws.teams)

    @property
    def label(self) -> str:
        return self.email or self.display_name or self.uid

    @property
    def credential_kind(self) -> str:
        """How the request was authenticated: a personal key, a team key, or a session."""
        if self.api_key_owner_type is OwnerType.USER:
            return "personal key"
        if self.api_key_owner_type is OwnerType.TEAM:
            return "team key"
        return "session"

    @property
    def principal(self) -> str:
        """`user` or `service_account`, as Warp's `oz whoami` writes `type`."""
        return "service_account" if self.principal_type == "SERVICE_ACCOUNT" else "user"

    def to_json(self) -> dict[str, Any]:
        """Warp's `oz whoami` fields first, then oz-keys' fuller picture (every workspace)."""
        first = self.workspaces[0] if self.workspaces else None
        return {
            "uid": self.uid,
            "type": self.principal,
            "display_name": self.display_name,
            "email": self.email,
            "team_uids": [team.uid for team in self.teams],
            "team_names": [team.name for team in self.teams],
            "workspace_uid": first.uid if first else None,
            "workspace_name": first.name if first else None,
            "email": self.email,
            "principal_type": self.principal_type,
            "api_key_owner_type": (
                self.api_key_owner_type.value if self.api_key_owner_type else None
            ),
            "workspaces": [
                {
                    "uid": ws.uid,
                    "name": ws.name,
                    "teams": [{"uid": t.uid, "name": t.name} for t in ws.teams],
                }
                for ws in self.workspaces
            ],
        }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as `Time` is sent on the wire."""
    return _iso(value)  # type: ignore[return-value]


def credential_hint(credential: str | None) -> str | None:
    """The credential as it may be shown: `wk-**abcd`, never more (None without one)."""
    if not credential:
        return None
    # A short (malformed) credential would be given away whole by its last four characters.
    if len(credential) < 12:
        return "wk-**"
    return f"wk-**{credential[-4:]}"


def credential_matches(credential: str | None, key: ApiKey) -> bool:
    """Whether `key` may be the credential in use: its last four characters are the key's
    suffix (all a listing shows of a key). A too-short credential matches nothing."""
    return bool(credential) and len(credential) >= 12 and credential[-4:] == key.key_suffix


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 `Time`; naive values are rejected, not guessed. Raises ValueError,
    also for a time that is out of range once in UTC (year 9999 with a negative offset)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"time out of range: {text!r}") from None
