"""The contract between the embedded service's two paths (issue 15's decision).

The panel and the CLI reach the local store directly (`DirectClient`); `oz-keys serve` exposes
it through the GraphQL service, which `OzClient` talks to. Every scenario here runs through both
— `OzClient` -> GraphQL service (ASGI, in process) and `DirectClient` — each on its own fresh
store with the same clock and the same secrets, and the two must give identical results, error
classes and messages, step by step.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from oz_tui.core.errors import OzError
from oz_tui.core.models import Expiration
from oz_tui.core.names import MAX_KEY_NAME_LENGTH
from oz_tui.backend import local_backend
from oz_tui.local.direct import DirectClient

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from both_ways import PATHS, Recorder, assert_same, run_on_both


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


# -- who may do what: every cell of the authorization table, through both paths ------------------
#
# docs/security.md "Who may do what on serve"; the table is `oz_tui.core.authorization.RULES`.
# Each case starts from the same keys, made by the owner, then asks one thing as one principal:
# through the GraphQL service with the key as the bearer credential, and through the direct
# adapter given the same key. Both must answer alike, and as the table says.

from oz_tui.api.client import OzClient  # noqa: E402
from oz_tui.core.models import KeyScope, OwnerType  # noqa: E402
from oz_tui.backend import LOCAL_SERVER_ROOT  # noqa: E402
from oz_tui.core.authorization import RULES, Action  # noqa: E402
from oz_tui.local.store import default_agent_uid  # noqa: E402

TEAM = "local-team"
FIRST_AGENT = default_agent_uid(TEAM)
SECOND_AGENT = "agent-two"

#: The keys each case starts from (newest first, as listed), and how the owner makes them.
WORLD = {
    "Owner laptop": {},
    "CI": {"team_id": TEAM},
    "Bot one": {"agent_uid": FIRST_AGENT},
    "Bot one spare": {"agent_uid": FIRST_AGENT},
    "Bot two": {"agent_uid": SECOND_AGENT},
}
EVERY_KEY = list(reversed(WORLD))

#: Who asks: None is the owner without a key (the panel and the CLI on the local store);
#: otherwise the key of `WORLD` it signs in with, and that key's scope.
PRINCIPALS: dict[str, tuple[str | None, KeyScope]] = {
    "owner, no key": (None, KeyScope.PERSONAL),
    "Personal key": ("Owner laptop", KeyScope.PERSONAL),
    "Team key": ("CI", KeyScope.TEAM),
    "Agent key (agent one)": ("Bot one", KeyScope.AGENT),
    "Agent key (agent two)": ("Bot two", KeyScope.AGENT),
}

CREATE = {"Personal": {}, "Team": {"team_id": TEAM}, "Agent": {"agent_uid": FIRST_AGENT}}
OWNERS = ("owner, no key", "Personal key")
SERVICE_ACCOUNTS = ("Team key", "Agent key (agent one)", "Agent key (agent two)")

#: What each principal sees when it asks who it is: (principalType, apiKeyOwnerType).
WHO_AM_I = {
    "owner, no key": ("USER", None),
    "Personal key": ("USER", OwnerType.USER),
    "Team key": ("SERVICE_ACCOUNT", OwnerType.TEAM),
    "Agent key (agent one)": ("SERVICE_ACCOUNT", OwnerType.TEAM),
    "Agent key (agent two)": ("SERVICE_ACCOUNT", OwnerType.TEAM),
}
#: Which keys each principal lists: the owner all; a service account its own principal's.
LISTED = {
    "owner, no key": EVERY_KEY,
    "Personal key": EVERY_KEY,
    "Team key": ["CI"],
    "Agent key (agent one)": ["Bot one spare", "Bot one"],
    "Agent key (agent two)": ["Bot two"],
}


def _target(principal: str, which: str) -> str:
    """The key of `WORLD` an expire case aims at."""
    own = PRINCIPALS[principal][0]
    if which == "its own key":
        assert own is not None
        return own
    if which == "the owner's key":
        return "Owner laptop"
    return "Bot one" if own == "Bot two" else "Bot two"  # another agent's key


#: Every cell: (principal, action, what it is done to, allowed?). Expire "its own key" has no
#: case for the keyless owner, which has none.
CELLS = [
    *[(p, "who-am-I", "", True) for p in PRINCIPALS],
    *[(p, "list", "", True) for p in PRINCIPALS],
    *[(p, "create", kind, p in OWNERS) for p in PRINCIPALS for kind in CREATE],
    *[(p, "expire", which, p in OWNERS or which == "its own key")
      for p in PRINCIPALS
      for which in ("its own key", "the owner's key", "another agent's key")
      if not (which == "its own key" and PRINCIPALS[p][0] is None)],
]


def test_the_cases_cover_every_cell_of_the_table() -> None:
    """A principal or an action added to the table without a case here fails this."""
    assert {scope for _, scope in PRINCIPALS.values()} == set(RULES)
    assert {action for _, action, _, _ in CELLS} == {a.value for a in Action}
    for scope in RULES:
        askers = [p for p, (_, s) in PRINCIPALS.items() if s is scope]
        assert {action for p, action, _, _ in CELLS if p in askers} == {a.value for a in Action}


async def _signed_in(r: Recorder, raw_key: str | None) -> Any:
    """A client of the same store as `r`'s, signed in with `raw_key` (None: the owner)."""
    if raw_key is None:
        return r.client
    if isinstance(r.client, DirectClient):
        return DirectClient(r.backend.store, clock=r.clock, api_key=raw_key)
    return OzClient(LOCAL_SERVER_ROOT, raw_key, transport=r.backend.service.transport(),
                    clock=r.clock)


@pytest.mark.parametrize(("principal", "action", "what", "allowed"), CELLS,
                         ids=[f"{p}-{a}-{w}".rstrip("-") for p, a, w, _ in CELLS])
async def test_authorization_cell(tmp_path: Path, principal: str, action: str, what: str,
                                  allowed: bool) -> None:
    async def scenario(r: Recorder) -> None:
        r.backend.store.add_agent("agent two", team_uid=TEAM, uid=SECOND_AGENT)
        made = {}
        for name, owner in WORLD.items():
            made[name] = await r.step(f"owner makes {name}",
                                      lambda c, n=name, o=owner: c.create_key(
                                          n, Expiration.DAYS_30, **o))
        key_name = PRINCIPALS[principal][0]
        owner = r.client
        r.client = await _signed_in(r, made[key_name].raw_key if key_name else None)
        try:
            if action == "who-am-I":
                await r.step("ask", lambda c: c.whoami())
            elif action == "list":
                await r.step("ask", lambda c: c.list_keys())
            elif action == "create":
                await r.step("ask", lambda c: c.create_key("New", Expiration.DAY_1,
                                                            **CREATE[what]))
            else:
                uid = made[_target(principal, what)].api_key.uid
                await r.step("ask", lambda c: c.expire_key(uid))
        finally:
            if r.client is not owner:
                await r.client.aclose()
            r.client = owner
        # A refusal changed nothing; an allowed write did what it said.
        await r.step("the owner's list after", lambda c: c.list_keys())

    steps = await run_on_both(tmp_path, scenario)
    assert_same(steps)
    for path in PATHS:
        outcomes = dict(steps[path])
        answer, after = outcomes["ask"], outcomes["the owner's list after"]
        names_after = [key[1]["name"] for key in after[1]]
        if not allowed:
            assert answer[:2] == ("error", "UserFacingError"), (path, answer)
            assert "service account" in answer[2] and "Personal key" in answer[2], answer
            assert answer[3] is False  # refused: surely nothing was created
            assert names_after == EVERY_KEY, f"{path}: a refused {action} changed the keys"
            continue
        assert answer[0] == "ok", (path, answer)
        if action == "who-am-I":
            fields = answer[1][1]
            assert (fields["principal_type"], fields["api_key_owner_type"]) == WHO_AM_I[principal]
        elif action == "list":
            assert [key[1]["name"] for key in answer[1]] == LISTED[principal], path
        elif action == "create":
            assert names_after == ["New", *EVERY_KEY], path
        else:
            gone = _target(principal, what)
            assert names_after == [n for n in EVERY_KEY if n != gone], path


async def test_a_key_that_expired_itself_is_refused_after(tmp_path: Path) -> None:
    """An Agent key may retire itself; from then on it is refused as a credential on both
    paths (authenticated on every call, not once)."""

    async def scenario(r: Recorder) -> None:
        made = await r.step("owner makes an agent key", lambda c: c.create_key(
            "Bot", Expiration.DAYS_30, agent_uid=FIRST_AGENT))
        owner = r.client
        r.client = await _signed_in(r, made.raw_key)
        try:
            await r.step("it expires itself", lambda c: c.expire_key(made.api_key.uid))
            with pytest.raises(OzError) as refused:
                await r.client.list_keys()
            r.steps.append(("then it lists", type(refused.value).__name__))
        finally:
            await r.client.aclose()
            r.client = owner

    steps = await run_on_both(tmp_path, scenario)
    assert_same(steps)
    assert dict(steps["direct"])["then it lists"] == "AuthenticationError"
