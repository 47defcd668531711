"""OzClient against httpx.MockTransport: what it sends, what it makes of good answers."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx
import pytest

from determinism import FIXED_NOW, FakeClock
from fault_server import (
    AGENT_KEY,
    GOOD_ANSWERS,
    PERSONAL_KEY,
    RAW_KEY,
    TEAM_KEY,
    created_answer,
    expired_answer,
    keys_answer,
    operation_of,
    user_facing_answer,
    user_answer,
    workspaces_answer,
)
from oz_tui import __version__
from oz_tui.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ProtocolError, RateLimitedError, ServerError, UserFacingError
from oz_tui.core.models import Account, ApiKey, CreatedKey, Expiration, KeyScope, OwnerType, Team
from oz_tui.core.models import Agent
from oz_tui.api import identity
from oz_tui.api.client import OzClient
from oz_tui.api.identity import OsInfo

API_KEY = "wk-1.9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SERVER = "https://oz.example.test"


class Recorder:
    """A MockTransport that answers each operation with a canned JSON body and keeps requests."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = {**GOOD_ANSWERS, **(answers or {})}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answers[_operation(request)])

    def bodies(self, op: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(r.content) for r in self.requests if r.method == "POST"]
        return [b for b in found if op is None or b["operationName"] == op]

    def client(self, api_key: str | None = API_KEY, **options: Any) -> OzClient:
        return OzClient(SERVER, api_key, transport=httpx.MockTransport(self), **options)


def _operation(request: httpx.Request) -> str:
    return operation_of(request.url.path, request.url.params.get("op"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# -- list ---------------------------------------------------------------------------------------


async def test_list_parses_every_field_of_personal_team_and_agent_keys() -> None:
    async with Recorder().client() as client:
        keys = await client.list_keys()
    personal, team, agent = keys
    assert personal == ApiKey(
        uid="key-personal",
        name="Laptop",
        key_suffix="a1b2",
        scope=KeyScope.PERSONAL,
        created_at=utc(2026, 11, 20, 8, 15, 30),
        last_used_at=None,
        expires_at=utc(2027, 2, 18, 8, 15, 30),
        agent_name=None,
    )
    assert team == ApiKey(
        uid="key-team",
        name="CI pipeline",
        key_suffix="c3d4",
        scope=KeyScope.TEAM,
        # +02:00 on the wire is the same instant in UTC
        created_at=utc(2026, 9, 30, 22, 0, 0),
        last_used_at=datetime(2026, 11, 25, 23, 59, 59, 500000, tzinfo=timezone.utc),
        expires_at=None,
    )
    assert agent.scope is KeyScope.AGENT
    assert agent.agent_name == "triage-agent"
    assert agent.last_used_at == utc(2026, 11, 26, 11, 0, 0)
    for key in keys:
        for when in (key.created_at, key.last_used_at, key.expires_at):
            if when is not None:
                assert when.tzinfo is not None and when.utcoffset() == timedelta(0)
    assert [k.masked for k in keys] == ["wk-**a1b2", "wk-**c3d4", "wk-**e5f6"]
    assert personal.to_json()["last_used_at"] is None
    assert team.to_json()["expires_at"] is None
    assert team.to_json()["created_at"] == "2026-09-30T22:00:00Z"


async def test_list_of_no_keys_is_empty() -> None:
    empty = {"data": {"apiKeys": {"__typename": "APIKeyPropertiesOutput", "apiKeys": []}}}
    async with Recorder({"ApiKeys": empty}).client() as client:
        assert await client.list_keys() == []


async def test_list_keeps_server_order_and_every_key() -> None:
    many = [dict(PERSONAL_KEY, uid=f"k{i}", name=f"key {i}") for i in range(50)]
    async with Recorder({"ApiKeys": keys_answer(*many)}).client() as client:
        keys = await client.list_keys()
    assert [k.uid for k in keys] == [f"k{i}" for i in range(50)]


# -- create -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (Expiration.DAY_1, "2026-11-27T12:00:00Z"),
        (Expiration.DAYS_30, "2026-12-26T12:00:00Z"),
        (Expiration.DAYS_90, "2027-02-24T12:00:00Z"),
        (Expiration.NEVER, None),
    ],
)
async def test_create_turns_expiration_choice_into_expires_at_from_the_clock(
    choice: Expiration, expected: str | None, clock: FakeClock
) -> None:
    recorder = Recorder()
    async with recorder.client(clock=clock) as client:
        await client.create_key("Laptop", choice)
    (body,) = recorder.bodies("GenerateApiKey")
    assert "expiresAt" in body["variables"]["input"]
    assert body["variables"]["input"]["expiresAt"] == expected


async def test_create_follows_the_injected_clock_as_it_moves(clock: FakeClock) -> None:
    recorder = Recorder()
    async with recorder.client(clock=clock) as client:
        await client.create_key("a", Expiration.DAY_1)
        clock.advance(timedelta(hours=5, minutes=30))
        await client.create_key("b", Expiration.DAY_1)
    sent = [b["variables"]["input"]["expiresAt"] for b in recorder.bodies("GenerateApiKey")]
    assert sent == ["2026-11-27T12:00:00Z", "2026-11-27T17:30:00Z"]
    assert clock() == FIXED_NOW + timedelta(hours=5, minutes=30)


async def test_create_passes_an_explicit_datetime_through(clock: FakeClock) -> None:
    recorder = Recorder()
    plus_two = timezone(timedelta(hours=2))
    async with recorder.client(clock=clock) as client:
        await client.create_key("a", utc(2027, 1, 5, 9, 30))
        await client.create_key("b", datetime(2027, 1, 5, 11, 30, tzinfo=plus_two))
    sent = [b["variables"]["input"]["expiresAt"] for b in recorder.bodies("GenerateApiKey")]
    assert sent == ["2027-01-05T09:30:00Z", "2027-01-05T09:30:00Z"]


async def test_create_refuses_a_naive_datetime_without_sending() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(ValueError, match="aware"):
            await client.create_key("a", datetime(2027, 1, 5))
    assert recorder.requests == []


async def test_team_id_is_sent_only_for_team_keys() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        await client.create_key("personal", Expiration.DAYS_90)
        await client.create_key("team", Expiration.DAYS_90, team_id="team-1")
    personal, team = (b["variables"]["input"] for b in recorder.bodies("GenerateApiKey"))
    assert personal == {"name": "personal", "expiresAt": personal["expiresAt"]}
    assert "teamId" not in personal and "agentUid" not in personal
    assert team["teamId"] == "team-1" and team["name"] == "team"
    assert "agentUid" not in team


async def test_create_returns_the_raw_key_once_and_the_listed_key() -> None:
    answer = created_answer(dict(TEAM_KEY, uid="new", name="Deploy"), raw=RAW_KEY)
    async with Recorder({"GenerateApiKey": answer}).client() as client:
        created = await client.create_key("Deploy", Expiration.DAYS_30, team_id="team-1")
    assert isinstance(created, CreatedKey)
    assert created.raw_key == RAW_KEY
    assert created.api_key.uid == "new" and created.api_key.scope is KeyScope.TEAM
    assert RAW_KEY not in repr(created) and RAW_KEY not in str(created)


# -- expire -------------------------------------------------------------------------------------


async def test_expire_sends_the_uid_and_accepts_success() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        assert await client.expire_key("key-team") is None
    (body,) = recorder.bodies("ExpireApiKey")
    assert body["variables"]["keyUid"] == "key-team"
    assert "input" not in body["variables"]  # written inline, as Warp's client does


async def test_expire_without_success_is_an_error_the_user_sees() -> None:
    async with Recorder({"ExpireApiKey": expired_answer(False)}).client() as client:
        with pytest.raises(UserFacingError, match="did not confirm"):
            await client.expire_key("key-team")


# -- who am I -----------------------------------------------------------------------------------


async def test_whoami_parses_the_account_and_its_teams() -> None:
    async with Recorder().client() as client:
        account = await client.whoami()
    assert account == Account(
        uid="user-1",
        display_name="Ada",
        email="ada@example.com",
        workspaces=account.workspaces,
        api_key_owner_type=OwnerType.USER,
        principal_type="USER",
    )
    assert account.teams == (Team(uid="team-1", name="Engines"),)
    assert account.workspaces[0].name == "Ada's workspace"
    assert account.label == "ada@example.com"
    assert account.credential_kind == "personal key"


@pytest.mark.parametrize(
    ("owner", "kind"), [("User", "personal key"), ("Team", "team key"), (None, "session")]
)
async def test_whoami_tells_how_the_credential_authenticates(owner: str | None, kind: str) -> None:
    async with Recorder({"GetUser": user_answer(owner)}).client() as client:
        assert (await client.whoami()).credential_kind == kind


async def test_whoami_with_null_profile_fields_and_no_workspaces() -> None:
    answer = user_answer()
    answer["data"]["user"]["user"] = {"profile": {"uid": "u9", "displayName": None, "email": None}}
    no_workspaces = workspaces_answer()
    no_workspaces["data"]["user"]["user"]["workspaces"] = []
    answers = {"GetUser": answer, "GetWorkspacesMetadataForUser": no_workspaces}
    async with Recorder(answers).client() as client:
        account = await client.whoami()
    assert (account.uid, account.display_name, account.email, account.teams) == ("u9", None, None, ())
    assert account.label == "u9"


# -- headers and requestContext -----------------------------------------------------------------


async def _one_of_each(client: OzClient) -> None:
    """Every call: six requests (who-am-I is two operations)."""
    await client.list_keys()
    await client.create_key("x", Expiration.DAY_1)
    await client.expire_key("key-personal")
    await client.whoami()
    await client.list_agents()


async def test_bearer_header_carries_the_key_on_every_operation() -> None:
    recorder = Recorder()
    async with recorder.client(API_KEY) as client:
        await _one_of_each(client)
    assert len(recorder.requests) == 6
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in recorder.requests)


@pytest.mark.parametrize("no_key", [None, ""])
async def test_no_authorization_header_without_a_key(no_key: str | None) -> None:
    recorder = Recorder()
    async with recorder.client(no_key) as client:
        await _one_of_each(client)
    assert len(recorder.requests) == 6
    assert all("Authorization" not in r.headers for r in recorder.requests)


async def test_a_pasted_newline_around_the_key_is_dropped() -> None:
    recorder = Recorder()
    async with recorder.client(f"  {API_KEY}\n") as client:
        await client.list_keys()
    assert recorder.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("bad", ["wk-1.ab\ncd-0123456789", "wk-1.ab\u00e9cd-0123456789"])
async def test_a_key_that_cannot_be_sent_is_refused_without_quoting_it(bad: str) -> None:
    recorder = Recorder()
    async with recorder.client(bad) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_keys()
        assert bad not in repr(client)
    assert recorder.requests == []
    assert bad not in str(caught.value) and "copied whole" in str(caught.value)


LINUX = OsInfo(category="Linux", name="Ubuntu", version="24.04", linux_kernel_version="6.8.0-45")


async def test_every_request_identifies_the_client_like_warps_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "os_info", lambda: LINUX)
    recorder = Recorder()
    async with recorder.client() as client:
        await _one_of_each(client)
    assert {r.url.path for r in recorder.requests} == {"/graphql/v2", "/api/v1/agent/identities"}
    for request in recorder.requests:
        assert request.headers["X-Warp-Client-ID"] == "warp-cli"
        assert request.headers["X-Warp-Client-Version"] == f"oz-keys/{__version__}"
        assert request.headers["X-Warp-OS-Category"] == "Linux"
        assert request.headers["X-Warp-OS-Name"] == "Ubuntu"
        assert request.headers["X-Warp-OS-Version"] == "24.04"
        assert request.headers["X-Warp-OS-Linux-Kernel-Version"] == "6.8.0-45"
        assert "User-Agent" not in request.headers
    for body in recorder.bodies():
        assert body["variables"]["requestContext"] == {
            "clientContext": {"version": f"oz-keys/{__version__}"},
            "osContext": {
                "category": "Linux",
                "name": "Ubuntu",
                "version": "24.04",
                "linuxKernelVersion": "6.8.0-45",
            },
        }


@pytest.mark.parametrize(
    ("os_values", "absent"),
    [
        (OsInfo("macOS", "macOS", "15.1"), "X-Warp-OS-Linux-Kernel-Version"),
        (OsInfo("Windows", "Windows", "10.0.22631"), "X-Warp-OS-Linux-Kernel-Version"),
        # A Linux without /etc/os-release: the category stands in for the name, no version.
        (OsInfo("Linux", "Linux", None, "6.1.0"), "X-Warp-OS-Version"),
    ],
)
async def test_os_headers_elsewhere(
    os_values: OsInfo, absent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity, "os_info", lambda: os_values)
    recorder = Recorder()
    async with recorder.client() as client:
        await client.list_keys()
    (request,) = recorder.requests
    assert request.headers["X-Warp-OS-Category"] == os_values.category
    assert request.headers["X-Warp-OS-Name"] == os_values.name
    assert absent not in request.headers
    os_context = json.loads(request.content)["variables"]["requestContext"]["osContext"]
    assert os_context == {
        "category": os_values.category,
        "name": os_values.name,
        "version": os_values.version,
        "linuxKernelVersion": os_values.linux_kernel_version,
    }


def test_linux_reports_the_distribution_not_the_kernel_as_name_and_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "release", lambda: "6.8.0-45-generic")
    monkeypatch.setattr(
        platform, "freedesktop_os_release", lambda: {"NAME": "Fedora Linux", "VERSION_ID": "41"}
    )
    identity.os_info.cache_clear()
    try:
        assert identity.os_info() == OsInfo("Linux", "Fedora Linux", "41", "6.8.0-45-generic")

        def missing() -> dict[str, str]:
            raise OSError("no os-release")

        monkeypatch.setattr(platform, "freedesktop_os_release", missing)
        identity.os_info.cache_clear()
        assert identity.os_info() == OsInfo("Linux", "Linux", None, "6.8.0-45-generic")
        monkeypatch.setattr(platform, "system", lambda: "Darwin")
        monkeypatch.setattr(platform, "mac_ver", lambda: ("15.1", ("", "", ""), "arm64"))
        identity.os_info.cache_clear()
        assert identity.os_info() == OsInfo("macOS", "macOS", "15.1", None)
    finally:
        identity.os_info.cache_clear()


async def test_client_id_and_user_agent_are_settings() -> None:
    recorder = Recorder()
    async with recorder.client(client_id="oz-keys", user_agent="Warp/1.0") as client:
        await client.list_keys()
        await client.list_agents()
    for request in recorder.requests:
        assert request.headers["X-Warp-Client-ID"] == "oz-keys"
        assert request.headers["User-Agent"] == "Warp/1.0"
        assert request.headers.get_list("User-Agent") == ["Warp/1.0"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"client_id": ""}, "client_id is empty"),
        ({"client_id": "warp\r\nX-Evil: 1"}, "client_id may hold only printable ASCII"),
        ({"user_agent": "Warp/1.0\n"}, "user_agent has spaces around it"),
        ({"user_agent": "W\u00e4rp"}, "user_agent may hold only printable ASCII"),
        ({"client_id": "x" * 201}, "client_id is longer than 200"),
    ],
)
def test_identity_values_that_cannot_be_headers_are_refused(
    options: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        OzClient(SERVER, API_KEY, **options)


async def test_server_root_and_host() -> None:
    client = OzClient("https://oz.example.test:8443/", API_KEY, transport=httpx.MockTransport(Recorder()))
    assert client.server_root == "https://oz.example.test:8443"
    assert client.host == "oz.example.test:8443"
    with_userinfo = OzClient("https://me:secret@oz.example.test", None)
    assert with_userinfo.host == "oz.example.test"
    await client.aclose()
    await with_userinfo.aclose()


async def test_context_manager_closes_the_http_client() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        await client.list_keys()
    with pytest.raises(RuntimeError):
        await client.list_keys()  # httpx: the client has been closed
    assert len(recorder.requests) == 1


# -- hygiene ------------------------------------------------------------------------------------


def test_repr_and_str_show_only_a_hint_of_the_credential() -> None:
    client = OzClient(SERVER, API_KEY)
    for text in (repr(client), str(client), f"{client}", f"{client!r}"):
        assert API_KEY not in text
        assert API_KEY[3:-4] not in text
        assert "wk-**b1a0" in text
    assert client.credential_hint == "wk-**b1a0"
    assert OzClient(SERVER, None).credential_hint is None
    # a short (malformed) credential is not given away whole by its last four characters
    assert OzClient(SERVER, "wk-12").credential_hint == "wk-**"


async def test_debug_logs_never_hold_the_credential_or_the_raw_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] % 2:  # every other request first fails, to log retries too
            return httpx.Response(503)
        return httpx.Response(200, json=GOOD_ANSWERS[_operation(request)])

    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async with OzClient(
        SERVER, API_KEY, transport=httpx.MockTransport(flaky), sleep=sleep, jitter=lambda: 0.5
    ) as client:
        await client.list_keys()
        with pytest.raises(ServerError):
            await client.create_key("x", Expiration.DAY_1)  # 503: never retried
        await client.create_key("x", Expiration.DAY_1)
        await client.whoami()
        await client.expire_key("key-personal")
    assert sleeps, "retries were logged"
    assert any(r.name.startswith(("oz_tui", "httpx")) for r in caplog.records)
    everything = caplog.text + "".join(repr(r.args) + repr(r.__dict__) for r in caplog.records)
    assert API_KEY not in everything
    assert RAW_KEY not in everything


def _handler_for(answers: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=answers[_operation(request)])


async def test_agent_and_personal_keys_in_a_create_answer() -> None:
    for key, scope in ((AGENT_KEY, KeyScope.AGENT), (PERSONAL_KEY, KeyScope.PERSONAL)):
        transport = httpx.MockTransport(_handler_for({"GenerateApiKey": created_answer(key)}))
        async with OzClient(SERVER, API_KEY, transport=transport) as client:
            created = await client.create_key("n", Expiration.NEVER)
        assert created.api_key.scope is scope


# -- agents -------------------------------------------------------------------------------------


async def test_list_agents_gets_the_identities_endpoint_and_types_each_agent() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        agents = await client.list_agents()
    (request,) = recorder.requests
    assert (request.method, request.url.path, request.url.query) == (
        "GET",
        "/api/v1/agent/identities",
        b"",
    )
    assert request.content == b""
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert agents == [
        Agent(uid="agent-default", name="default", available=True),
        Agent(uid="agent-1", name="triage-agent", available=True),
        Agent(uid="agent-2", name="gpu-runner", available=False),
    ]


async def test_an_agent_key_is_created_with_agent_uid_only() -> None:
    recorder = Recorder({"GenerateApiKey": created_answer(AGENT_KEY)})
    async with recorder.client() as client:
        created = await client.create_key("bot", Expiration.DAYS_30, agent_uid="agent-1")
        with pytest.raises(ValueError, match="not both"):
            await client.create_key("bot", Expiration.DAYS_30, agent_uid="a", team_id="t")
    (body,) = recorder.bodies("GenerateApiKey")
    assert set(body["variables"]["input"]) == {"name", "expiresAt", "agentUid"}
    assert body["variables"]["input"]["agentUid"] == "agent-1"
    assert "teamId" not in body["variables"]["input"]
    assert created.api_key.scope is KeyScope.AGENT
    assert (created.api_key.agent_uid, created.api_key.agent_name) == ("agent-1", "triage-agent")


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, {"error": "invalid API key"}, AuthenticationError, "invalid API key"),
        (403, {"error": "agents need a team plan"}, PermissionDeniedError, "team plan"),
        (404, {"error": "no such route"}, NotFoundError, "/api/v1/agent/identities"),
        (400, {"error": "bad request"}, ProtocolError, "bad request"),
        (500, {"error": "User not in context: Not found"}, AuthenticationError, "User not in"),
    ],
)
async def test_agent_list_errors_are_read_from_the_error_field(
    status: int, body: dict[str, str], error: type[Exception], words: str
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json=body)

    async with OzClient(SERVER, API_KEY, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(error, match=words):
            await client.list_agents()
    assert len(calls) == 1  # none of these is retried


async def test_agent_list_is_retried_like_the_graphql_calls() -> None:
    answers = iter([httpx.Response(503, json={"error": "busy"}), httpx.Response(502)])
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or httpx.Response(200, json=GOOD_ANSWERS["/api/v1/agent/identities"])

    async with OzClient(
        SERVER, API_KEY, transport=httpx.MockTransport(handler), sleep=sleep, jitter=lambda: 1.0
    ) as client:
        agents = await client.list_agents()
    assert len(agents) == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {},
        {"agents": {}},
        {"agents": [{"uid": "a", "name": 5}]},
        {"agents": [{"uid": "a", "name": "n", "available": "yes"}]},
        {"agents": ["a"]},
    ],
)
async def test_a_malformed_agent_list_is_a_protocol_error(payload: Any) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=payload))
    async with OzClient(SERVER, API_KEY, transport=transport) as client:
        with pytest.raises(ProtocolError):
            await client.list_agents()


# -- who am I, as Warp asks it ------------------------------------------------------------------


async def test_whoami_sends_get_user_and_workspaces_together_and_combines_them() -> None:
    """Both requests are in flight before either is answered."""
    in_flight: list[str] = []
    both_sent = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        op = request.url.params["op"]
        in_flight.append(op)
        if len(in_flight) == 2:
            both_sent.set()
        await asyncio.wait_for(both_sent.wait(), 5)
        answer = user_answer("Team", None) if op == "GetUser" else workspaces_answer(("t1", "A"), ("t2", "B"))
        return httpx.Response(200, json=answer)

    async with OzClient(SERVER, API_KEY, transport=httpx.MockTransport(handler)) as client:
        account = await client.whoami()
    assert sorted(in_flight) == ["GetUser", "GetWorkspacesMetadataForUser"]
    assert account.uid == "user-1" and account.api_key_owner_type is OwnerType.TEAM
    assert account.teams == (Team("t1", "A"), Team("t2", "B"))
    # principalType is optional, as Warp's client treats it
    assert account.principal_type == "USER"


async def test_whoami_fails_with_the_first_failure_and_leaves_nothing_running() -> None:
    cancelled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["op"] == "GetUser":
            return httpx.Response(401)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return httpx.Response(200, json=workspaces_answer())

    async with OzClient(SERVER, API_KEY, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(AuthenticationError):
            await asyncio.wait_for(client.whoami(), 5)
    assert cancelled.is_set()


# -- errors as Warp produces them ---------------------------------------------------------------


@pytest.mark.parametrize("op", ["ApiKeys", "GetUser", "GetWorkspacesMetadataForUser", "ExpireApiKey"])
async def test_user_not_in_context_is_a_rejected_credential(op: str) -> None:
    """Warp's server answers a credential it cannot place with this GraphQL error."""
    answer = {"data": None, "errors": [{"message": "User not in context: Not found"}]}
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["op"])
        if request.url.params["op"] == op:
            return httpx.Response(200, json=answer)
        return httpx.Response(200, json=GOOD_ANSWERS[request.url.params["op"]])

    calls_for = {
        "ApiKeys": lambda c: c.list_keys(),
        "GetUser": lambda c: c.whoami(),
        "GetWorkspacesMetadataForUser": lambda c: c.whoami(),
        "ExpireApiKey": lambda c: c.expire_key("k"),
    }
    async with OzClient(SERVER, API_KEY, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(AuthenticationError, match="User not in context") as caught:
            await calls_for[op](client)
    assert caught.value.exit_code == 3
    assert calls.count(op) == 1  # a rejected credential is not retried


async def test_a_user_facing_not_found_is_not_mistaken_for_a_rejected_credential() -> None:
    answer = user_facing_answer("expireApiKey", "API key not found")
    async with Recorder({"ExpireApiKey": answer}).client() as client:
        with pytest.raises(UserFacingError, match="not found"):
            await client.expire_key("k")  # no retry happened: a real "not found"


async def test_an_edge_rate_limit_names_the_identity_settings() -> None:
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    transport = httpx.MockTransport(
        lambda request: httpx.Response(429, text="Rate exceeded.", headers={"Content-Type": "text/plain"})
    )
    async with OzClient(SERVER, API_KEY, transport=transport, sleep=sleep) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_keys()
    message = str(caught.value)
    assert "Rate exceeded" in message and "\n" not in message
    for setting in ("user_agent", "client_id", "OZ_KEYS_USER_AGENT", "OZ_KEYS_CLIENT_ID"):
        assert setting in message
    assert len(sleeps) == 2  # retried as any 429


@pytest.mark.parametrize(
    ("body", "headers"),
    [("Rate exceeded.", {"Retry-After": "120"}), ('{"error": "slow down"}', {})],
)
async def test_other_rate_limits_do_not_blame_the_identity(body: str, headers: dict[str, str]) -> None:
    async def sleep(delay: float) -> None:
        pass

    transport = httpx.MockTransport(lambda request: httpx.Response(429, text=body, headers=headers))
    async with OzClient(SERVER, API_KEY, transport=transport, sleep=sleep) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_keys()
    assert "user_agent" not in str(caught.value)


async def test_expire_retried_after_a_lost_answer_finds_the_key_gone_and_succeeds() -> None:
    """The first attempt reached the server (503 from a proxy after the commit); the retry is
    told the key is not found: the key is gone, so the expiry succeeded."""
    answers = iter(
        [
            httpx.Response(503),
            httpx.Response(200, json=user_facing_answer("expireApiKey", "API key not found")),
        ]
    )

    async def sleep(delay: float) -> None:
        pass

    transport = httpx.MockTransport(lambda request: next(answers))
    async with OzClient(SERVER, API_KEY, transport=transport, sleep=sleep) as client:
        assert await client.expire_key("k") is None


async def test_expire_retried_after_a_refused_connection_still_reports_not_found() -> None:
    """Nothing reached the server the first time: "not found" is the truth, not our doing."""
    answers = iter([httpx.ConnectError("refused"), user_facing_answer("expireApiKey", "API key not found")])

    async def sleep(delay: float) -> None:
        pass

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)

    async with OzClient(SERVER, API_KEY, transport=httpx.MockTransport(handler), sleep=sleep) as client:
        with pytest.raises(UserFacingError, match="not found"):
            await client.expire_key("k")


def test_is_credential_matches_the_key_in_use_by_its_suffix() -> None:
    from datetime import datetime, timezone

    from oz_tui.core.models import ApiKey, KeyScope
    from oz_tui.backend import remote_backend
    from oz_tui.head_start import DeferredBackend

    def key(suffix: str) -> ApiKey:
        return ApiKey(uid="k", name="n", key_suffix=suffix, scope=KeyScope.PERSONAL,
                      created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))

    credential = "wk-1." + "ab" * 30 + "c0de"
    client = OzClient("https://app.warp.dev", credential)
    assert client.is_credential(key("c0de"))
    assert not client.is_credential(key("c0df"))
    assert not OzClient("https://app.warp.dev", None).is_credential(key("c0de"))
    # Too short to be a key: its last four characters would be most of it, so nothing matches.
    assert not OzClient("https://app.warp.dev", "wk-1.c0de").is_credential(key("c0de"))

    deferred = DeferredBackend(lambda: remote_backend("https://app.warp.dev", credential),
                               source="app.warp.dev", is_local=False)
    assert not deferred.client.is_credential(key("c0de"))  # not built: signed in with nothing
    deferred.build_now()
    assert deferred.client.is_credential(key("c0de"))
    assert not deferred.client.is_credential(key("0000"))
