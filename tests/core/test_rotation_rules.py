"""The rules shared by the panel's rotate and `oz-keys rotate` (oz_tui/core/rotation.py), and the
audit's reasons (oz_tui/core/audit.py): plain functions of a key, the account's teams and a clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oz_tui.core.models import ApiKey, Expiration, KeyScope, KeyType, Team
from oz_tui.core.audit import AuditPolicy, audit, reasons
from oz_tui.core.rotation import (
    RotationError,
    TeamChoiceNeeded,
    lifetime_words,
    owner_of,
    same_lifetime,
)

from determinism import FIXED_NOW

DAY = timedelta(days=1)
ENGINES, LOOMS = Team("team-1", "Engines"), Team("team-2", "Looms")


def key(scope: KeyScope = KeyScope.PERSONAL, **fields: object) -> ApiKey:
    values: dict[str, object] = {
        "uid": "k1", "name": "ci", "key_suffix": "abcd", "scope": scope,
        "created_at": FIXED_NOW - 10 * DAY,
    }
    values.update(fields)
    return ApiKey(**values)  # type: ignore[arg-type]


# -- lifetime ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_ago", "expires_in", "expected"),
    [
        (10 * DAY, 80 * DAY, 90 * DAY),  # a 90-day key, 10 days in: a fresh 90 days
        (2 * DAY, -DAY, DAY),  # already expired after one day's life: one day again
        (timedelta(hours=1), timedelta(hours=11), timedelta(hours=12)),
    ],
)
def test_the_new_key_repeats_the_old_keys_lifetime_from_now(
    created_ago: timedelta, expires_in: timedelta, expected: timedelta
) -> None:
    old = key(created_at=FIXED_NOW - created_ago, expires_at=FIXED_NOW + expires_in)
    assert same_lifetime(old, FIXED_NOW) == FIXED_NOW + expected


@pytest.mark.parametrize(
    ("span", "expected", "words"),
    [
        # The client stamps the expiry, the server the creation: a request apart...
        (90 * DAY - timedelta(seconds=1), 90 * DAY, "90d"),
        (timedelta(hours=12) - timedelta(seconds=2), timedelta(hours=12), "12h"),
        # ...or with clocks that disagree by minutes.
        (30 * DAY + timedelta(minutes=3), 30 * DAY, "30d"),
        (DAY - timedelta(minutes=20), DAY - timedelta(minutes=20), "23h 40m"),
        (timedelta(seconds=30), timedelta(seconds=30), "30s"),
    ],
)
def test_a_lifetime_is_read_to_the_hour_or_the_minute(
    span: timedelta, expected: timedelta, words: str
) -> None:
    old = key(created_at=FIXED_NOW - DAY, expires_at=FIXED_NOW - DAY + span)
    assert same_lifetime(old, FIXED_NOW) == FIXED_NOW + expected
    assert lifetime_words(old) == words


def test_never_expiring_stays_never_and_a_nonsense_lifetime_asks_for_a_choice() -> None:
    assert same_lifetime(key(), FIXED_NOW) is Expiration.NEVER
    assert lifetime_words(key()) == "never expires"
    assert lifetime_words(key(expires_at=FIXED_NOW + 80 * DAY)) == "90d"
    backwards = key(expires_at=FIXED_NOW - 20 * DAY)
    with pytest.raises(RotationError) as caught:
        same_lifetime(backwards, FIXED_NOW)
    assert caught.value.usage and "expiration" in caught.value.message


# -- the owner ---------------------------------------------------------------------------------


def test_personal_and_agent_keys_keep_their_owner() -> None:
    assert owner_of(key(), None).create_options() == {}
    agent = key(KeyScope.AGENT, agent_uid="agent-7", agent_name="deploy-bot")
    owner = owner_of(agent, None)
    assert owner.key_type is KeyType.AGENT and owner.create_options() == {"agent_uid": "agent-7"}
    assert owner.label == "Agent deploy-bot"


@pytest.mark.parametrize(
    ("teams", "team_id", "expected"),
    [
        ((ENGINES,), None, "team-1"),  # the only team
        ((ENGINES, LOOMS), "team-2", "team-2"),  # named, and one of the account's
        (None, "team-9", "team-9"),  # named, teams unknown: the server decides
    ],
)
def test_a_team_key_goes_to_the_named_or_only_team(
    teams: tuple[Team, ...] | None, team_id: str | None, expected: str
) -> None:
    owner = owner_of(key(KeyScope.TEAM), teams, team_id)
    assert owner.create_options() == {"team_id": expected}


def test_a_team_key_is_never_guessed_into_a_team() -> None:
    with pytest.raises(TeamChoiceNeeded) as several:
        owner_of(key(KeyScope.TEAM), (ENGINES, LOOMS))
    assert several.value.teams == (ENGINES, LOOMS) and several.value.usage
    for teams, team_id, words in (
        ((), None, "belongs to no team"),
        (None, None, "teams aren't known"),
        ((ENGINES,), "team-2", "not one of your teams"),
    ):
        with pytest.raises(RotationError, match=words):
            owner_of(key(KeyScope.TEAM), teams, team_id)


def test_refusals_for_keys_that_cannot_be_matched() -> None:
    with pytest.raises(RotationError, match="which agent") as no_agent:
        owner_of(key(KeyScope.AGENT, agent_name="bot"), None)
    assert not no_agent.value.usage
    with pytest.raises(RotationError, match="only to Team keys") as wrong_team:
        owner_of(key(), (ENGINES,), "team-1")
    assert wrong_team.value.usage


# -- audit reasons -------------------------------------------------------------------------------


def codes(found: ApiKey, policy: AuditPolicy = AuditPolicy()) -> list[str]:
    return [reason.code for reason in reasons(found, FIXED_NOW, policy)]


def test_audit_reasons_by_default_and_with_every_check() -> None:
    everything = AuditPolicy(never_expires=True, never_used=True)
    fresh = key(last_used_at=FIXED_NOW - DAY, expires_at=FIXED_NOW + 30 * DAY)
    assert codes(fresh) == [] and codes(fresh, everything) == []
    expiring = key(last_used_at=FIXED_NOW, expires_at=FIXED_NOW + 6 * DAY)
    assert codes(expiring) == ["expiring"]
    assert codes(expiring, AuditPolicy(expiring_within=5 * DAY)) == []
    expired = key(last_used_at=FIXED_NOW, expires_at=FIXED_NOW - DAY)
    assert codes(expired) == ["expired"]
    # Never used: idle since its creation, counted against the threshold.
    unused = key(created_at=FIXED_NOW - 91 * DAY)
    assert codes(unused) == ["idle"]
    assert codes(unused, everything) == ["never_expires", "never_used", "idle"]
    assert codes(unused, AuditPolicy(idle_for=100 * DAY)) == []
    [idle] = reasons(unused, FIXED_NOW, AuditPolicy())
    assert idle.message == "idle 91d (since created)"


def test_audit_keeps_the_order_and_only_keys_with_reasons() -> None:
    keys = [
        key(uid="a", last_used_at=FIXED_NOW, expires_at=FIXED_NOW + 3 * DAY),
        key(uid="b", last_used_at=FIXED_NOW, expires_at=FIXED_NOW + 60 * DAY),
        key(uid="c", created_at=FIXED_NOW - 400 * DAY, last_used_at=FIXED_NOW - 200 * DAY),
    ]
    found = audit(keys, FIXED_NOW, AuditPolicy())
    assert [finding.key.uid for finding in found] == ["a", "c"]
    assert found[1].to_json()["reasons"] == [
        {"code": "idle", "message": "idle 200d (since last used)"}
    ]
    assert AuditPolicy().describe() == "expiring within 7d, idle for 90d"
