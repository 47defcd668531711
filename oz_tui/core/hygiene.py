"""Key hygiene: which keys need attention, and the search box's qualifiers.

Plain functions of a key and an injected `now` (no Textual, no I/O), shared by the panel (details
badges, the search box) and the CLI (`audit`), so a key is "idle" or "expiring" in one sense
everywhere.

- Predicates: `never_used`, `idle_for` / `is_idle` (a never-used key is idle since its creation),
  `time_left` / `is_expired` / `expires_within`, `never_expires`, `created_within`.
- `badges(key, now)`: the short labels a person sees ("never used", "idle 120 days", ...).
- `parse_query(text)`: GitHub-style qualifiers and free text → a `Query` whose `matches(key, now)`
  filters a list, and whose `hints` say (one line each) what was not understood. Parsing never
  raises: an unknown qualifier or a bad duration is a hint, and the rest of the query still works.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, NamedTuple

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.display import EXPIRING_SOON
from oz_tui.core.durations import DurationError, parse_duration

#: A key unused for this long is flagged idle (the audit's default too).
DEFAULT_IDLE = timedelta(days=90)
#: A key expiring within this window is flagged (the table's "soon" window).
DEFAULT_EXPIRING = EXPIRING_SOON

# -- predicates ----------------------------------------------------------------------------------


def never_used(key: ApiKey) -> bool:
    return key.last_used_at is None


def idle_for(key: ApiKey, now: datetime) -> timedelta:
    """How long since the key was last used; a never-used key is idle since its creation."""
    since = key.last_used_at or key.created_at
    return max(now - since, timedelta(0))


def is_idle(key: ApiKey, now: datetime, threshold: timedelta = DEFAULT_IDLE) -> bool:
    """True when the key has gone unused for at least `threshold`."""
    return idle_for(key, now) >= threshold


def never_expires(key: ApiKey) -> bool:
    return key.expires_at is None


def time_left(key: ApiKey, now: datetime) -> timedelta | None:
    """Until the key expires (negative once expired); None when it never expires."""
    return None if key.expires_at is None else key.expires_at - now


def is_expired(key: ApiKey, now: datetime) -> bool:
    return key.expires_at is not None and key.expires_at < now


def expires_within(key: ApiKey, now: datetime, window: timedelta = DEFAULT_EXPIRING) -> bool:
    """True when the key is still valid and expires within `window` (an expired key is not
    "expiring": see `is_expired`)."""
    return key.expires_at is not None and now <= key.expires_at <= now + window


def created_within(key: ApiKey, now: datetime, window: timedelta) -> bool:
    return now - key.created_at <= window


def days_left(key: ApiKey, now: datetime) -> int | None:
    """Whole days until expiry (0 on its last day, negative once expired); None if never."""
    left = time_left(key, now)
    if left is None:
        return None
    return left.days  # floor: -1 as soon as it has expired


# -- badges --------------------------------------------------------------------------------------


class BadgeKind(str, enum.Enum):
    NEVER_USED = "never_used"
    IDLE = "idle"
    EXPIRED = "expired"
    EXPIRING = "expiring"
    NEVER_EXPIRES = "never_expires"


class Badge(NamedTuple):
    kind: BadgeKind
    label: str


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def badges(
    key: ApiKey,
    now: datetime,
    *,
    idle_after: timedelta = DEFAULT_IDLE,
    expiring_within: timedelta = DEFAULT_EXPIRING,
) -> tuple[Badge, ...]:
    """What stands out about a key, most urgent first: expired / expiring soon, never expires,
    never used, idle N days (only at `idle_after` or more)."""
    found: list[Badge] = []
    left = time_left(key, now)
    if left is None:
        found.append(Badge(BadgeKind.NEVER_EXPIRES, "never expires"))
    elif left < timedelta(0):
        found.append(Badge(BadgeKind.EXPIRED, "expired"))
    elif left <= expiring_within:
        found.append(Badge(BadgeKind.EXPIRING, "expiring soon"))
    if never_used(key):
        found.append(Badge(BadgeKind.NEVER_USED, "never used"))
    idle = idle_for(key, now)
    if idle >= idle_after:
        found.append(Badge(BadgeKind.IDLE, f"idle {_days(idle.days)}"))
    return tuple(found)


# -- search qualifiers ---------------------------------------------------------------------------

#: The qualifiers, as the help screen lists them: (syntax, meaning).
QUALIFIERS: tuple[tuple[str, str], ...] = (
    ("scope:personal|team|agent", "keys of that scope"),
    ("agent:NAME", "Agent keys whose agent's name contains NAME"),
    ("expires:<7d", "still valid, expiring within 7 days"),
    ("expires:>30d", "expiring more than 30 days from now"),
    ("expires:never", "keys that never expire"),
    ("used:never", "keys never used"),
    ("idle:>90d", "unused for over 90 days (never used: since created)"),
    ("created:<7d", "created within the last 7 days"),
)
#: What free text matches (for the help screen).
FREE_TEXT_HELP = (
    "Other words match the name, the agent's name, the key's last four (abcd or wk-**abcd) "
    "or the start of the uid."
)
Condition = Callable[[ApiKey, datetime], bool]
#: How a masked key starts (`ApiKey.masked`), casefolded.
_MASK_PREFIX = "wk-**"


class SearchFields(NamedTuple):
    """A key's searchable text, casefolded once (a table keeps these per key). A tuple: 10,000
    of them are built on a search's first keystroke."""

    name: str
    agent: str
    uid: str
    suffix: str
    masked: str

    @classmethod
    def of(cls, key: ApiKey) -> SearchFields:
        agent = key.agent_name
        suffix = key.key_suffix.casefold()
        return cls(
            key.name.casefold(),
            agent.casefold() if agent else "",
            key.uid.casefold(),
            suffix,
            _MASK_PREFIX + suffix,
        )

    def contains(self, term: str) -> bool:
        """`term` (casefolded) is in the name or agent's name, is the key's last four or its
        masked form (`wk-**abcd`), or starts the uid."""
        name, agent, uid, suffix, masked = self
        return (
            term in name
            or term in agent
            or term == suffix
            or term == masked
            or uid.startswith(term)
        )


@dataclass(frozen=True)
class Query:
    """A parsed search: every free-text term and every condition must hold."""

    terms: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = field(default=(), repr=False)
    hints: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the query filters nothing out."""
        return not self.terms and not self.conditions

    @property
    def hint(self) -> str:
        """The hints as one line ("" when all was understood)."""
        return " · ".join(self.hints)

    def matches(self, key: ApiKey, now: datetime, fields: SearchFields | None = None) -> bool:
        if self.terms:
            # SearchFields.contains, unrolled: this runs per key on every keystroke.
            name, agent, uid, suffix, masked = fields or SearchFields.of(key)
            for term in self.terms:
                if not (
                    term in name
                    or term in agent
                    or term == suffix
                    or term == masked
                    or uid.startswith(term)
                ):
                    return False
        for condition in self.conditions:
            if not condition(key, now):
                return False
        return True

    def filter(self, keys: Iterable[ApiKey], now: datetime) -> list[ApiKey]:
        return [key for key in keys if self.matches(key, now)]


#: A token: an optional `name:` then a quoted or bare value; or a quoted phrase; or a word.
_TOKEN = re.compile(
    r'(?:(?P<name>[A-Za-z][\w-]*):(?:"(?P<qvalue>[^"]*)"?|(?P<value>\S*)))'
    r'|"(?P<phrase>[^"]*)"?'
    r"|(?P<word>\S+)"
)
_COMPARISON = re.compile(r"(?P<op>[<>])(?P<duration>.*)", re.DOTALL)
_SCOPES = {scope.value.casefold(): scope for scope in KeyScope}


def parse_query(text: str) -> Query:
    """The search box's text as a `Query`. Never raises: what can't be read becomes a hint."""
    terms: list[str] = []
    conditions: list[Condition] = []
    hints: list[str] = []
    for match in _TOKEN.finditer(text):
        name = match.group("name")
        if name is None:
            term = match.group("phrase") if match.group("word") is None else match.group("word")
            if term and term.strip():
                terms.append(term.strip().casefold())
            continue
        value = match.group("qvalue")
        if value is None:
            value = match.group("value")
        qualifier = name.casefold()
        reader = _READERS.get(qualifier)
        if reader is None:
            # Not a qualifier: still searched as text (names may hold colons), and said so.
            terms.append(f"{name}:{value}".casefold())
            hints.append(f"unknown qualifier {name}: (known: {_KNOWN})")
            continue
        try:
            conditions.append(reader(value.strip()))
        except _HintError as error:
            hints.append(str(error))
    return Query(tuple(terms), tuple(conditions), tuple(hints))


class _HintError(ValueError):
    """A qualifier's value that can't be read; the message is the hint."""


def _read_scope(value: str) -> Condition:
    scope = _SCOPES.get(value.casefold())
    if scope is None:
        raise _HintError(f"scope:{value} — use scope:personal, scope:team or scope:agent")
    return lambda key, _now: key.scope is scope


def _read_agent(value: str) -> Condition:
    if not value:
        raise _HintError('agent: needs a name, e.g. agent:builder or agent:"nightly runs"')
    needle = value.casefold()
    return lambda key, _now: key.agent_name is not None and needle in key.agent_name.casefold()


def _comparison(qualifier: str, value: str, example: str) -> tuple[str, timedelta]:
    """`<7d` / `>30d` as ("<" or ">", duration); a hint naming `example` otherwise."""
    match = _COMPARISON.fullmatch(value)
    if match is None:
        raise _HintError(f"{qualifier}:{value} — use {example}")
    op = match.group("op")
    try:
        duration = parse_duration(match.group("duration"))
    except DurationError as error:
        # What was wrong, then a short example (the full list of units is too long for a hint).
        reason = str(error).split("; use ")[0]
        example = f"{qualifier}:{op}7d, {op}12h, {op}1w"
        raise _HintError(f"{qualifier}: {reason}; e.g. {example}") from None
    return op, duration


def _read_expires(value: str) -> Condition:
    if value.casefold() == "never":
        return lambda key, _now: key.expires_at is None
    op, window = _comparison("expires", value, "expires:<7d, expires:>30d or expires:never")
    if op == "<":
        return lambda key, now: key.expires_at is not None and now <= key.expires_at < now + window
    return lambda key, now: key.expires_at is not None and key.expires_at > now + window


def _read_used(value: str) -> Condition:
    if value.casefold() != "never":
        raise _HintError(f"used:{value} — use used:never (or idle:>90d)")
    return lambda key, _now: key.last_used_at is None


def _read_idle(value: str) -> Condition:
    op, threshold = _comparison("idle", value, "idle:>90d or idle:<7d")
    if op == ">":
        return lambda key, now: idle_for(key, now) > threshold
    return lambda key, now: idle_for(key, now) < threshold


def _read_created(value: str) -> Condition:
    op, window = _comparison("created", value, "created:<7d or created:>90d")
    if op == "<":
        return lambda key, now: now - key.created_at < window
    return lambda key, now: now - key.created_at > window


_READERS: dict[str, Callable[[str], Condition]] = {
    "scope": _read_scope,
    "agent": _read_agent,
    "expires": _read_expires,
    "used": _read_used,
    "idle": _read_idle,
    "created": _read_created,
}
_KNOWN = ", ".join(f"{name}:" for name in _READERS)
