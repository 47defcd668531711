"""Agents and Agent keys in the embedded local key service: the identities endpoint, the store's
rules (team membership, availability), the demo set, and migrating a version-1 keys.db."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from local_helpers import MutableClock, call, counting_tokens, error_message
from oz_tui.core.errors import UserFacingError
from oz_tui.core.models import Agent, Expiration, KeyScope, OwnerType
from oz_tui.api.operations import API_KEYS, GENERATE_API_KEY, GET_USER
from oz_tui.backend import local_backend
from oz_tui.local import KeyStore, LocalService, LocalStoreError
from oz_tui.local.demo import DEFAULT_AGENT_UID, DEPLOY_BOT_UID, GPU_RUNNER_UID, demo_uid
from oz_tui.local.store import DEFAULT_AGENT_NAME, InvalidRequest, default_agent_uid

AGENTS = "/api/v1/agent/identities"
DEFAULT_AGENT = default_agent_uid("local-team")


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def service(clock: MutableClock) -> LocalService:
    service = LocalService(in_memory=True, clock=clock, token_factory=counting_tokens())
    yield service
    service.close()


@pytest.fixture
async def client(service: LocalService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://local") as c:
        yield c


async def generate(client: httpx.AsyncClient, name: str, **input_: object) -> dict:
    return await call(client, GENERATE_API_KEY, input={"name": name, **input_})


# -- the identities endpoint ------------------------------------------------------------------------


async def test_every_team_has_a_default_agent(client: httpx.AsyncClient) -> None:
    response = await client.get(AGENTS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "agents": [{"uid": DEFAULT_AGENT, "name": DEFAULT_AGENT_NAME, "available": True}]
    }


async def test_the_endpoint_lists_only_the_callers_teams_agents(
    client: httpx.AsyncClient, service: LocalService
) -> None:
    service.store.add_agent("deploy-bot", team_uid="local-team", uid="a-deploy")
    service.store.add_agent("gpu-runner", team_uid="local-team", available=False, uid="a-gpu")
    service.store.add_agent("their-bot", team_uid="another-team", uid="a-theirs")
    agents = (await client.get(AGENTS)).json()["agents"]
    # The default agent first, then by name.
    assert agents == [
        {"uid": DEFAULT_AGENT, "name": DEFAULT_AGENT_NAME, "available": True},
        {"uid": "a-deploy", "name": "deploy-bot", "available": True},
        {"uid": "a-gpu", "name": "gpu-runner", "available": False},
    ]
    assert service.store.agents() == [
        Agent(DEFAULT_AGENT, DEFAULT_AGENT_NAME, True),
        Agent("a-deploy", "deploy-bot", True),
        Agent("a-gpu", "gpu-runner", False),
    ]


async def test_the_endpoint_needs_a_key_when_served(clock: MutableClock) -> None:
    service = LocalService(in_memory=True, clock=clock, require_auth=True)
    _, raw = service.store.create_key("bootstrap")
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://l") as c:
        for headers in ({}, {"Authorization": "Bearer wk-1." + "0" * 64}, {"Authorization": "Basic x"}):
            refused = await c.get(AGENTS, headers=headers)
            assert refused.status_code == 401
            # Warp's REST errors: {"error": "<message>"}
            assert refused.json() == {"error": "API key missing, revoked, expired or malformed"}
        ok = await c.get(AGENTS, headers={"Authorization": f"Bearer {raw}"})
        assert ok.status_code == 200 and len(ok.json()["agents"]) == 1
        assert raw not in refused.text
    service.close()


async def test_the_endpoint_takes_only_get(client: httpx.AsyncClient) -> None:
    response = await client.post(AGENTS, json={})
    assert response.status_code == 405
    assert response.json()["detail"] == f"Use GET for {AGENTS}."


async def test_a_store_failure_is_a_503_error(
    client: httpx.AsyncClient, service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked() -> list:
        raise LocalStoreError("/somewhere/keys.db: database is locked")

    monkeypatch.setattr(service.store, "agents", locked)
    response = await client.get(AGENTS)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"error": "/somewhere/keys.db: database is locked"}


# -- Agent keys -------------------------------------------------------------------------------------


async def test_an_agent_key_belongs_to_the_agents_team_and_lists_with_agent_info(
    client: httpx.AsyncClient, service: LocalService
) -> None:
    service.store.add_agent("deploy-bot", team_uid="local-team", uid="a-deploy")
    created = await generate(client, "Deploys", agentUid="a-deploy")
    assert created["__typename"] == "GenerateApiKeyOutput"
    key = created["apiKey"]
    assert key["ownerType"] == "Team"
    assert key["agentInfo"] == {"uid": "a-deploy", "name": "deploy-bot"}
    default = (await generate(client, "Nightly", agentUid=DEFAULT_AGENT))["apiKey"]
    assert default["agentInfo"] == {"uid": DEFAULT_AGENT, "name": DEFAULT_AGENT_NAME}
    listed = (await call(client, API_KEYS))["apiKeys"]
    assert {k["name"]: k["agentInfo"] for k in listed} == {
        "Deploys": {"uid": "a-deploy", "name": "deploy-bot"},
        "Nightly": {"uid": DEFAULT_AGENT, "name": DEFAULT_AGENT_NAME},
    }
    # The stored row says which agent and team.
    (stored,) = [k for k in service.store.active_keys() if k.name == "Deploys"]
    assert (stored.owner_type, stored.team_uid, stored.agent_uid, stored.agent_name) == (
        OwnerType.TEAM,
        "local-team",
        "a-deploy",
        "deploy-bot",
    )


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("no-such-agent", "Unknown agent: no agent has that ID."),
        ("a-gpu", "The agent 'gpu-runner' is not available on your team's plan."),
        ("a-theirs", "The agent 'their-bot' belongs to a team you are not a member of."),
    ],
)
async def test_agent_keys_are_refused_for_unusable_agents(
    client: httpx.AsyncClient, service: LocalService, agent: str, message: str
) -> None:
    service.store.add_agent("gpu-runner", team_uid="local-team", available=False, uid="a-gpu")
    service.store.add_agent("their-bot", team_uid="another-team", uid="a-theirs")
    assert error_message(await generate(client, "k", agentUid=agent)) == message
    assert (await call(client, API_KEYS))["apiKeys"] == []
    with pytest.raises(InvalidRequest, match=message):
        service.store.create_key("k", agent_uid=agent)


async def test_an_agent_key_authenticates_as_its_team(
    client: httpx.AsyncClient, service: LocalService
) -> None:
    raw = (await generate(client, "bot", agentUid=DEFAULT_AGENT))["rawApiKey"]
    principal = service.store.authenticate(raw)
    assert principal is not None and principal.agent_name == DEFAULT_AGENT_NAME
    user = await call(client, GET_USER, key=raw)
    assert (user["apiKeyOwnerType"], user["principalType"]) == ("Team", "SERVICE_ACCOUNT")
    assert (await client.get(AGENTS, headers={"Authorization": f"Bearer {raw}"})).status_code == 200


async def test_the_client_lists_agents_and_creates_agent_keys_in_process(clock: MutableClock) -> None:
    backend = local_backend(demo=True, clock=clock)
    try:
        client = backend.client
        agents = await client.list_agents()
        assert [(a.name, a.available) for a in agents] == [
            ("default-agent", True),
            ("deploy-bot", True),
            ("gpu-runner", False),
        ]
        created = await client.create_key("Deploys", Expiration.DAYS_30, agent_uid=DEPLOY_BOT_UID)
        assert created.api_key.scope is KeyScope.AGENT
        assert (created.api_key.agent_uid, created.api_key.agent_name) == (DEPLOY_BOT_UID, "deploy-bot")
        listed = {k.uid: k for k in await client.list_keys()}
        assert listed[created.api_key.uid] == created.api_key
        with pytest.raises(UserFacingError, match="not available"):
            await client.create_key("GPU", Expiration.NEVER, agent_uid=GPU_RUNNER_UID)
    finally:
        await backend.aclose()


# -- the demo set -----------------------------------------------------------------------------------


async def test_the_demo_set_has_agents_and_agent_keys() -> None:
    demo = LocalService.demo(clock=MutableClock())
    try:
        assert [(a.uid, a.name, a.available) for a in demo.store.agents()] == [
            (DEFAULT_AGENT_UID, "default-agent", True),
            (DEPLOY_BOT_UID, "deploy-bot", True),
            (GPU_RUNNER_UID, "gpu-runner", False),
        ]
        async with httpx.AsyncClient(transport=demo.transport(), base_url="http://d") as c:
            keys = (await call(c, API_KEYS))["apiKeys"]
        by_uid = {k["uid"]: k for k in keys}
        assert by_uid[demo_uid(2)]["agentInfo"] == {"uid": DEPLOY_BOT_UID, "name": "deploy-bot"}
        assert by_uid[demo_uid(4)]["agentInfo"] == {"uid": DEFAULT_AGENT_UID, "name": "default-agent"}
        kinds = {
            ("Agent" if k["agentInfo"] else k["ownerType"]) for k in keys
        }
        assert kinds == {"User", "Team", "Agent"}
        assert all(k["ownerType"] == "Team" for k in keys if k["agentInfo"])
    finally:
        demo.close()


# -- migrating a version-1 database -----------------------------------------------------------------

_VERSION_1 = """
CREATE TABLE api_keys (
    uid          TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    key_suffix   TEXT NOT NULL,
    owner_type   TEXT NOT NULL CHECK (owner_type IN ('User', 'Team')),
    team_uid     TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
INSERT INTO api_keys VALUES
    ('old-1', 'Old laptop', 'h1', 'ab12', 'User', NULL, 1700000000000000, NULL, NULL, NULL),
    ('old-2', 'Old CI', 'h2', 'cd34', 'Team', 'local-team', 1700000000000000, NULL, NULL, NULL);
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_migrated_keeping_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_VERSION_1)
    for _ in range(2):  # and opening it again changes nothing
        store = KeyStore(path, clock=MutableClock(), token_factory=counting_tokens())
        try:
            keys = {k.uid: k for k in store.active_keys()}
            assert set(keys) == {"old-1", "old-2"}
            assert all(k.agent_uid is None and k.agent_name is None for k in keys.values())
            assert keys["old-2"].owner_type is OwnerType.TEAM
            assert store.agents() == [Agent(DEFAULT_AGENT, DEFAULT_AGENT_NAME, True)]
        finally:
            store.close()
    store = KeyStore(path, clock=MutableClock(), token_factory=counting_tokens())
    key, raw = store.create_key("agent key", agent_uid=DEFAULT_AGENT)
    assert store.authenticate(raw) is not None
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute(
            "SELECT agent_uid FROM api_keys WHERE uid = ?", (key.uid,)
        ).fetchone() == (DEFAULT_AGENT,)
