"""The command line (in subprocesses) with Agent keys, Warp's identity headers and Warp's errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import fault_server as fs
from oz_tui.local import KeyStore, LocalService
from oz_tui.local.store import DEFAULT_AGENT_NAME

TIMEOUT = 30
FAKE_CREDENTIAL = "wk-1." + "ab" * 32
SCRUBBED = ("WARP_API_KEY", "WARP_SERVER_ROOT_URL", "WARP_OUTPUT_FORMAT", "OZ_KEYS_CONFIG",
            "OZ_KEYS_REQUEST_TIMEOUT", "OZ_KEYS_CLIENT_ID", "OZ_KEYS_USER_AGENT")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME"):
        (tmp_path / name.lower()).mkdir()
        environ[name] = str(tmp_path / name.lower())
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return environ


def run(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oz_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**env, **extra},
        timeout=TIMEOUT,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("oz-keys: ")
    return lines[0]


# -- create --agent / --agent-name on the local service -------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A local store whose team has its default agent, deploy-bot, two agents named "twin" and
    an unavailable gpu-runner."""
    path = tmp_path / "keys"
    store = KeyStore(path / "keys.db")
    store.add_agent("deploy-bot", team_uid="local-team", uid="a-deploy")
    store.add_agent("twin", team_uid="local-team", uid="a-twin-1")
    store.add_agent("twin", team_uid="local-team", uid="a-twin-2")
    store.add_agent("gpu-runner", team_uid="local-team", available=False, uid="a-gpu")
    store.close()
    return path


def agents_of_keys(data_dir: Path) -> dict[str, str | None]:
    store = KeyStore(data_dir / "keys.db")
    try:
        return {key.name: key.agent_name for key in store.active_keys()}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("flags", "agent"),
    [
        (["--agent", "a-deploy"], "deploy-bot"),
        (["--agent-name", "deploy-bot"], "deploy-bot"),
        (["--agent-name", "DEPLOY-BOT"], "deploy-bot"),  # names compare case-insensitively
        (["--agent-name", DEFAULT_AGENT_NAME], DEFAULT_AGENT_NAME),
    ],
)
def test_create_an_agent_key(
    env: dict[str, str], data_dir: Path, flags: list[str], agent: str
) -> None:
    result = run(env, "--local", "--data-dir", str(data_dir), "create", "Bot key", *flags,
                 "--output-format", "json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["raw_api_key"].startswith("wk-1.")
    assert agents_of_keys(data_dir) == {"Bot key": agent}


@pytest.mark.parametrize(
    ("flags", "code", "says"),
    [
        (["--agent-name", "nobody"], 2,
         "no agent is named 'nobody'; the team's agents: default-agent, deploy-bot, gpu-runner, "
         "twin, twin"),
        (["--agent-name", "twin"], 2, "2 agents are named 'twin'; pass one of their uids with "
         "--agent: a-twin-1, a-twin-2"),
        (["--agent-name", "gpu-runner"], 2, "the agent 'gpu-runner' is not available"),
        (["--agent-name", "evil\x1b[31m"], 2, "no agent is named 'evil"),
        (["--agent", "a-gpu"], 1, "The agent 'gpu-runner' is not available on your team's plan."),
        (["--agent", "no-such"], 1, "Unknown agent: no agent has that ID."),
        (["--agent", "a-deploy", "--personal"], 2, "not allowed with argument --agent"),
        (["--agent-name", "deploy-bot", "--team"], 2, "not allowed with argument"),
        (["--agent", "a-deploy", "--team-id", "local-team"], 2,
         "--agent and --team-id cannot be used together"),
        (["--agent", " "], 2, "--agent is empty"),
    ],
)
def test_agent_keys_that_cannot_be_made_fail_on_one_line(
    env: dict[str, str], data_dir: Path, flags: list[str], code: int, says: str
) -> None:
    result = run(env, "--local", "--data-dir", str(data_dir), "create", "Bot key", *flags)
    line = one_line_error(result)
    assert result.returncode == code, result.stderr
    assert says in line
    assert "\x1b" not in line
    assert result.stdout == ""
    assert agents_of_keys(data_dir) == {}


# -- against a server: identity on the wire, Warp's errors -----------------------------------------


class Upstream:
    """A loopback server in front of the local service (in memory), recording every request."""

    def __init__(self, *, drop_first_expiry: bool = False) -> None:
        self.service = LocalService(in_memory=True)
        self.service.store.add_agent("deploy-bot", team_uid="local-team", uid="a-deploy")
        self.expiries = 0
        self.drop_first_expiry = drop_first_expiry
        self.requests: list[fs.Request] = []
        self.forward = fs.forward(self.service.transport(), drop_answer=self._drop)
        self.server = fs.ThreadedFaultServer(self._choose)

    def _drop(self, request: fs.Request) -> bool:
        if request.op != "ExpireApiKey":
            return False
        self.expiries += 1
        return self.drop_first_expiry and self.expiries == 1

    def _choose(self, request: fs.Request) -> fs.Action:
        self.requests.append(request)
        return self.forward

    def close(self) -> None:
        self.server.close()
        self.service.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream(drop_first_expiry=True)
    yield server
    server.close()


def test_create_by_agent_name_sends_warps_identity_and_no_user_agent(
    env: dict[str, str], upstream: Upstream
) -> None:
    result = run(env, "create", "Deploys", "--agent-name", "deploy-bot", "--server-root-url",
                 upstream.server.url, "--output-format", "json", WARP_API_KEY=FAKE_CREDENTIAL)
    assert result.returncode == 0, result.stderr
    assert [(r.method, r.operation) for r in upstream.requests] == [
        ("GET", "/api/v1/agent/identities"),
        ("POST", "GenerateApiKey"),
    ]
    assert upstream.requests[1].body["variables"]["input"]["agentUid"] == "a-deploy"
    for request in upstream.requests:
        assert "user-agent" not in request.headers
        assert request.headers["x-warp-client-id"] == "warp-cli"
        assert request.headers["x-warp-os-category"]
        assert request.headers["authorization"] == f"Bearer {FAKE_CREDENTIAL}"
    assert [k.agent_name for k in upstream.service.store.active_keys()] == ["deploy-bot"]


def test_identity_settings_reach_the_wire(
    env: dict[str, str], upstream: Upstream, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('client_id = "oz-keys"\nuser_agent = "Warp/1.0"\n', encoding="utf-8")
    from_file = run(env, "list", "--server-root-url", upstream.server.url,
                    WARP_API_KEY=FAKE_CREDENTIAL, OZ_KEYS_CONFIG=str(config))
    assert from_file.returncode == 0, from_file.stderr
    from_env = run(env, "list", "--server-root-url", upstream.server.url,
                   WARP_API_KEY=FAKE_CREDENTIAL, OZ_KEYS_CONFIG=str(config),
                   OZ_KEYS_CLIENT_ID="warp-app", OZ_KEYS_USER_AGENT="Warp/2.0")
    assert from_env.returncode == 0, from_env.stderr
    first, second = upstream.requests
    assert (first.headers["x-warp-client-id"], first.headers["user-agent"]) == ("oz-keys", "Warp/1.0")
    assert (second.headers["x-warp-client-id"], second.headers["user-agent"]) == ("warp-app", "Warp/2.0")


def test_a_bad_identity_setting_exits_2(env: dict[str, str]) -> None:
    result = run(env, "list", "--demo", OZ_KEYS_USER_AGENT="Warp\u00e9/1.0")
    assert result.returncode == 2
    assert "OZ_KEYS_USER_AGENT may hold only printable ASCII" in one_line_error(result)


def test_expire_whose_answer_was_lost_reports_expired(
    env: dict[str, str], upstream: Upstream
) -> None:
    key, _ = upstream.service.store.create_key("doomed")
    result = run(env, "expire", key.uid, "--force", "--server-root-url", upstream.server.url,
                 "--output-format", "json", WARP_API_KEY=FAKE_CREDENTIAL)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["expired"] is True
    assert upstream.expiries == 2  # the first was done, its answer lost; the retry found it gone
    assert upstream.service.store.active_keys() == []


def _answering(action: fs.Action) -> Iterator[fs.ThreadedFaultServer]:
    server = fs.ThreadedFaultServer(lambda request: action)
    yield server
    server.close()


AGENT_CREATE = ("create", "k", "--agent-name", "deploy-bot")


@pytest.mark.parametrize(
    ("command", "action", "code", "says"),
    [
        (("list",),
         fs.json_answer({"data": None, "errors": [{"message": "User not in context: Not found"}]}),
         3, "account this API key belongs to is disabled or deleted"),
        (("whoami",),
         fs.json_answer({"data": None,
                         "errors": [{"message": "User not in context: ERROR user disabled"}]}),
         3, "account this API key belongs to is disabled or deleted"),
        (AGENT_CREATE, fs.json_answer({"error": "User not in context: ERROR deleted"}, 500),
         3, "account this API key belongs to is disabled or deleted"),
        (("list",), fs.respond(429, b"Rate exceeded.", {"Content-Type": "text/plain"}), 1,
         "user_agent"),
        (AGENT_CREATE, fs.respond(429, b"Rate exceeded.", {"Content-Type": "text/plain"}), 1,
         "user_agent"),
        (AGENT_CREATE, fs.json_answer({"error": "agents need the Build plan"}, 403), 1,
         "agents need the Build plan"),
    ],
    ids=["list-unknown-user", "whoami-unknown-user", "agents-unknown-user", "list-edge-429",
         "agents-edge-429", "agents-403"],
)
def test_warps_errors_exit_with_their_code(
    env: dict[str, str], command: tuple[str, ...], action: fs.Action, code: int, says: str
) -> None:
    for server in _answering(action):
        result = run(env, *command, "--server-root-url", server.url,
                     WARP_API_KEY=FAKE_CREDENTIAL, OZ_KEYS_REQUEST_TIMEOUT="5")
        line = one_line_error(result)
        assert result.returncode == code, result.stderr
        assert says in line
        assert FAKE_CREDENTIAL not in result.stderr
        # The status as the message cites it: a bare "429" also matches a port like 42957.
        if "(429)" in line:
            assert "OZ_KEYS_USER_AGENT" in line and "client_id" in line
