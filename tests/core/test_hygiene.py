"""Key hygiene predicates, badges and the search box's qualifiers (oz_tui/core/hygiene.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.hygiene import (
    QUALIFIERS,
    BadgeKind,
    SearchFields,
    badges,
    created_within,
    days_left,
    expires_within,
    idle_for,
    is_expired,
    is_idle,
    never_expires,
    never_used,
    parse_query,
    time_left,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def key(
    name: str = "CI pipeline",
    *,
    uid: str = "k-0001",
    suffix: str = "ab12",
    scope: KeyScope = KeyScope.PERSONAL,
    created: timedelta = 30 * DAY,
    used: timedelta | None = DAY,
    expires: timedelta | None = 60 * DAY,
    agent: str | None = None,
) -> ApiKey:
    """A key created `created` ago, last used `used` ago, expiring in `expires`."""
    return ApiKey(
        uid=uid,
        name=name,
        key_suffix=suffix,
        scope=scope,
        created_at=NOW - created,
        last_used_at=None if used is None else NOW - used,
        expires_at=None if expires is None else NOW + expires,
        agent_name=agent,
        agent_uid=None if agent is None else f"agent-{agent}",
    )


# -- predicates ----------------------------------------------------------------------------------


def test_a_never_used_key_is_idle_since_its_creation() -> None:
    fresh = key(created=10 * DAY, used=None)
    old = key(created=200 * DAY, used=None)
    assert never_used(fresh) and never_used(old)
    assert idle_for(fresh, NOW) == 10 * DAY
    assert not is_idle(fresh, NOW)
    assert is_idle(old, NOW)
    assert is_idle(old, NOW, timedelta(days=200))
    assert not is_idle(old, NOW, timedelta(days=201))


def test_idle_counts_from_the_last_use() -> None:
    used_long_ago = key(created=400 * DAY, used=120 * DAY)
    used_recently = key(created=400 * DAY, used=timedelta(hours=2))
    assert not never_used(used_long_ago)
    assert idle_for(used_long_ago, NOW) == 120 * DAY
    assert is_idle(used_long_ago, NOW)
    assert not is_idle(used_recently, NOW)
    assert is_idle(used_recently, NOW, timedelta(hours=1))


def test_expiry_predicates() -> None:
    soon = key(expires=3 * DAY)
    later = key(expires=30 * DAY)
    never = key(expires=None)
    gone = key(expires=-timedelta(hours=1))
    assert expires_within(soon, NOW) and not expires_within(later, NOW)
    assert expires_within(later, NOW, 30 * DAY)
    assert not expires_within(never, NOW, 10_000 * DAY)
    # An expired key isn't "expiring": it is expired.
    assert not expires_within(gone, NOW) and is_expired(gone, NOW)
    assert not is_expired(soon, NOW) and not is_expired(never, NOW)
    assert never_expires(never) and not never_expires(soon)
    assert time_left(never, NOW) is None and time_left(soon, NOW) == 3 * DAY
    assert days_left(soon, NOW) == 3
    assert days_left(key(expires=timedelta(hours=5)), NOW) == 0
    assert days_left(gone, NOW) == -1
    assert days_left(never, NOW) is None


def test_created_within() -> None:
    assert created_within(key(created=2 * DAY), NOW, 7 * DAY)
    assert not created_within(key(created=8 * DAY), NOW, 7 * DAY)


# -- badges --------------------------------------------------------------------------------------


def kinds(api_key: ApiKey, **options: timedelta) -> list[BadgeKind]:
    return [badge.kind for badge in badges(api_key, NOW, **options)]


def test_badges_name_what_needs_attention() -> None:
    assert kinds(key()) == []
    assert kinds(key(expires=None)) == [BadgeKind.NEVER_EXPIRES]
    assert kinds(key(expires=2 * DAY)) == [BadgeKind.EXPIRING]
    assert kinds(key(expires=-DAY)) == [BadgeKind.EXPIRED]
    assert kinds(key(used=None, created=5 * DAY)) == [BadgeKind.NEVER_USED]
    assert kinds(key(used=None, created=120 * DAY, expires=None)) == [
        BadgeKind.NEVER_EXPIRES,
        BadgeKind.NEVER_USED,
        BadgeKind.IDLE,
    ]


def test_badge_labels_and_thresholds() -> None:
    labels = [b.label for b in badges(key(used=120 * DAY, created=300 * DAY), NOW)]
    assert labels == ["idle 120 days"]
    assert [b.label for b in badges(key(expires=2 * DAY), NOW)] == ["expiring soon"]
    assert kinds(key(used=10 * DAY), idle_after=7 * DAY) == [BadgeKind.IDLE]
    assert kinds(key(expires=20 * DAY), expiring_within=30 * DAY) == [BadgeKind.EXPIRING]
    one_day = badges(key(used=DAY), NOW, idle_after=DAY)
    assert [b.label for b in one_day] == ["idle 1 day"]


# -- search --------------------------------------------------------------------------------------

PERSONAL = key("Laptop CLI", uid="aa11-personal", suffix="1a2b", expires=None, used=None)
TEAM = key(
    "Staging deploy", uid="bb22-team", suffix="Zz99", scope=KeyScope.TEAM, created=2 * DAY,
    used=timedelta(hours=1), expires=3 * DAY,
)
AGENT = key(
    "Nightly runs", uid="cc33-agent", suffix="c0de", scope=KeyScope.AGENT, created=200 * DAY,
    used=100 * DAY, expires=90 * DAY, agent="Build Bot",
)
ALL = [PERSONAL, TEAM, AGENT]


def names(text: str) -> list[str]:
    query = parse_query(text)
    assert query.hints == (), query.hints
    return [k.name for k in query.filter(ALL, NOW)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["Laptop CLI", "Staging deploy", "Nightly runs"]),
        ("scope:personal", ["Laptop CLI"]),
        ("scope:Team", ["Staging deploy"]),
        ("SCOPE:agent", ["Nightly runs"]),
        ("agent:build", ["Nightly runs"]),
        ('agent:"build bot"', ["Nightly runs"]),
        ("agent:nobody", []),
        ("expires:<7d", ["Staging deploy"]),
        ("expires:<1w", ["Staging deploy"]),
        ("expires:<2d", []),
        ("expires:>30d", ["Nightly runs"]),
        ("expires:>1d", ["Staging deploy", "Nightly runs"]),
        ("expires:never", ["Laptop CLI"]),
        ("used:never", ["Laptop CLI"]),
        ("idle:>90d", ["Nightly runs"]),
        ("idle:>20d", ["Laptop CLI", "Nightly runs"]),  # never used: idle since created (30d)
        ("idle:<1d", ["Staging deploy"]),
        ("created:<7d", ["Staging deploy"]),
        ("created:>100d", ["Nightly runs"]),
        # Free text: name, agent's name, last four (bare or masked), start of the uid.
        ("laptop", ["Laptop CLI"]),
        ("DEPLOY", ["Staging deploy"]),
        ("bot", ["Nightly runs"]),
        ("zz99", ["Staging deploy"]),
        ("wk-**c0de", ["Nightly runs"]),
        ("WK-**1A2B", ["Laptop CLI"]),
        ("cc33", ["Nightly runs"]),
        ("bb22-team", ["Staging deploy"]),
        ('"staging deploy"', ["Staging deploy"]),
        # Every term and qualifier must hold.
        ("staging laptop", []),
        ("scope:team deploy", ["Staging deploy"]),
        ("scope:team laptop", []),
        ("used:never expires:never scope:personal", ["Laptop CLI"]),
    ],
)
def test_qualifiers_and_free_text(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_free_text_matches_last_four_exactly_not_within_the_uid() -> None:
    # "team" is inside a uid but doesn't start one, and is no key's last four.
    assert names("team") == []
    assert names("1a2") == []  # part of a last four is not a match (names don't hold it)


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("colour:red", "unknown qualifier colour:"),
        ("scope:robot", "scope:personal, scope:team or scope:agent"),
        ("expires:7d", "expires:<7d, expires:>30d or expires:never"),
        ("expires:<7x", "unknown unit 'x'"),
        ("expires:<", "empty duration"),
        ("expires:", "expires:<7d"),
        ("idle:>soon", "is not a duration"),
        ("idle:90d", "idle:>90d"),
        ("created:<0d", "no time at all"),
        ("used:yesterday", "used:never"),
        ("agent:", "agent: needs a name"),
        ('expires:"<7d', ""),  # an unclosed quote is read to the end: `<7d` is fine
    ],
)
def test_bad_input_gives_a_hint_never_an_exception(text: str, hint_part: str) -> None:
    query = parse_query(text)
    if hint_part:
        assert hint_part in query.hint
        assert "\n" not in query.hint
    else:
        assert query.hints == ()


def test_a_bad_qualifier_does_not_spoil_the_rest_of_the_query() -> None:
    query = parse_query("scope:team expires:<7x deploy")
    assert len(query.hints) == 1
    assert [k.name for k in query.filter(ALL, NOW)] == ["Staging deploy"]


def test_an_unknown_qualifier_is_still_searched_as_text() -> None:
    named = key("prod:eu deploy")
    query = parse_query("prod:eu")
    assert query.hint.startswith("unknown qualifier prod:")
    assert query.matches(named, NOW)
    assert not query.matches(PERSONAL, NOW)


@pytest.mark.parametrize(
    "text",
    ['"', '""', ":", "::", "a:", ":b", '"a" "b', "expires:<<7d", "x" * 5000, "\x1b[31m:red",
     "scope:" + "\u202e", "idle:>99999999999999999999y", "   "],
)
def test_odd_input_never_raises(text: str) -> None:
    query = parse_query(text)
    query.filter(ALL, NOW)


def test_empty_and_whitespace_queries_match_everything() -> None:
    assert parse_query("").empty and parse_query("   ").empty
    assert not parse_query("used:never").empty
    assert not parse_query("x").empty


def test_search_fields_are_casefolded_once() -> None:
    fields = SearchFields.of(AGENT)
    assert fields.contains("build bot") and fields.contains("c0de")
    assert parse_query("nightly").matches(AGENT, NOW, fields)


def test_every_qualifier_is_listed_for_the_help_screen() -> None:
    listed = {syntax.split(":")[0] for syntax, _meaning in QUALIFIERS}
    assert listed == {"scope", "agent", "expires", "used", "idle", "created"}
