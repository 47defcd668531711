"""Golden output: fixed server data through every subcommand x output format, compared with the
shapes Warp's `oz api-key` CLI writes (shared/reference: "Warp's CLI in detail").

The server is a fixed GraphQL answer set behind app.warp.dev (a mock transport), the clock is
FIXED_NOW and the raw key deterministic, so every expected value below is written out by hand.
Comparisons go field by field (JSON) or cell by cell (text, pretty): a failure names the command,
the format and the field.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
import oz_tui.backend
from oz_tui import cli
from oz_tui.backend import Backend, remote_backend

SERVER_ROOT = "https://app.warp.dev"
CREDENTIAL = "wk-1." + "0" * 60 + "c0de"  # made up; its suffix is c0de
RAW_KEY = "wk-1." + deterministic_tokens("golden")()

# -- the fixed server --------------------------------------------------------------------------


def _key(uid: str, name: str, suffix: str, owner: str, created: str, used: str | None,
         expires: str | None, agent: dict[str, str] | None = None) -> dict[str, Any]:
    return {"uid": uid, "name": name, "keySuffix": suffix, "ownerType": owner,
            "agentInfo": agent, "createdAt": created, "lastUsedAt": used, "expiresAt": expires}


#: In the server's order, which `list` keeps without --sort-by. FIXED_NOW is 2026-11-26 12:00Z.
SERVER_KEYS = [
    _key("key-agent", "deploy-bot key", "a9f3", "Team", "2026-11-23T12:00:00Z",
         "2026-11-26T11:00:00Z", "2027-02-21T12:00:00Z", {"uid": "agent-7", "name": "deploy-bot"}),
    _key("key-laptop", "laptop", "0c1d", "User", "2026-10-27T12:00:00Z", None, None),
    _key("key-ci", "CI", "7e2b", "Team", "2026-11-25T12:00:00Z", "2026-11-26T11:58:00Z",
         "2026-11-30T12:00:00Z"),
    _key("key-backup", "backup", "55aa", "User", "2026-06-01T00:00:00Z", "2026-09-01T08:30:15Z",
         "2026-12-01T00:00:00Z"),
]

USER = {
    "__typename": "UserOutput",
    "apiKeyOwnerType": "User",
    "principalType": "USER",
    "user": {
        "profile": {"uid": "user-ada", "displayName": "Ada Lovelace", "email": "ada@example.com"},
        "workspaces": [{"uid": "ws-1", "name": "Analytical Engines",
                        "teams": [{"uid": "team-1", "name": "Platform"}]}],
    },
}


class FixedServer(httpx.AsyncBaseTransport):
    def __init__(self, keys: list[dict[str, Any]], user: dict[str, Any] = USER) -> None:
        self.keys = keys
        self.user = user
        self.expired: list[str] = []
        self.created: list[dict[str, Any]] = []
        self.fail_expire: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {CREDENTIAL}"
        body = json.loads(request.content)
        op = body["operationName"]
        variables = body["variables"]
        if op == "ApiKeys":
            data = {"apiKeys": {"__typename": "APIKeyPropertiesOutput", "apiKeys": self.keys}}
        elif op == "GetUser":
            data = {"user": self.user}
        elif op == "GetWorkspacesMetadataForUser":  # who-am-I's second half (Agents)
            workspaces = self.user["user"]["workspaces"]
            data = {"user": {"__typename": "UserOutput", "user": {"workspaces": workspaces}}}
        elif op == "GenerateApiKey":
            payload = variables["input"]
            self.created.append(payload)
            key = _key("key-new", payload["name"], RAW_KEY[-4:],
                       "Team" if payload.get("teamId") else "User",
                       "2026-11-26T12:00:00Z", None, payload["expiresAt"])
            data = {"generateApiKey": {"__typename": "GenerateApiKeyOutput",
                                       "rawApiKey": RAW_KEY, "apiKey": key}}
        elif op == "ExpireApiKey":
            uid = variables["keyUid"] if "keyUid" in variables else variables["input"]["keyUID"]
            if uid in self.fail_expire:
                data = {"expireApiKey": {"__typename": "UserFacingError",
                                         "error": {"message": f"{uid} is locked"}}}
            else:
                self.expired.append(uid)
                data = {"expireApiKey": {"__typename": "ExpireApiKeyOutput", "success": True}}
        else:  # pragma: no cover - a new operation needs an answer here
            raise AssertionError(op)
        return httpx.Response(200, json={"data": data})


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixedServer]:
    fixed = FixedServer([dict(key) for key in SERVER_KEYS])

    def make_backend(settings: Any, **_options: Any) -> Backend:
        assert settings.server_root_url == SERVER_ROOT
        return remote_backend(SERVER_ROOT, settings.api_key, clock=FakeClock(FIXED_NOW),
                              transport=fixed, max_retries=0, sleep=_no_sleep)

    monkeypatch.setattr(oz_tui.backend, "for_command", make_backend)
    yield fixed


def run(tmp_path: Any, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"WARP_API_KEY": CREDENTIAL, "XDG_CONFIG_HOME": str(tmp_path)}
    code = cli.run(list(argv), env=env, stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# -- comparing, with the failing field named ------------------------------------------------------


def assert_fields(actual: Any, expected: Any, where: str) -> None:
    """`actual` equals `expected`, checked field by field so a failure names its path."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(expected), (
            f"{where}: fields {sorted(set(actual) ^ set(expected))} missing or extra"
        )
        for name, value in expected.items():
            assert_fields(actual[name], value, f"{where}.{name}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, not {len(expected)}"
        for index, (got, want) in enumerate(zip(actual, expected)):
            assert_fields(got, want, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r}, expected {expected!r}"


def assert_table(lines: list[str], expected: list[list[str]], where: str, sep: str | None) -> None:
    """Rows of cells (tab-separated, or a table's columns of two or more spaces)."""
    import re

    assert len(lines) == len(expected), f"{where}: {len(lines)} lines, not {len(expected)}"
    header = expected[0]
    for row, (line, want) in enumerate(zip(lines, expected)):
        cells = line.split(sep) if sep else re.split(r" {2,}", line)
        assert len(cells) == len(want), f"{where} line {row}: {cells!r}"
        for column, (got, cell) in enumerate(zip(cells, want)):
            assert got == cell, f"{where} line {row} column {header[column]!r}: {got!r} != {cell!r}"


# -- expected values, written out ---------------------------------------------------------------

JSON_KEYS = [
    {"uid": "key-agent", "name": "deploy-bot key", "key_suffix": "a9f3", "scope": "Team",
     "created_at": "2026-11-23T12:00:00Z", "last_used_at": "2026-11-26T11:00:00Z",
     "expires_at": "2027-02-21T12:00:00Z", "agent": {"uid": "agent-7", "name": "deploy-bot"}},
    {"uid": "key-laptop", "name": "laptop", "key_suffix": "0c1d", "scope": "Personal",
     "created_at": "2026-10-27T12:00:00Z", "last_used_at": None, "expires_at": None,
     "agent": None},
    {"uid": "key-ci", "name": "CI", "key_suffix": "7e2b", "scope": "Team",
     "created_at": "2026-11-25T12:00:00Z", "last_used_at": "2026-11-26T11:58:00Z",
     "expires_at": "2026-11-30T12:00:00Z", "agent": None},
    {"uid": "key-backup", "name": "backup", "key_suffix": "55aa", "scope": "Personal",
     "created_at": "2026-06-01T00:00:00Z", "last_used_at": "2026-09-01T08:30:15Z",
     "expires_at": "2026-12-01T00:00:00Z", "agent": None},
]
WARP_KEY_FIELDS = ["uid", "name", "key_suffix", "scope", "created_at", "last_used_at",
                   "expires_at"]

TEXT_LIST = [
    ["UID", "Name", "Key", "Scope", "Created", "Last Used", "Expires At"],
    ["key-agent", "deploy-bot key", "wk-**a9f3", "Team", "3 days ago", "1 hour ago",
     "2027-02-21 12:00:00 UTC"],
    ["key-laptop", "laptop", "wk-**0c1d", "Personal", "1 month ago", "Never", "Never"],
    ["key-ci", "CI", "wk-**7e2b", "Team", "1 day ago", "2 minutes ago",
     "2026-11-30 12:00:00 UTC"],
    ["key-backup", "backup", "wk-**55aa", "Personal", "5 months ago", "2 months ago",
     "2026-12-01 00:00:00 UTC"],
]

PRETTY_LIST = [
    ["NAME", "KEY", "SCOPE", "CREATED", "LAST USED", "EXPIRES AT", "UID"],
    ["deploy-bot key", "wk-**a9f3", "Agent", "3 days ago", "1 hour ago", "Feb 21, 2027",
     "key-agent"],
    ["laptop", "wk-**0c1d", "Personal", "1 month ago", "Never", "Never", "key-laptop"],
    ["CI", "wk-**7e2b", "Team", "1 day ago", "2 minutes ago", "Nov 30, 2026 (in 4 days)",
     "key-ci"],
    ["backup", "wk-**55aa", "Personal", "5 months ago", "2 months ago",
     "Dec 1, 2026 (in 4 days)", "key-backup"],
]

CREATED = {
    "raw_api_key": RAW_KEY,
    "api_key": {"uid": "key-new", "name": "ci deploy", "key_suffix": RAW_KEY[-4:],
                "scope": "Personal", "created_at": "2026-11-26T12:00:00Z", "last_used_at": None,
                "expires_at": "2026-12-05T13:30:00Z", "agent": None},
}

WHOAMI = {
    "uid": "user-ada", "type": "user", "display_name": "Ada Lovelace", "email": "ada@example.com",
    "team_uids": ["team-1"], "team_names": ["Platform"], "workspace_uid": "ws-1",
    "workspace_name": "Analytical Engines",
    # oz-keys' additions
    "principal_type": "USER", "api_key_owner_type": "User",
    "workspaces": [{"uid": "ws-1", "name": "Analytical Engines",
                    "teams": [{"uid": "team-1", "name": "Platform"}]}],
    "server": {"url": SERVER_ROOT, "source": "app.warp.dev", "local": False},
    "credential": {"kind": "personal key", "hint": "wk-**c0de", "source": "WARP_API_KEY"},
}

# -- list ----------------------------------------------------------------------------------------


def test_list_json_is_warps_list_compact_on_one_line(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "list", "-o", "json")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1 and ", " not in out and ": " not in out  # compact
    docs = json.loads(out)
    assert_fields(docs, JSON_KEYS, "list json")
    for doc in docs:  # Warp's fields first, in Warp's order; oz-keys' `agent` after them
        assert list(doc)[:7] == WARP_KEY_FIELDS


def test_list_ndjson_is_one_compact_object_per_line(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "list", "-o", "ndjson")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert all(": " not in line and line.startswith("{") for line in lines)
    assert_fields([json.loads(line) for line in lines], JSON_KEYS, "list ndjson")


def test_list_text_is_warps_layout(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "list", "-o", "text")
    assert (code, err) == (0, "")
    assert_table(out.splitlines(), TEXT_LIST, "list text", "\t")


def test_list_pretty(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "list")
    assert (code, err) == (0, "")
    assert_table(out.splitlines(), PRETTY_LIST, "list pretty", None)


def test_list_jq(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "list", "--jq", ".[] | select(.agent != null) | .agent.name")
    assert (code, out, err) == (0, "deploy-bot\n", "")
    code, out, _ = run(tmp_path, "list", "--jq", "map(.scope)", "-o", "text")  # --jq wins
    assert out == '["Team","Personal","Team","Personal"]\n'
    code, out, _ = run(tmp_path, "list", "--jq", ".[1].expires_at")
    assert out == "null\n"


@pytest.mark.parametrize(
    ("sort_by", "ascending", "descending"),
    [
        ("name", ["backup", "CI", "deploy-bot key", "laptop"], None),
        ("created-at", ["backup", "laptop", "deploy-bot key", "CI"], None),
        # A missing last use or expiry sorts first in ascending order.
        ("last-used-at", ["laptop", "backup", "deploy-bot key", "CI"], None),
        ("expires-at", ["laptop", "CI", "backup", "deploy-bot key"], None),
        # Stable: the server's order within a scope, in both directions.
        ("scope", ["laptop", "backup", "deploy-bot key", "CI"],
         ["deploy-bot key", "CI", "laptop", "backup"]),
    ],
)
def test_list_sorting(server: FixedServer, tmp_path: Any, sort_by: str, ascending: list[str],
                      descending: list[str] | None) -> None:
    for order, expected in (("asc", ascending), ("desc", descending or ascending[::-1])):
        code, out, err = run(tmp_path, "list", "--sort-by", sort_by, "--sort-order", order,
                             "--jq", "map(.name)")
        assert code == 0, err
        assert json.loads(out) == expected, f"--sort-by {sort_by} --sort-order {order}"
    code, out, _ = run(tmp_path, "list", "--jq", "map(.uid)")
    assert json.loads(out) == [key["uid"] for key in SERVER_KEYS]  # no --sort-by: as served


# -- create --------------------------------------------------------------------------------------

CREATE = ("create", "ci deploy", "--expires-in", "1w 2d 1h 30m")


def test_create_json_is_pretty_with_two_space_indent(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, *CREATE, "-o", "json")
    assert (code, err) == (0, "")
    assert_fields(json.loads(out), CREATED, "create json")
    assert out == json.dumps(CREATED, indent=2) + "\n"  # Warp's layout, byte for byte
    assert server.created[0]["expiresAt"] == "2026-12-05T13:30:00Z"


def test_create_ndjson_text_pretty_and_jq(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, *CREATE, "-o", "ndjson")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1 and ": " not in out
    assert_fields(json.loads(out), CREATED, "create ndjson")

    code, out, err = run(tmp_path, *CREATE, "-o", "text")
    assert (code, out, err) == (0, RAW_KEY + "\n", "")

    code, out, err = run(tmp_path, *CREATE)
    assert (code, out) == (0, RAW_KEY + "\n")
    assert err.splitlines() == [
        f"Created personal API key 'ci deploy' (wk-**{RAW_KEY[-4:]}, expires Dec 5, 2026, "
        "uid key-new).",
        "Store it now: it won't be shown again.",
    ]

    code, out, err = run(tmp_path, *CREATE, "--jq", ".raw_api_key")
    assert (code, out, err) == (0, RAW_KEY + "\n", "")


# -- expire --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "stdout"),
    [
        ("json", '{\n  "key_uid": "key-ci",\n  "expired": true\n}\n'),
        ("ndjson", '{"key_uid":"key-ci","expired":true}\n'),
        ("text", "key-ci\ttrue\n"),
        ("pretty", "Expired API key 'CI' (wk-**7e2b, uid key-ci).\n"),
    ],
)
def test_expire_one_key_is_warps_object(server: FixedServer, tmp_path: Any, fmt: str,
                                        stdout: str) -> None:
    code, out, err = run(tmp_path, "expire", "CI", "--force", "-o", fmt)
    assert (code, err) == (0, "")
    assert out == stdout, f"expire {fmt}"
    if fmt in ("json", "ndjson"):
        assert_fields(json.loads(out), {"key_uid": "key-ci", "expired": True}, f"expire {fmt}")
    assert server.expired == ["key-ci"]


@pytest.mark.parametrize(
    ("fmt", "stdout"),
    [
        ("json", '[{"key_uid":"key-ci","expired":true},{"key_uid":"key-laptop","expired":true}]\n'),
        ("ndjson", '{"key_uid":"key-ci","expired":true}\n{"key_uid":"key-laptop","expired":true}\n'),
        ("text", "key-ci\ttrue\nkey-laptop\ttrue\n"),
        ("pretty", "Expired API key 'CI' (wk-**7e2b, uid key-ci).\n"
                   "Expired API key 'laptop' (wk-**0c1d, uid key-laptop).\n"),
    ],
)
def test_expire_several_keys_is_a_list(server: FixedServer, tmp_path: Any, fmt: str,
                                       stdout: str) -> None:
    # A name, a uid, and the first key again by its uid: each key once.
    code, out, err = run(tmp_path, "expire", "CI", "key-laptop", "key-ci", "--force", "-o", fmt)
    assert (code, err) == (0, "")
    assert out == stdout, f"expire several {fmt}"
    assert server.expired == ["key-ci", "key-laptop"]


def test_expire_several_with_a_failure(server: FixedServer, tmp_path: Any) -> None:
    server.fail_expire.add("key-ci")
    code, out, err = run(tmp_path, "expire", "CI", "laptop", "--force", "-o", "json")
    assert code == 1
    assert_fields(json.loads(out), [
        {"key_uid": "key-ci", "expired": False, "error": "key-ci is locked"},
        {"key_uid": "key-laptop", "expired": True},
    ], "expire several json")
    assert err == "oz-keys: could not expire 'CI' (key-ci): key-ci is locked\n"
    assert server.expired == ["key-laptop"]


def test_expire_jq(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "expire", "key-backup", "--force", "--jq", ".expired")
    assert (code, out, err) == (0, "true\n", "")


# -- whoami --------------------------------------------------------------------------------------


def test_whoami_json_has_warps_fields(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, "whoami", "-o", "json")
    assert (code, err) == (0, "")
    assert_fields(json.loads(out), WHOAMI, "whoami json")
    code, out, err = run(tmp_path, "whoami", "-o", "ndjson")
    assert out.count("\n") == 1
    assert_fields(json.loads(out), WHOAMI, "whoami ndjson")


def test_whoami_text_pretty_and_jq(server: FixedServer, tmp_path: Any) -> None:
    assert run(tmp_path, "whoami", "-o", "text") == (0, "user:user-ada\n", "")
    code, out, err = run(tmp_path, "whoami")
    assert_table(out.splitlines(), [
        ["Server:", SERVER_ROOT],
        ["Account:", "ada@example.com (uid user-ada)"],
        ["Teams:", "Platform (team-1)"],
        ["Credential:", "personal key wk-**c0de from WARP_API_KEY"],
    ], "whoami pretty", None)
    assert run(tmp_path, "whoami", "--jq", ".team_names[0]") == (0, "Platform\n", "")


def test_whoami_service_account(server: FixedServer, tmp_path: Any) -> None:
    server.user = {**USER, "principalType": "SERVICE_ACCOUNT", "apiKeyOwnerType": "Team"}
    assert run(tmp_path, "whoami", "-o", "text") == (0, "service_account:user-ada\n", "")
    code, out, _ = run(tmp_path, "whoami", "-o", "json")
    doc = json.loads(out)
    assert (doc["type"], doc["credential"]["kind"]) == ("service_account", "team key")


# -- expiring the credential in use ------------------------------------------------------------


class _TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_expiring_the_credential_in_use_warns_in_the_prompt(server: FixedServer,
                                                            tmp_path: Any) -> None:
    server.keys.append(_key("key-self", "my cli", "c0de", "User", "2026-11-20T12:00:00Z",
                            "2026-11-26T12:00:00Z", None))
    warning = ("Warning: 'my cli' (wk-**c0de) is the API key oz-keys is signed in with from "
               "WARP_API_KEY; once it expires, oz-keys and everything using it lose access.")
    for argv in (["expire", "my cli"], ["expire", "CI", "key-self"]):
        out, err = io.StringIO(), io.StringIO()
        env = {"WARP_API_KEY": CREDENTIAL, "XDG_CONFIG_HOME": str(tmp_path)}
        assert cli.run(argv, env=env, stdin=_TtyInput("n\n"), stdout=out, stderr=err) == 0
        lines = err.getvalue().splitlines()
        assert lines[0] == warning, argv
        assert lines[-1].endswith("[y/N] Expiration cancelled")
        assert out.getvalue() == ""
    # Another key: no warning.
    err = io.StringIO()
    cli.run(["expire", "CI"], env={"WARP_API_KEY": CREDENTIAL}, stdin=_TtyInput("n\n"),
            stdout=io.StringIO(), stderr=err)
    assert "Warning" not in err.getvalue()
    assert err.getvalue().startswith(
        "Expire API key 'CI (key-ci, created 1 day ago)'? This takes effect immediately. [y/N] ")
    # --force asks nothing, and still says it.
    code, out, err = run(tmp_path, "expire", "key-self", "--force")
    assert code == 0
    assert err == ("oz-keys: warning: expiring 'my cli', the API key oz-keys is signed in with\n")
    assert server.expired == ["key-self"]


def test_create_jq_that_drops_the_raw_key_says_so(server: FixedServer, tmp_path: Any) -> None:
    code, out, err = run(tmp_path, *CREATE, "--jq", ".api_key.uid")
    assert (code, out) == (0, "key-new\n")
    assert err == ("oz-keys: note: --jq left out the raw key; 'ci deploy' (uid key-new) is "
                   "active and its secret can't be shown again\n")
