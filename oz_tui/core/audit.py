"""Which keys need attention, and why: what `oz-keys audit` reports.

Built on the hygiene predicates (`oz_tui.core.hygiene`), so "idle" and "expiring" mean here what they
mean in the panel's badges and search box. No Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oz_tui.core.models import ApiKey
from oz_tui.core.display import date_label, relative_time
from oz_tui.core.durations import format_duration
from oz_tui.core.hygiene import (
    DEFAULT_EXPIRING,
    DEFAULT_IDLE,
    expires_within,
    idle_for,
    is_expired,
    is_idle,
    never_expires,
    never_used,
)


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    """What counts as needing attention. Expiring and idle keys always do; keys that never
    expire and keys never used only when asked."""

    expiring_within: timedelta = DEFAULT_EXPIRING
    idle_for: timedelta = DEFAULT_IDLE
    never_expires: bool = False
    never_used: bool = False

    def describe(self) -> str:
        """The checks in words, for a "nothing found" line."""
        parts = [
            f"expiring within {format_duration(self.expiring_within)}",
            f"idle for {format_duration(self.idle_for)}",
        ]
        if self.never_expires:
            parts.append("never expiring")
        if self.never_used:
            parts.append("never used")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a key needs attention: a stable `code` for scripts, a `message` for people."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Finding:
    key: ApiKey
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        """The key as `list` prints it, plus its reasons."""
        return {**self.key.to_json(), "reasons": [reason.to_json() for reason in self.reasons]}


def reasons(key: ApiKey, now: datetime, policy: AuditPolicy) -> tuple[Reason, ...]:
    """Why `key` needs attention under `policy` (empty when it doesn't), most urgent first."""
    found: list[Reason] = []
    if is_expired(key, now):
        assert key.expires_at is not None
        found.append(Reason("expired", f"expired {relative_time(key.expires_at, now)}"))
    elif expires_within(key, now, policy.expiring_within):
        assert key.expires_at is not None
        found.append(
            Reason(
                "expiring",
                f"expires {relative_time(key.expires_at, now)} ({date_label(key.expires_at)})",
            )
        )
    if policy.never_expires and never_expires(key):
        found.append(Reason("never_expires", "never expires"))
    if policy.never_used and never_used(key):
        found.append(Reason("never_used", "never used"))
    if is_idle(key, now, policy.idle_for):
        idle = _whole_days_or_minutes(idle_for(key, now))
        since = "created" if never_used(key) else "last used"
        found.append(Reason("idle", f"idle {idle} (since {since})"))
    return tuple(found)


def _whole_days_or_minutes(span: timedelta) -> str:
    """"120d" for a long span (hours don't matter then), "5h 30m" below a day."""
    if span >= timedelta(days=1):
        return format_duration(timedelta(days=span.days))
    if span >= timedelta(minutes=1):
        return format_duration(timedelta(minutes=span // timedelta(minutes=1)))
    return "under a minute"


def audit(keys: Iterable[ApiKey], now: datetime, policy: AuditPolicy) -> list[Finding]:
    """The keys that need attention, in the order given, each with its reasons."""
    findings = []
    for key in keys:
        found = reasons(key, now, policy)
        if found:
            findings.append(Finding(key, found))
    return findings
