"""The embedded local key service, driven over HTTP with the documents the client sends."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from pathlib import Path

import httpx
import pytest

from local_helpers import (
    PYTHON,
    START,
    MutableClock,
    body,
    call,
    counting_tokens,
    error_message,
    post,
)
from oz_tui.core.models import format_time, parse_time
from oz_tui.core.names import MAX_KEY_NAME_LENGTH
from oz_tui.api.operations import (
    API_KEYS,
    EXPIRE_API_KEY,
    GENERATE_API_KEY,
    GET_USER,
    GET_WORKSPACES_METADATA_FOR_USER,
)
from oz_tui.local import KeyStore, LocalService, LocalStoreError, default_data_dir
from oz_tui.local.store import DEFAULT_AGENT_NAME, default_agent_uid, hash_key

RAW_KEY = re.compile(r"wk-1\.[0-9a-f]{64}")


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def service(clock: MutableClock) -> LocalService:
    service = LocalService(in_memory=True, clock=clock)
    yield service
    service.close()


@pytest.fixture
async def client(service: LocalService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://local") as c:
        yield c


async def create(client: httpx.AsyncClient, name: str = "CI", **input_: object) -> dict:
    result = await call(client, GENERATE_API_KEY, input={"name": name, **input_})
    assert result["__typename"] == "GenerateApiKeyOutput", result
    return result


async def listed(client: httpx.AsyncClient, **kw: object) -> list[dict]:
    result = await call(client, API_KEYS, **kw)
    assert result["__typename"] == "APIKeyPropertiesOutput", result
    return result["apiKeys"]


# -- operations ------------------------------------------------------------------------------------


async def test_generate_personal_key(client: httpx.AsyncClient, clock: MutableClock) -> None:
    result = await create(client, "  Laptop CLI  ")
    raw, key = result["rawApiKey"], result["apiKey"]
    assert RAW_KEY.fullmatch(raw)
    assert key["keySuffix"] == raw[-4:]
    assert key["name"] == "Laptop CLI"
    assert key["ownerType"] == "User"
    assert key["agentInfo"] is None
    assert parse_time(key["createdAt"]) == clock()
    assert key["lastUsedAt"] is None and key["expiresAt"] is None
    assert await listed(client) == [key]


async def test_generate_team_key_with_expiry(
    client: httpx.AsyncClient, clock: MutableClock
) -> None:
    expires = clock() + timedelta(days=30)
    # Any zone is accepted and answered in UTC.
    offset_text = expires.astimezone(timezone(timedelta(hours=2))).isoformat()
    key = (await create(client, "Deploy bot", teamId="local-team", expiresAt=offset_text))["apiKey"]
    assert key["ownerType"] == "Team"
    assert key["expiresAt"] == format_time(expires)
    assert [k["uid"] for k in await listed(client)] == [key["uid"]]


async def test_name_of_maximum_length_is_accepted(client: httpx.AsyncClient) -> None:
    name = "n" * MAX_KEY_NAME_LENGTH
    assert (await create(client, name))["apiKey"]["name"] == name


@pytest.mark.parametrize(
    ("input_", "message"),
    [
        ({"name": ""}, "cannot be blank"),
        ({"name": " \t "}, "cannot be blank"),
        ({"name": "x" * (MAX_KEY_NAME_LENGTH + 1)}, "too long (101 characters); use at most 100"),
        ({"name": "evil\x1b[2Jname"}, "cannot contain control characters"),
        ({"name": "del\x7fname"}, "cannot contain control characters"),
        ({"name": "c1\x85name"}, "cannot contain control characters"),
        ({"name": "k", "expiresAt": "2026-03-14T09:30:00Z"}, "must be in the future"),
        ({"name": "k", "expiresAt": "2020-01-01T00:00:00Z"}, "must be in the future"),
        ({"name": "k", "expiresAt": "in a week"}, "not a valid RFC 3339 time"),
        ({"name": "k", "expiresAt": "2030-01-01T00:00:00"}, "not a valid RFC 3339 time"),
        ({"name": "k", "expiresAt": 1893456000}, "not a valid RFC 3339 time"),
        ({"name": "k", "teamId": "someone-elses-team"}, "Unknown team"),
        ({"name": "k", "agentUid": "no-such-agent"}, "Unknown agent"),
        ({"name": "k", "agentUid": "", "teamId": "local-team"}, "not both"),
    ],
)
async def test_generate_validation(client: httpx.AsyncClient, input_: dict, message: str) -> None:
    result = await call(client, GENERATE_API_KEY, input=input_)
    assert message in error_message(result)
    assert await listed(client) == []


async def test_expire_removes_key_at_once(client: httpx.AsyncClient) -> None:
    keep = (await create(client, "keep"))["apiKey"]
    gone = (await create(client, "gone"))["apiKey"]
    result = await call(client, EXPIRE_API_KEY, keyUid=gone["uid"])
    assert result == {"__typename": "ExpireApiKeyOutput", "success": True}
    assert [k["uid"] for k in await listed(client)] == [keep["uid"]]

    again = await call(client, EXPIRE_API_KEY, keyUid=gone["uid"])
    assert "API key not found" in error_message(again)
    unknown = await call(client, EXPIRE_API_KEY, keyUid="no-such-key")
    assert "API key not found" in error_message(unknown)


async def test_expired_keys_leave_the_list(client: httpx.AsyncClient, clock: MutableClock) -> None:
    short = await create(client, "short", expiresAt=format_time(clock() + timedelta(days=1)))
    never = (await create(client, "never"))["apiKey"]
    clock.advance(hours=23)
    assert len(await listed(client)) == 2
    clock.advance(hours=1)  # exactly at expiry: expired
    assert [k["uid"] for k in await listed(client)] == [never["uid"]]
    result = await call(client, EXPIRE_API_KEY, keyUid=short["apiKey"]["uid"])
    assert "API key not found" in error_message(result)


async def test_list_is_newest_first(client: httpx.AsyncClient, clock: MutableClock) -> None:
    for name in ("one", "two", "three"):
        await create(client, name)
        clock.advance(minutes=1)
    assert [k["name"] for k in await listed(client)] == ["three", "two", "one"]


async def test_user_as_local_owner_and_by_key(client: httpx.AsyncClient) -> None:
    owner = await call(client, GET_USER)
    assert owner["__typename"] == "UserOutput"
    assert owner["apiKeyOwnerType"] is None
    assert owner["principalType"] == "USER"
    assert owner["user"] == {
        "profile": {"uid": "local-user", "displayName": "Local owner", "email": None},
    }
    workspaces = await call(client, GET_WORKSPACES_METADATA_FOR_USER)
    assert workspaces["user"] == {
        "workspaces": [
            {
                "uid": "local-workspace",
                "name": "Local workspace",
                "teams": [{"uid": "local-team", "name": "Local team"}],
            }
        ],
    }
    personal = (await create(client, "p"))["rawApiKey"]
    team = (await create(client, "t", teamId="local-team"))["rawApiKey"]
    agent = (await create(client, "a", agentUid=default_agent_uid("local-team")))["rawApiKey"]
    by_key = {
        raw: await call(client, GET_USER, key=raw) for raw in (personal, team, agent)
    }
    assert [(r["apiKeyOwnerType"], r["principalType"]) for r in by_key.values()] == [
        ("User", "USER"),
        ("Team", "SERVICE_ACCOUNT"),
        ("Team", "SERVICE_ACCOUNT"),
    ]


async def test_concurrent_creates_in_memory(client: httpx.AsyncClient) -> None:
    results = await asyncio.gather(*(create(client, f"key {i}") for i in range(25)))
    assert len({r["rawApiKey"] for r in results}) == 25
    assert len(await listed(client)) == 25


# -- protocol --------------------------------------------------------------------------------------


async def test_misspelled_field_is_a_graphql_error(client: httpx.AsyncClient) -> None:
    document = API_KEYS.document.replace("keySuffix", "keySufix")
    payload = body(API_KEYS)
    response = await client.post("/graphql/v2?op=ApiKeys", json={**payload, "query": document})
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None
    assert any("keySufix" in error["message"] for error in answer["errors"])


async def test_request_context_is_required(client: httpx.AsyncClient) -> None:
    document = "query ApiKeys { apiKeys { __typename } }"
    response = await client.post("/graphql/v2", json={"query": document})
    assert response.status_code == 200
    assert "requestContext" in response.json()["errors"][0]["message"]

    incomplete = body(API_KEYS)
    incomplete["variables"]["requestContext"] = {"clientContext": {}}
    response = await client.post("/graphql/v2", json=incomplete)
    assert "osContext" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[1, 2]", b'{"variables": {}}', b"\xff\xfe", b"[" * 50_000, b'{"a":' * 10_000],
    ids=["text", "array", "no-query", "not-utf8", "nested-arrays", "nested-objects"],
)
async def test_bad_body_is_400_problem(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/graphql/v2", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400


async def test_other_paths(client: httpx.AsyncClient) -> None:
    assert (await client.post("/graphql", json=body(API_KEYS))).status_code == 404
    assert (await client.get("/graphql/v2")).status_code == 405
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_store_work_runs_off_the_event_loop(
    client: httpx.AsyncClient, service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = []
    real = service.store.active_keys

    def recording() -> list:
        threads.append(threading.current_thread())
        return real()

    monkeypatch.setattr(service.store, "active_keys", recording)
    await listed(client)
    assert threads and threads[0] is not threading.main_thread()


async def test_resolver_crash_hides_its_details(
    client: httpx.AsyncClient, service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wk-1." + "a" * 64

    def crash() -> list:
        raise RuntimeError(f"leaky {secret}")

    monkeypatch.setattr(service.store, "active_keys", crash)
    response = await post(client, API_KEYS)
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "internal error in the local key service"
    assert secret[5:] not in response.text


async def test_store_failure_is_503(
    client: httpx.AsyncClient, service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked() -> list:
        raise LocalStoreError("/somewhere/keys.db: database is locked")

    monkeypatch.setattr(service.store, "active_keys", locked)
    response = await post(client, API_KEYS)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "/somewhere/keys.db: database is locked"


# -- authentication --------------------------------------------------------------------------------


def assert_unauthorized(response: httpx.Response, *secrets: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "authentication_required"
    assert problem["status"] == 401
    assert problem["detail"] == "API key missing, revoked, expired or malformed"
    for secret in secrets:
        assert secret not in response.text


async def test_good_key_updates_last_used(client: httpx.AsyncClient, clock: MutableClock) -> None:
    raw = (await create(client))["rawApiKey"]
    clock.advance(hours=5)
    await call(client, GET_USER, key=raw)
    [key] = await listed(client)
    assert parse_time(key["lastUsedAt"]) == clock()


async def test_deleted_key_is_refused_at_once(client: httpx.AsyncClient) -> None:
    created = await create(client)
    raw = created["rawApiKey"]
    await call(client, API_KEYS, key=raw)
    result = await call(client, EXPIRE_API_KEY, key=raw, keyUid=created["apiKey"]["uid"])
    assert result["success"] is True
    assert_unauthorized(await post(client, API_KEYS, key=raw), raw, raw[5:])


async def test_expired_key_is_refused(client: httpx.AsyncClient, clock: MutableClock) -> None:
    raw = (await create(client, expiresAt=format_time(clock() + timedelta(hours=1))))["rawApiKey"]
    clock.advance(hours=1, seconds=1)
    assert_unauthorized(await post(client, API_KEYS, key=raw), raw)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wk-1." + "0" * 64,  # well formed, unknown
        "Bearer wk-1.abc",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "wk-1." + "0" * 64,
        "",
    ],
)
async def test_bad_authorization_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.post(
        "/graphql/v2", json=body(API_KEYS), headers={"Authorization": authorization}
    )
    assert_unauthorized(response)


async def test_require_auth_refuses_missing_header(clock: MutableClock) -> None:
    service = LocalService(in_memory=True, clock=clock, require_auth=True)
    _, raw = service.store.create_key("bootstrap")
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://l") as c:
        assert_unauthorized(await post(c, API_KEYS))
        assert (await call(c, GET_USER, key=raw))["apiKeyOwnerType"] == "User"
    service.close()


# -- demo data -------------------------------------------------------------------------------------


async def test_demo_data_is_deterministic_and_varied() -> None:
    clock = MutableClock()
    lists = []
    for _ in range(2):
        demo = LocalService.demo(clock=clock)
        async with httpx.AsyncClient(transport=demo.transport(), base_url="http://d") as c:
            lists.append(await listed(c))
        demo.close()
    keys = lists[0]
    assert lists[0] == lists[1]
    assert 6 <= len(keys) <= 10
    names = {k["name"] for k in keys}
    assert {"CI pipeline", "Laptop CLI", "Grafana alerts"} <= names
    assert {k["ownerType"] for k in keys} == {"User", "Team"}
    assert any(k["lastUsedAt"] is None for k in keys)
    assert any(k["expiresAt"] is None for k in keys)
    soon = [
        k for k in keys if k["expiresAt"] and parse_time(k["expiresAt"]) - START < timedelta(days=7)
    ]
    assert len(soon) == 1
    assert all(parse_time(k["createdAt"]) < START for k in keys)
    assert all(re.fullmatch(r"[0-9a-f]{4}", k["keySuffix"]) for k in keys)


async def test_demo_keys_cannot_authenticate() -> None:
    import hashlib

    demo = LocalService.demo()
    demo.require_auth = True
    async with httpx.AsyncClient(transport=demo.transport(), base_url="http://d") as c:
        guess = "wk-1." + hashlib.sha256(b"CI pipeline").hexdigest()
        assert_unauthorized(await post(c, API_KEYS, key=guess))
    demo.close()


# -- storage ---------------------------------------------------------------------------------------


def db_files(data_dir: Path) -> list[Path]:
    return [data_dir / name for name in ("keys.db", "keys.db-wal", "keys.db-shm")]


async def test_raw_key_never_reaches_disk(tmp_path: Path) -> None:
    service = LocalService(tmp_path / "data")
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://l") as c:
        raws = [(await create(c, f"key {i}"))["rawApiKey"] for i in range(5)]
        await call(c, API_KEYS, key=raws[0])
    stored = b"".join(p.read_bytes() for p in db_files(tmp_path / "data") if p.exists())
    service.close()
    stored += b"".join(p.read_bytes() for p in db_files(tmp_path / "data") if p.exists())
    for raw in raws:
        assert hash_key(raw).encode() in stored  # we did read where the keys went
        assert raw.encode() not in stored
        assert raw[5:].encode() not in stored
        assert bytes.fromhex(raw[5:]) not in stored


async def test_file_and_directory_modes(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    service = LocalService(data_dir)
    async with httpx.AsyncClient(transport=service.transport(), base_url="http://l") as c:
        await create(c)
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    files = [p for p in db_files(data_dir) if p.exists()]
    assert len(files) == 3  # WAL mode, connection open
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    service.close()


def test_existing_database_is_made_owner_only(tmp_path: Path) -> None:
    LocalService(tmp_path).close()
    os.chmod(tmp_path / "keys.db", 0o644)
    LocalService(tmp_path).close()
    assert stat.S_IMODE(os.stat(tmp_path / "keys.db").st_mode) == 0o600


async def test_keys_persist_across_instances(tmp_path: Path) -> None:
    first = LocalService(tmp_path)
    _, raw = first.store.create_key("persisted", team_uid="local-team")
    first.close()
    second = LocalService(tmp_path)
    async with httpx.AsyncClient(transport=second.transport(), base_url="http://l") as c:
        [key] = await listed(c, key=raw)
    assert key["name"] == "persisted" and key["ownerType"] == "Team"
    assert second.location == str(tmp_path / "keys.db")
    second.close()


def test_corrupt_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    garbage = b"definitely not an sqlite database\n" * 200
    db.write_bytes(garbage)
    os.chmod(db, 0o644)
    with pytest.raises(LocalStoreError) as excinfo:
        LocalService(tmp_path)
    message = str(excinfo.value)
    assert message.startswith(f"{db} is not a usable oz-keys database: ")
    assert "file is not a database" in message
    assert excinfo.value.exit_code == 1
    assert db.read_bytes() == garbage
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.db"]


def test_foreign_or_newer_database_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "keys.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(LocalStoreError, match="another application"):
        LocalService(foreign)

    newer = tmp_path / "newer"
    LocalService(newer).close()
    with sqlite3.connect(newer / "keys.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LocalStoreError, match="newer oz-keys"):
        LocalService(newer)


def test_in_memory_ignores_data_dir(tmp_path: Path) -> None:
    service = LocalService(tmp_path / "unused", in_memory=True)
    assert service.location == ":memory:"
    assert not (tmp_path / "unused").exists()
    service.close()


def test_token_factory_supplies_the_secret(tmp_path: Path) -> None:
    service = LocalService(in_memory=True, token_factory=counting_tokens())
    key, raw = service.store.create_key("predictable")
    assert raw == "wk-1." + "0" * 63 + "1"
    assert key.key_suffix == "0001"
    service.close()


def test_default_data_dir_is_per_user() -> None:
    assert default_data_dir().name == "oz-keys"


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from oz_tui.local import KeyStore
    data_dir, go, label = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    while not go.exists():
        time.sleep(0.005)
    store = KeyStore(data_dir / "keys.db")
    for i in range(100):
        store.create_key(f"{label} {i}")
    store.close()
    """
)


def test_two_processes_lose_nothing(tmp_path: Path) -> None:
    data_dir, go = tmp_path / "shared", tmp_path / "go"
    writers = [
        subprocess.Popen([PYTHON, "-c", _WRITER, str(data_dir), str(go), label])
        for label in ("a", "b")
    ]
    time.sleep(0.3)  # both interpreters up and waiting, so they open and write together
    go.touch()
    assert [w.wait(timeout=30) for w in writers] == [0, 0]
    store = KeyStore(data_dir / "keys.db")
    names = {key.name for key in store.active_keys()}
    store.close()
    assert len(names) == 200
    assert {f"{label} {i}" for label in "ab" for i in range(100)} == names


def test_package_imports_stay_light() -> None:
    check = (
        "import sys, oz_tui.local; "
        "heavy = {'starlette', 'graphql', 'hypercorn', 'textual'} & set(sys.modules); "
        "assert not heavy, heavy; "
        "import oz_tui.local.service, oz_tui.local.serving; "
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([PYTHON, "-c", check], check=True, timeout=30)


# -- on a socket -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("the local service did not come up")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_on_loopback(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    script = (
        "import sys; from pathlib import Path; from oz_tui.local import serve; "
        "serve(port=int(sys.argv[1]), data_dir=Path(sys.argv[2])); print('returned')"
    )
    process = subprocess.Popen(
        [PYTHON, "-c", script, str(port), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        store = KeyStore(tmp_path / "keys.db")
        _, raw = store.create_key("served")
        store.close()

        with httpx.Client(base_url=base_url, timeout=10) as c:
            assert_unauthorized(c.post("/graphql/v2?op=ApiKeys", json=body(API_KEYS)))
            ok = c.post(
                "/graphql/v2?op=GetUser",
                json=body(GET_USER),
                headers={"Authorization": f"Bearer {raw}"},
            )
            assert ok.status_code == 200
            assert ok.json()["data"]["user"]["apiKeyOwnerType"] == "User"
            assert "server" not in ok.headers

        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout.strip() == "returned"
    assert raw not in stdout + stderr
    store = KeyStore(tmp_path / "keys.db")
    [key] = store.active_keys()
    assert key.last_used_at is not None
    store.close()


def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    from oz_tui.core.errors import OzError
    from oz_tui.local import serve

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OzError, match=r"cannot listen on 127\.0\.0\.1"):
            serve(port=busy.getsockname()[1], data_dir=tmp_path)
