"""How times and keys read to a person, shared by the panel and the CLI (no Textual imports)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone, tzinfo

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.sanitize import safe_text

#: A key that expires within this window is flagged in the table.
EXPIRING_SOON = timedelta(days=7)
#: An agent key's scope reads "Agent · <agent name>", the name cut to this many characters.
AGENT_NAME_MAX = 24


def relative_time(when: datetime | None, now: datetime, *, never: str = "Never") -> str:
    """`when` (in the past) as "just now", "5 minutes ago", "3 days ago", "2 months ago"."""
    if when is None:
        return never
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -60 else _until(-seconds)
    return _ago(seconds)


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    return f"{_span(seconds)} ago"


def _until(seconds: float) -> str:
    return f"in {_span(seconds)}"


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours = int(seconds // 3600)
    days = int(seconds // 86400)
    for amount, unit in (
        (days // 365, "year"),
        (days // 30, "month"),
        (days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
    ):
        if amount >= 1:
            return f"{amount} {unit}{'' if amount == 1 else 's'}"
    return "1 minute"


def scope_label(key: ApiKey) -> str:
    """A key's scope for people: Personal, Team, or for an Agent key the agent's name too
    ("Agent · deploy-bot"), sanitised and cut so one long name can't widen a column much."""
    if key.scope is KeyScope.AGENT and key.agent_name:
        return f"{key.scope.value} · {_agent_name(key.agent_name)}"
    return key.scope.value


@functools.lru_cache(maxsize=1024)
def _agent_name(name: str) -> str:
    # A team has a few agents, each named again on every one of its keys' rows.
    return safe_text(name, max_length=AGENT_NAME_MAX)


def date_label(when: datetime | None, *, never: str = "Never") -> str:
    """A calendar date like "Jan 5, 2027" (UTC), or `never`."""
    if when is None:
        return never
    return f"{when:%b} {when.day}, {when.year}"


def exact_time(when: datetime, zone: tzinfo | None = None) -> str:
    """`when` to the second in `zone` (None: this machine's zone) and, unless that is UTC, in
    UTC too: "2026-11-24 13:00:00 CET · 2026-11-24 12:00:00 UTC"."""
    utc = when.astimezone(timezone.utc)
    local = when.astimezone(zone) if zone is not None else when.astimezone()
    utc_text = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    if local.utcoffset() == timedelta(0):
        return utc_text
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or local.strftime('%z')} · {utc_text}"


def expiring_soon(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now <= expires_at <= now + EXPIRING_SOON


def quoted_name(name: str, max_length: int = 60) -> str:
    """A key's name in curly quotes for a message ("“ci-deploy”"), terminal-safe and cut."""
    return f"“{safe_text(name, max_length=max_length)}”"


#: Status-line source of the in-memory demo data set.
DEMO_SOURCE = "Demo data (in memory)"


def local_source(db_path: str) -> str:
    """Status-line source of the local key service keeping its keys in `db_path`."""
    return f"Local key service · {db_path}"


def server_host(server_root: str) -> str:
    """`host[:port]` of a server root URL, for people: never any user:password part."""
    from urllib.parse import urlsplit

    try:
        netloc = urlsplit(server_root).netloc.rpartition("@")[2]
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return server_root
    return netloc or server_root
