"""Rotating a key: a new key like the old one, shown once, then the old one expired.

"Like the old one": the same name, the same owner (Personal; the same agent; the same team) and,
unless told otherwise, the same lifetime length the old key had when it was made
(`expires_at - created_at`, counted from now; a never-expiring key stays never-expiring).

Warp's key list says which agent an Agent key runs as, but not which team a Team key belongs to.
So a Team key is rotated into the team the caller names (`--team-id`, or the panel's team
picker), else into the account's only team; with several teams and none named, rotation refuses
rather than guess, and with no team it can't make a Team key at all.

Shared by the panel's rotate dialog and `oz-keys rotate`. No Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oz_tui.core.models import ApiKey, Expiration, KeyScope, KeyType, Team
from oz_tui.core.durations import format_duration
from oz_tui.core.sanitize import safe_text


class RotationError(Exception):
    """This key can't be rotated as asked; the message says why, in one line.

    `usage`: the caller can still rotate it by asking differently (choosing a team or an
    expiration, dropping a team from a key that has none); otherwise the account or the key's
    data is what stops it.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class TeamChoiceNeeded(RotationError):
    """A Team key, an account with several teams, and no team named: the caller must pick."""

    def __init__(self, key: ApiKey, teams: Sequence[Team]) -> None:
        super().__init__(
            f"'{safe_text(key.name)}' is a Team key and your account has {len(teams)} teams; "
            "Warp's key list doesn't say which one it belongs to",
            usage=True,
        )
        self.teams = tuple(teams)


def lifetime(key: ApiKey) -> timedelta | None:
    """How long `key` was made to last (`expires_at - created_at`); None when it never expires.

    Rounded: the client stamps the expiry (now + 90 days) and the server the creation, from two
    clocks a request apart, so a 90-day key measures 89d 23h 59m 59s, or a few minutes over when
    the clocks disagree. A day or more is rounded to the hour, less to the minute."""
    if key.expires_at is None:
        return None
    span = key.expires_at - key.created_at
    if span <= timedelta(0):
        raise RotationError(
            f"'{safe_text(key.name)}' expires no later than it was created, so its lifetime "
            "can't be repeated; choose the new key's expiration",
            usage=True,
        )
    step = timedelta(hours=1) if span >= timedelta(days=1) else timedelta(minutes=1)
    if span < step:
        return span  # under a minute: nothing to round to
    return step * round(span / step)


def same_lifetime(key: ApiKey, now: datetime) -> Expiration | datetime:
    """The new key's expiration when it repeats `key`'s lifetime from `now`."""
    span = lifetime(key)
    return Expiration.NEVER if span is None else now + span


def lifetime_words(key: ApiKey) -> str:
    """`key`'s lifetime for people: "90d", "12h 30m", or "never expires"."""
    span = lifetime(key)
    return "never expires" if span is None else format_duration(span)


@dataclass(frozen=True, slots=True)
class Owner:
    """Whom a new key belongs to: nobody else (Personal), a team, or an agent."""

    key_type: KeyType
    team: Team | None = None
    agent_uid: str | None = None
    agent_name: str | None = None

    def create_options(self) -> dict[str, Any]:
        """The owner as `create_key`'s keyword arguments."""
        if self.team is not None:
            return {"team_id": self.team.uid}
        if self.agent_uid is not None:
            return {"agent_uid": self.agent_uid}
        return {}

    @property
    def label(self) -> str:
        """"Personal", "Team Platform", "Agent deploy-bot" (names made terminal-safe)."""
        if self.team is not None:
            return f"Team {safe_text(self.team.name, max_length=60)}"
        if self.key_type is KeyType.AGENT:
            return f"Agent {safe_text(self.agent_name or self.agent_uid or '?', max_length=60)}"
        return "Personal"


def owner_of(key: ApiKey, teams: Sequence[Team] | None, team_id: str | None = None) -> Owner:
    """The owner a replacement for `key` gets.

    Args:
        key: The key being rotated.
        teams: The account's teams, or None when they aren't known.
        team_id: The team a Team key belongs to, when the caller knows it.

    Raises:
        TeamChoiceNeeded: a Team key, several teams, no `team_id`.
        RotationError: anything else that stops it (no team, an unknown team, an agent with
            no uid, `team_id` for a key that isn't a Team key).
    """
    if team_id and key.scope is not KeyScope.TEAM:
        raise RotationError(
            f"'{safe_text(key.name)}' is a {key.scope.value} key; a team applies only to Team keys",
            usage=True,
        )
    if key.scope is KeyScope.PERSONAL:
        return Owner(KeyType.PERSONAL)
    if key.scope is KeyScope.AGENT:
        if not key.agent_uid:
            raise RotationError(
                f"the server didn't say which agent '{safe_text(key.name)}' runs as, so it "
                "can't be replaced by a key for the same agent"
            )
        return Owner(KeyType.AGENT, agent_uid=key.agent_uid, agent_name=key.agent_name)
    return Owner(KeyType.TEAM, team=_team_of(key, teams, team_id))


def _team_of(key: ApiKey, teams: Sequence[Team] | None, team_id: str | None) -> Team:
    if team_id:
        for team in teams or ():
            if team.uid == team_id:
                return team
        if teams is None:
            return Team(uid=team_id, name=team_id)  # the server checks it
        raise RotationError(f"'{safe_text(team_id)}' is not one of your teams")
    if teams is None:
        raise RotationError(
            "your teams aren't known (the account couldn't be loaded), so the Team key's "
            "team can't be chosen"
        )
    if not teams:
        raise RotationError(
            f"'{safe_text(key.name)}' is a Team key but your account belongs to no team"
        )
    if len(teams) > 1:
        raise TeamChoiceNeeded(key, teams)
    return teams[0]


def still_active_message(old: ApiKey, reason: str) -> str:
    """What to say when the new key exists but expiring the old one failed."""
    return (
        f"the new key was created, but the old key '{safe_text(old.name, max_length=60)}' "
        f"(uid {safe_text(old.uid)}) is still active: {reason}"
    )
