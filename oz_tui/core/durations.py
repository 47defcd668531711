"""Human durations as Warp's `oz` CLI reads them (`90m`, `12h`, `30d`, `1w 2d`).

Warp's CLI parses `--expires-in` with Rust's `humantime`: a sequence of `<number><unit>` pieces,
spaces between them optional, each unit one of the names below; a month is 30.44 days and a year
365.25 days, as there. Used by `create --expires-in`, `rotate`, `audit` and the search box's
qualifiers, so every place accepts the same words. No Textual, no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta

_SECOND = 1
_MINUTE = 60
_HOUR = 3600
_DAY = 86400

#: Unit name -> seconds. Case matters only for `M` (months) against `m` (minutes), as in humantime.
UNITS: dict[str, float] = {
    **dict.fromkeys(("nanos", "nsec", "ns"), 1e-9),
    **dict.fromkeys(("usec", "us", "µs"), 1e-6),
    **dict.fromkeys(("millis", "msec", "ms"), 1e-3),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), _SECOND),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), _MINUTE),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), _HOUR),
    **dict.fromkeys(("days", "day", "d"), _DAY),
    **dict.fromkeys(("weeks", "week", "wks", "wk", "w"), 7 * _DAY),
    **dict.fromkeys(("months", "month", "M"), 2_630_016),
    **dict.fromkeys(("years", "year", "y"), 31_557_600),
}

#: What an error names as accepted, shortest first.
ACCEPTED_FORMS = "a number and a unit (m, h, d, w, M, y; e.g. 90m, 12h, 30d, 1w), or several (1w 2d)"

_PIECE = re.compile(r"\s*(\d+)\s*([^\d\s]+)")
#: Larger than any expiry a server keeps; also keeps `timedelta` from overflowing.
MAX_SECONDS = 10_000 * 365 * _DAY


class DurationError(ValueError):
    """A duration that can't be read; the message says what is accepted."""


def parse_duration(text: str) -> timedelta:
    """`text` as a positive duration, or `DurationError` naming the accepted forms."""
    source = text.strip()
    if not source:
        raise DurationError(f"empty duration; use {ACCEPTED_FORMS}")
    total = 0.0
    position = 0
    while position < len(source):
        match = _PIECE.match(source, position)
        if match is None:
            raise DurationError(f"{text.strip()!r} is not a duration; use {ACCEPTED_FORMS}")
        number, unit = match.groups()
        seconds = UNITS.get(unit)
        if seconds is None:
            seconds = UNITS.get(unit.lower()) if unit.lower() != "m" else None
        if seconds is None:
            raise DurationError(
                f"unknown unit {unit!r} in {text.strip()!r}; use {ACCEPTED_FORMS}"
            )
        total += int(number) * seconds
        if total > MAX_SECONDS:
            raise DurationError(f"{text.strip()!r} is too long a duration")
        position = match.end()
    if total <= 0:
        raise DurationError(f"{text.strip()!r} is no time at all; use {ACCEPTED_FORMS}")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """`value` in whole days, hours, minutes and seconds, as `parse_duration` reads them back:
    `90d`, `9d`, `12h 30m` (no weeks or months: a key's lifetime reads best in days)."""
    remaining = int(value.total_seconds())
    if remaining <= 0:
        return "0s"
    parts: list[str] = []
    for unit, seconds in (("d", _DAY), ("h", _HOUR), ("m", _MINUTE), ("s", 1)):
        count, remaining = divmod(remaining, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
