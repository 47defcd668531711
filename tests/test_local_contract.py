"""The contract between the embedded service's two paths (issue 15's decision).

The panel and the CLI reach the local store directly (`DirectClient`); `oz-keys serve` exposes
it through the GraphQL service, which `OzClient` talks to. Every scenario here runs through both
— `OzClient` -> GraphQL service (ASGI, in process) and `DirectClient` — each on its own fresh
store with the same clock and the same secrets, and the two must give identical results, error
classes and messages, step by step.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from oz_tui.api.errors import OzError
from oz_tui.api.models import Expiration
from oz_tui.core.names import MAX_KEY_NAME_LENGTH
from oz_tui.backend import Backend, local_backend
from oz_tui.local.direct import DirectClient

from conftest import FIXED_NOW, FakeClock, deterministic_tokens

PATHS = ("graphql", "direct")


class Recorder:
    """Runs each step on one path's client and records what came back (value or error)."""

    def __init__(self, backend: Backend, clock: FakeClock) -> None:
        self.backend = backend
        self.client = backend.client
        self.clock = clock
        self.steps: list[tuple[str, Any]] = []
        self._uids: dict[str, str] = {}

    async def step(self, label: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        # Keys made in the same microsecond are ordered by uid, which is random: one step a
        # second keeps the order a property of the path, not of chance.
        self.clock.advance(timedelta(seconds=1))
        try:
            value = await call(self.client)
        except (OzError, ValueError, TypeError) as exc:
            outcome: Any = ("error", type(exc).__name__, str(exc),
                            getattr(exc, "may_have_succeeded", None))
            self.steps.append((label, outcome))
            return None
        self.steps.append((label, ("ok", self._normal(value))))
        return value

    def _normal(self, value: Any) -> Any:
        """Comparable across paths: uids (random uuid4s) become their order of appearance;
        datetimes keep their instant and their zone."""
        if isinstance(value, list):
            return [self._normal(item) for item in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            if "uid" in fields and type(value).__name__ == "ApiKey":
                fields["uid"] = self._uids.setdefault(fields["uid"], f"key-{len(self._uids)}")
            return (type(value).__name__,
                    {name: self._normal(item) for name, item in fields.items()})
        if isinstance(value, tuple):
            return tuple(self._normal(item) for item in value)
        if isinstance(value, datetime):
            return (value.isoformat(), value.utcoffset())
        return value


async def run_on_both(
    tmp_path: Path, scenario: Callable[[Recorder], Awaitable[None]], *, demo: bool = False
) -> dict[str, list[tuple[str, Any]]]:
    steps: dict[str, list[tuple[str, Any]]] = {}
    for path in PATHS:
        clock = FakeClock()
        backend = local_backend(
            None if demo else tmp_path / path, demo=demo, clock=clock,
            token_factory=deterministic_tokens(), path=path,  # type: ignore[arg-type]
        )
        assert isinstance(backend.client, DirectClient) == (path == "direct")
        recorder = Recorder(backend, clock)
        try:
            await scenario(recorder)
        finally:
            await backend.aclose()
        steps[path] = recorder.steps
    assert steps["graphql"], "the scenario recorded nothing"
    return steps


def assert_same(steps: dict[str, list[tuple[str, Any]]]) -> None:
    graphql, direct = steps["graphql"], steps["direct"]
    assert [label for label, _ in graphql] == [label for label, _ in direct]
    for (label, through_graphql), (_, straight) in zip(graphql, direct):
        assert straight == through_graphql, f"{label}: the two paths differ"


async def test_every_operation(tmp_path: Path) -> None:
    async def scenario(r: Recorder) -> None:
        await r.step("who am I", lambda c: c.whoami())
        await r.step("empty list", lambda c: c.list_keys())
        agents = await r.step("agents", lambda c: c.list_agents())
        account = await r.client.whoami()
        team = account.teams[0].uid
        await r.step("personal, 30 days", lambda c: c.create_key("Laptop", Expiration.DAYS_30))
        await r.step("team, 1 day", lambda c: c.create_key("CI", Expiration.DAY_1, team_id=team))
        await r.step("never expires", lambda c: c.create_key("Forever", Expiration.NEVER))
        await r.step("90 days", lambda c: c.create_key("Default", Expiration.DAYS_90))
        # An explicit time in another zone: read back in UTC, the same instant.
        plus_two = timezone(timedelta(hours=2))
        when = datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=plus_two)
        await r.step("explicit time", lambda c: c.create_key("Explicit", when))
        await r.step("name trimmed", lambda c: c.create_key("  padded  ", Expiration.NEVER))
        longest = "n" * MAX_KEY_NAME_LENGTH
        await r.step("longest name", lambda c: c.create_key(longest, Expiration.NEVER))
        await r.step("empty team id is personal",
                     lambda c: c.create_key("No team", Expiration.NEVER, team_id=""))
        await r.step("unicode name", lambda c: c.create_key("Déploiement 🚀", Expiration.DAY_1))
        agent = agents[0].uid
        await r.step("agent key",
                     lambda c: c.create_key("Triage", Expiration.DAYS_30, agent_uid=agent))
        listed = await r.step("list, newest first", lambda c: c.list_keys())
        first = listed[0].uid
        await r.step("expire", lambda c: c.expire_key(first))
        await r.step("list after expiring", lambda c: c.list_keys())

    assert_same(await run_on_both(tmp_path, scenario))


async def test_every_validation_error(tmp_path: Path) -> None:
    async def scenario(r: Recorder) -> None:
        async def create(c: Any, name: str, expiration: Any = Expiration.DAYS_30,
                         **kw: Any) -> Any:
            return await c.create_key(name, expiration, **kw)

        now = r.clock()
        for label, name in (
            ("blank", ""),
            ("spaces only", "   "),
            ("too long", "x" * (MAX_KEY_NAME_LENGTH + 1)),
            ("too long once trimmed", " " + "y" * (MAX_KEY_NAME_LENGTH + 5) + " "),
            ("newline", "two\nlines"),
            ("escape", "red \x1b[31m"),
            ("C1 control", "csi \x9b"),
            ("DEL", "del \x7f"),
        ):
            await r.step(f"name: {label}", lambda c, n=name: create(c, n))
        await r.step("expiry in the past",
                     lambda c: create(c, "Past", now - timedelta(seconds=1)))
        await r.step("expiry now", lambda c: create(c, "Now", now))
        await r.step("naive expiry", lambda c: create(c, "Naive", datetime(2030, 1, 1)))
        await r.step("expiry of the wrong type", lambda c: create(c, "Typed", "90d"))
        await r.step("unknown team", lambda c: create(c, "Team", team_id="no-such-team"))
        await r.step("unknown agent", lambda c: create(c, "Agent", agent_uid="agent-1"))
        await r.step("unknown agent and bad name", lambda c: create(c, "", agent_uid="agent-1"))
        team = (await r.client.whoami()).teams[0].uid
        agent = (await r.client.list_agents())[0].uid
        await r.step("team and agent", lambda c: create(c, "Both", team_id=team, agent_uid=agent))
        await r.step("expire an unknown uid", lambda c: c.expire_key("no-such-uid"))
        created = await r.step("create", lambda c: create(c, "Once"))
        await r.step("expire", lambda c: c.expire_key(created.api_key.uid))
        await r.step("expire again", lambda c: c.expire_key(created.api_key.uid))
        await r.step("nothing was stored", lambda c: c.list_keys())

    steps = await run_on_both(tmp_path, scenario)
    assert_same(steps)
    # The scenario does exercise the errors (a refusal on both paths is still a refusal).
    outcomes = dict(steps["direct"])
    assert outcomes["name: blank"][:3] == (
        "error", "UserFacingError", "The API key name cannot be blank.")
    assert outcomes["naive expiry"][:2] == ("error", "ValueError")
    assert outcomes["expire again"][1] == "UserFacingError"
    assert outcomes["nothing was stored"] == ("ok", [])


async def test_expiry_follows_the_injected_clock(tmp_path: Path) -> None:
    async def scenario(r: Recorder) -> None:
        day = await r.step("1 day", lambda c: c.create_key("Day", Expiration.DAY_1))
        await r.step("30 days", lambda c: c.create_key("Month", Expiration.DAYS_30))
        r.clock.advance(timedelta(hours=23, minutes=59))
        await r.step("just before", lambda c: c.list_keys())
        r.clock.advance(timedelta(minutes=1))
        await r.step("at expiry", lambda c: c.list_keys())
        await r.step("expire the lapsed key", lambda c: c.expire_key(day.api_key.uid))
        r.clock.advance(timedelta(days=40))
        await r.step("all lapsed", lambda c: c.list_keys())
        await r.step("create later", lambda c: c.create_key("Later", Expiration.DAY_1))
        await r.step("who am I later", lambda c: c.whoami())

    assert_same(await run_on_both(tmp_path, scenario))


async def test_demo_data(tmp_path: Path) -> None:
    async def scenario(r: Recorder) -> None:
        await r.step("demo keys", lambda c: c.list_keys())
        await r.step("who am I", lambda c: c.whoami())
        agents = await r.step("demo agents", lambda c: c.list_agents())
        for agent in agents:  # the unavailable one is refused, the same way on both paths
            await r.step(f"key for {agent.name}",
                         lambda c, a=agent.uid: c.create_key("Bot", Expiration.DAY_1, agent_uid=a))
        await r.step("demo keys after", lambda c: c.list_keys())

    steps = await run_on_both(tmp_path, scenario, demo=True)
    assert_same(steps)
    assert len(steps["direct"][0][1][1]) == 8
    outcomes = dict(steps["direct"])
    assert {agent[1]["name"] for agent in outcomes["demo agents"][1]} >= {"deploy-bot",
                                                                          "gpu-runner"}
    assert outcomes["key for gpu-runner"][:2] == ("error", "UserFacingError")


async def test_auth_in_process_is_the_local_owner(tmp_path: Path) -> None:
    """In process neither path has a credential: both act as the store's one user, whose
    account says no key was used (a served request with a key says which kind)."""

    async def scenario(r: Recorder) -> None:
        account = await r.step("who am I", lambda c: c.whoami())
        assert account.api_key_owner_type is None and account.credential_kind == "session"
        assert r.client.credential_hint is None

    assert_same(await run_on_both(tmp_path, scenario))


@pytest.mark.parametrize("writer", PATHS)
async def test_both_paths_share_one_store(tmp_path: Path, writer: str) -> None:
    """What one path writes, the other reads as it was written, on the same file; and a key's
    last use (set when `serve` authenticates a request with it) reads the same on both."""
    clock = FakeClock()
    backends = {
        path: local_backend(tmp_path, clock=clock, token_factory=deterministic_tokens(),
                            path=path)  # type: ignore[arg-type]
        for path in PATHS
    }
    reader = next(path for path in PATHS if path != writer)
    try:
        created = await backends[writer].client.create_key("Shared", Expiration.DAYS_30)
        clock.advance(timedelta(hours=1))
        store = backends[writer].store
        assert store is not None and store.authenticate(created.raw_key) is not None
        through = {path: await backends[path].client.list_keys() for path in PATHS}
        assert through[reader] == through[writer]
        assert through[reader][0].last_used_at == FIXED_NOW + timedelta(hours=1)
        await backends[reader].client.expire_key(created.api_key.uid)
        assert await backends[writer].client.list_keys() == []
    finally:
        for backend in backends.values():
            await backend.aclose()
