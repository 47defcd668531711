"""The demo data set: a fixed, realistic set of keys and agents, with times relative to the clock.

Demo keys have no secret. Their suffixes come from a hash of their names (stable, and no real key
is committed), and the stored hash is not the hash of any raw key, so no bearer token can ever
authenticate as a demo key, even if demo data is seeded into a database that is served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from oz_tui.core.models import OwnerType
from oz_tui.local.store import LOCAL_IDENTITY, KeyStore, StoredAgent, StoredKey, default_agent_uid

@dataclass(frozen=True, slots=True)
class _DemoKey:
    number: int
    name: str
    #: Who the key acts as: "personal", "team", or the uid of one of the team's agents.
    owner: str
    created_ago: timedelta
    last_used_ago: timedelta | None
    expires_in: timedelta | None


def _d(days: float = 0, hours: float = 0, minutes: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours, minutes=minutes)


def demo_uid(number: int) -> str:
    """Fixed, uuid-shaped uids, so tests and screenshots can name demo keys."""
    return f"00000000-0000-4000-8000-{number:012d}"


def demo_agent_uid(number: int) -> str:
    return f"00000000-0000-4000-a000-{number:012d}"


_TEAM_UID = LOCAL_IDENTITY.teams[0].uid
#: The team's default agent (every store has it), a named one, and one the plan does not include.
DEFAULT_AGENT_UID = default_agent_uid(_TEAM_UID)
DEPLOY_BOT_UID = demo_agent_uid(1)
GPU_RUNNER_UID = demo_agent_uid(2)
DEMO_AGENTS = (
    StoredAgent(DEPLOY_BOT_UID, "deploy-bot", _TEAM_UID, available=True),
    StoredAgent(GPU_RUNNER_UID, "gpu-runner", _TEAM_UID, available=False),
)

DEMO_KEYS = (
    _DemoKey(1, "CI pipeline", "team", _d(days=142), _d(minutes=12), None),
    _DemoKey(2, "Staging deploy bot", DEPLOY_BOT_UID, _d(days=64), _d(hours=3), _d(days=26)),
    _DemoKey(3, "Laptop CLI", "personal", _d(days=41), _d(days=2), _d(days=49)),
    _DemoKey(4, "Nightly agent runs", DEFAULT_AGENT_UID, _d(days=87), _d(hours=9), _d(days=3)),
    _DemoKey(5, "Codespaces", "personal", _d(days=18), None, _d(days=72)),
    _DemoKey(6, "Grafana alerts", "team", _d(days=119), _d(days=5), None),
    _DemoKey(7, "Release automation", "personal", _d(days=7), None, None),
    _DemoKey(8, "Data export", "personal", _d(days=2), _d(minutes=40), _d(days=28)),
)


def demo_keys(now: datetime) -> list[StoredKey]:
    keys = []
    for spec in DEMO_KEYS:
        agent_uid = None if spec.owner in ("personal", "team") else spec.owner
        keys.append(
            StoredKey(
                uid=demo_uid(spec.number),
                name=spec.name,
                key_suffix=hashlib.sha256(spec.name.encode()).hexdigest()[-4:],
                owner_type=OwnerType.USER if spec.owner == "personal" else OwnerType.TEAM,
                team_uid=None if spec.owner == "personal" else _TEAM_UID,
                created_at=now - spec.created_ago,
                last_used_at=None if spec.last_used_ago is None else now - spec.last_used_ago,
                expires_at=None if spec.expires_in is None else now + spec.expires_in,
                revoked_at=None,
                agent_uid=agent_uid,
            )
        )
    return keys


def seed_demo(store: KeyStore, now: datetime) -> None:
    """Add the demo agents and keys; ones already present (same uid) are left as they are."""
    for agent in DEMO_AGENTS:
        store.add_agent(
            agent.name, team_uid=agent.team_uid, available=agent.available, uid=agent.uid
        )
    for key in demo_keys(now):
        # Not 64 hex characters, so it is the sha256 of no raw key.
        store.insert(key, f"demo:{key.uid}")
