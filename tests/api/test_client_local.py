"""OzClient against the embedded local key service: in process, and over a loopback socket."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator, Iterator

import httpx
import pytest

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from oz_tui.core.errors import AuthenticationError, UserFacingError
from oz_tui.core.models import Expiration, KeyScope, OwnerType
from oz_tui.api.client import OzClient
from oz_tui.backend import Backend, local_backend

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVE_SCRIPT = """
import sys
from datetime import datetime
from pathlib import Path
from oz_tui.local import serve
now = datetime.fromisoformat(sys.argv[3])
serve("127.0.0.1", int(sys.argv[1]), Path(sys.argv[2]), clock=lambda: now)
"""


@pytest.fixture
async def backend(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Backend]:
    b = local_backend(tmp_path, clock=clock, token_factory=deterministic_tokens())
    yield b
    await b.aclose()


async def test_every_operation_in_process(backend: Backend, clock: FakeClock) -> None:
    client = backend.client
    assert backend.is_local
    account = await client.whoami()
    assert account.credential_kind == "session"  # in process, no key: the local owner
    assert account.teams, "the local identity has a team to offer"
    team = account.teams[0]
    assert await client.list_keys() == []

    personal = await client.create_key("Laptop", Expiration.DAYS_30)
    team_key = await client.create_key("CI", Expiration.DAY_1, team_id=team.uid)
    forever = await client.create_key("Forever", Expiration.NEVER)
    assert personal.raw_key.startswith("wk-")
    assert personal.api_key.key_suffix == personal.raw_key[-4:]
    assert personal.api_key.scope is KeyScope.PERSONAL
    assert personal.api_key.created_at == FIXED_NOW
    assert personal.api_key.expires_at == FIXED_NOW + timedelta(days=30)
    assert personal.api_key.last_used_at is None
    assert team_key.api_key.scope is KeyScope.TEAM
    assert forever.api_key.expires_at is None

    listed = {k.uid: k for k in await client.list_keys()}
    assert listed == {
        personal.api_key.uid: personal.api_key,
        team_key.api_key.uid: team_key.api_key,
        forever.api_key.uid: forever.api_key,
    }

    await client.expire_key(personal.api_key.uid)
    assert personal.api_key.uid not in {k.uid for k in await client.list_keys()}
    with pytest.raises(UserFacingError, match="API key not found"):
        await client.expire_key(personal.api_key.uid)

    clock.advance(timedelta(days=2))  # the 1-day team key lapses by the injected clock
    assert {k.name for k in await client.list_keys()} == {"Forever"}


async def test_the_service_refusals_reach_the_user_as_its_messages(backend: Backend) -> None:
    client = backend.client
    with pytest.raises(UserFacingError, match="future"):
        await client.create_key("Old", FIXED_NOW - timedelta(days=1))
    with pytest.raises(UserFacingError, match="Unknown team"):
        await client.create_key("Nope", Expiration.DAYS_90, team_id="no-such-team")
    assert await client.list_keys() == []


# -- over a real loopback socket ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`oz_tui.local.serve` in a subprocess on a free loopback port, on a fresh data dir."""
    data_dir = tmp_path_factory.mktemp("served")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(port), str(data_dir), FIXED_NOW.isoformat()],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("serve did not come up within 15 s")
            time.sleep(0.05)
        yield url, data_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _issue(data_dir: Path, clock: FakeClock, name: str, *, seed: str) -> tuple[str, str]:
    """A key issued through the in-process path on the served data dir: (uid, raw key)."""
    b = local_backend(data_dir, clock=clock, token_factory=deterministic_tokens(seed))
    try:
        created = await b.client.create_key(name, Expiration.DAYS_90)
    finally:
        await b.aclose()
    return created.api_key.uid, created.raw_key


async def test_every_operation_over_the_socket(served: tuple[str, Path], clock: FakeClock) -> None:
    url, data_dir = served
    uid, raw = await _issue(data_dir, clock, "Socket key", seed="socket-ops")
    async with OzClient(url, raw, clock=clock) as client:
        account = await client.whoami()
        assert account.api_key_owner_type is OwnerType.USER
        assert account.credential_kind == "personal key"

        listed = {k.uid: k for k in await client.list_keys()}
        assert listed[uid].name == "Socket key"
        assert listed[uid].last_used_at == FIXED_NOW  # the service noted the key's use

        created = await client.create_key("Made over TCP", Expiration.DAYS_30)
        assert created.api_key.expires_at == FIXED_NOW + timedelta(days=30)
        assert created.api_key.uid in {k.uid for k in await client.list_keys()}

        await client.expire_key(created.api_key.uid)
        assert created.api_key.uid not in {k.uid for k in await client.list_keys()}


async def test_a_deleted_key_gets_401_at_once(served: tuple[str, Path], clock: FakeClock) -> None:
    url, data_dir = served
    uid, raw = await _issue(data_dir, clock, "Doomed", seed="doomed")
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async with OzClient(url, raw, sleep=sleep) as client:
        assert uid in {k.uid for k in await client.list_keys()}
        await client.expire_key(uid)  # the key deletes itself
        with pytest.raises(AuthenticationError, match="401") as caught:
            await client.list_keys()
    assert sleeps == []  # refused, not retried
    assert raw not in "".join(str(a) for a in caught.value.args)


@pytest.mark.parametrize("credential", [None, "wk-" + "0" * 64])
async def test_no_key_or_an_unknown_key_is_refused_over_the_socket(
    served: tuple[str, Path], credential: str | None
) -> None:
    url, _ = served
    async with OzClient(url, credential) as client:
        with pytest.raises(AuthenticationError):
            await client.whoami()
