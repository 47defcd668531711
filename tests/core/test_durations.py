"""Durations as Warp's CLI reads them (humantime's grammar)."""

from datetime import timedelta

import pytest

from oz_tui.core.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1w", timedelta(weeks=1)),
        ("1w 2d", timedelta(days=9)),
        ("1w2d", timedelta(days=9)),
        ("2 days", timedelta(days=2)),
        ("1M", timedelta(seconds=2_630_016)),
        ("1y", timedelta(days=365.25)),
        ("1h 30min", timedelta(minutes=90)),
        ("  3Days ", timedelta(days=3)),
    ],
)
def test_accepted_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "-1d", "1.5d", "0d", "1d garbage", "99999999y"])
def test_refused_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "30d" in message or "too long" in message


def test_format_duration_round_trips() -> None:
    for text in ("90d", "9d", "12h 30m", "1d 1s"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(parse_duration("1w 2d")) == "9d"
