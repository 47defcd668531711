"""`oz-keys rotate` and `oz-keys audit` as a user runs them: in a subprocess, with stdin closed
(or on a pseudo-terminal for the prompt), against the embedded local service or a loopback
server that fails the step under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

import fault_server as fs
from oz_tui.core.models import OwnerType, parse_time
from test_cli import _run_in_pty

RAW_KEY = re.compile(r"^wk-1\.[0-9a-f]{64}$")
TIMEOUT = 30
SCRUBBED_ENV = ("WARP_API_KEY", "WARP_SERVER_ROOT_URL", "WARP_OUTPUT_FORMAT", "OZ_KEYS_CONFIG",
                "OZ_KEYS_REQUEST_TIMEOUT")
#: The credential the loopback server is sent (made up; it authenticates nothing).
FAKE_CREDENTIAL = "wk-1." + "0" * 60 + "beef"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME"):
        (tmp_path / name.lower()).mkdir()
        environ[name] = str(tmp_path / name.lower())
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    environ["COLUMNS"] = "200"
    return environ


class Cli:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = env
        self.data_dir = data_dir

    def __call__(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "oz_tui", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=TIMEOUT,
            **kwargs,
        )

    def local(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self("--local", "--data-dir", str(self.data_dir), *args, **kwargs)

    def remote(self, url: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "WARP_API_KEY": FAKE_CREDENTIAL}
        return subprocess.run(
            [sys.executable, "-m", "oz_tui", "--server-root-url", url, *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=TIMEOUT,
        )

    def create(self, name: str, *args: str) -> dict[str, Any]:
        result = self.local("create", name, "--output-format", "json", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def list(self) -> list[dict[str, Any]]:
        result = self.local("list", "--output-format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(env, tmp_path / "keys")


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("oz-keys: "), text
    return lines[0]


def lifetime_of(key: dict[str, Any]) -> timedelta:
    return parse_time(key["expires_at"]) - parse_time(key["created_at"])


# -- rotate: the local service --------------------------------------------------------------------


def test_rotate_replaces_a_key_with_the_same_name_type_and_lifetime(cli: Cli) -> None:
    old = cli.create("deploy", "--expires-in", "30d")["api_key"]
    result = cli.local("rotate", "deploy", "--force")
    assert result.returncode == 0, result.stderr
    # Pretty: stdout holds the new secret and nothing else; the rest is said on stderr.
    assert RAW_KEY.match(result.stdout.strip()) and len(result.stdout.splitlines()) == 1
    assert "Store it now" in result.stderr
    assert f"Expired the old API key 'deploy' (wk-**{old['key_suffix']}" in result.stderr

    [new] = cli.list()
    assert new["uid"] != old["uid"] and new["name"] == "deploy" and new["scope"] == "Personal"
    assert new["key_suffix"] == result.stdout.strip()[-4:]
    # The same lifetime, counted from the rotation (to within the subprocess's run time).
    assert abs(lifetime_of(new) - timedelta(days=30)) < timedelta(seconds=30)


def test_rotate_json_keep_old_and_a_never_expiring_team_key(cli: Cli) -> None:
    old = cli.create("ci", "--team", "--no-expiration")["api_key"]
    result = cli.local("rotate", old["uid"], "--keep-old", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"raw_api_key", "api_key", "replaced"}
    assert RAW_KEY.match(doc["raw_api_key"])
    assert doc["replaced"] == {"key_uid": old["uid"], "expired": False}
    assert doc["api_key"]["scope"] == "Team" and doc["api_key"]["expires_at"] is None
    assert doc["api_key"]["name"] == "ci"
    # Kept: both keys are active, and the note says how to expire the old one later.
    assert {key["uid"] for key in cli.list()} == {old["uid"], doc["api_key"]["uid"]}
    assert f"oz-keys expire {old['uid']}" in result.stderr

    ndjson = cli.local("rotate", old["uid"], "--force", "--output-format", "ndjson")
    assert ndjson.returncode == 0, ndjson.stderr
    [line] = ndjson.stdout.splitlines()
    assert json.loads(line)["replaced"] == {"key_uid": old["uid"], "expired": True}
    assert old["uid"] not in {key["uid"] for key in cli.list()}


@pytest.mark.parametrize(
    ("flags", "lifetime"),
    [
        (("--expires-in", "12h"), timedelta(hours=12)),
        (("--expires-in", "1w 2d"), timedelta(days=9)),
        (("--no-expiration",), None),
    ],
)
def test_rotate_expiration_flags_override_the_old_lifetime(
    cli: Cli, flags: tuple[str, ...], lifetime: timedelta | None
) -> None:
    cli.create("laptop", "--expires-in", "90d")
    result = cli.local("rotate", "laptop", "--force", "--output-format", "json", *flags)
    assert result.returncode == 0, result.stderr
    new = json.loads(result.stdout)["api_key"]
    if lifetime is None:
        assert new["expires_at"] is None
    else:
        assert abs(lifetime_of(new) - lifetime) < timedelta(seconds=30)


def test_rotate_text_output_is_the_secret_alone(cli: Cli) -> None:
    cli.create("laptop")
    result = cli.local("rotate", "laptop", "--force", "--output-format", "text")
    assert result.returncode == 0, result.stderr
    assert RAW_KEY.match(result.stdout.rstrip("\n")) and result.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rotate", "laptop"), "pass --force, or --keep-old"),
        (("rotate", "laptop", "--force", "--expires-in", "soon"), "--expires-in"),
        (("rotate", "laptop", "--force", "--expires-at", "2020-01-01T00:00:00Z"), "future"),
        (("rotate", "laptop", "--force", "--team-id", "local-team"), "Personal key"),
        (("rotate", "laptop", "--force", "--keep-old"), "not allowed with"),
        (("rotate", "nobody", "--force"), "no active API key"),
    ],
)
def test_rotate_refusals_change_nothing(cli: Cli, args: tuple[str, ...], message: str) -> None:
    cli.create("laptop")
    before = cli.list()
    result = cli.local(*args)
    assert result.returncode == (4 if "nobody" in args else 2), result.stderr
    assert message in one_line(result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert cli.list() == before


def test_rotate_whose_secret_cannot_be_written_expires_the_new_key_again(cli: Cli) -> None:
    """stdout is /dev/full: the new key can't be delivered, so it doesn't stay active, and the
    old key is left as it was."""
    old = cli.create("laptop")["api_key"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "oz_tui", "--local", "--data-dir", str(cli.data_dir),
             "rotate", "laptop", "--force"],
            stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, text=True,
            env=cli.env, timeout=TIMEOUT,
        )
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "stdout is full" in line and "expired again" in line
    assert "the old key 'laptop' was left as it was" in line
    assert [key["uid"] for key in cli.list()] == [old["uid"]]


@pytest.mark.parametrize(("answer", "expired"), [(b"", True), (b"y", True), (b"n", False)])
def test_rotate_asks_on_a_terminal_with_yes_as_the_default(
    cli: Cli, answer: bytes, expired: bool
) -> None:
    old = cli.create("laptop")["api_key"]
    args = ["--local", "--data-dir", str(cli.data_dir), "rotate", "laptop",
            "--output-format", "json"]
    code, output = _run_in_pty(args, cli.env, None, before=((b"[Y/n]", answer),))
    assert code == 0, output
    assert f"Expire the old API key 'laptop ({old['uid']}, created just now)' now?" in output
    # On a terminal the question comes between the key and the rest of the document.
    tail = output[output.index("[Y/n]"):]
    assert ("true" if expired else "false") in tail.split("}")[0]
    assert ("Expired the old API key 'laptop'" in tail) is expired
    # The secret was out before the question was asked.
    assert output.index('"raw_api_key"') < output.index("Expire the old API key")
    assert (old["uid"] in {key["uid"] for key in cli.list()}) is not expired


# -- rotate: a loopback server failing one step ---------------------------------------------------


class Staged:
    """A loopback server for rotate: each operation answers well unless overridden."""

    def __init__(self, **answers: fs.Action) -> None:
        self.answers = answers
        self.bodies: dict[str, list[Any]] = {}

    def choose(self, request: fs.Request) -> fs.Action:
        op = request.operation
        self.bodies.setdefault(op, []).append(request.body)
        if op in self.answers:
            return self.answers[op]
        defaults = {
            "ApiKeys": fs.keys_answer(fs.PERSONAL_KEY, fs.TEAM_KEY),
            "GenerateApiKey": fs.created_answer(dict(fs.PERSONAL_KEY, uid="key-new")),
            "ExpireApiKey": fs.expired_answer(),
            "GetUser": fs.user_answer(),
            "GetWorkspacesMetadataForUser": fs.workspaces_answer(),
        }
        return fs.json_answer(defaults[op])

    def count(self, op: str) -> int:
        return len(self.bodies.get(op, []))


@pytest.fixture
def staged() -> Iterator[Any]:
    servers: list[fs.ThreadedFaultServer] = []

    def start(**answers: fs.Action) -> tuple[Staged, str]:
        stage = Staged(**answers)
        server = fs.ThreadedFaultServer(stage.choose)
        servers.append(server)
        return stage, server.url

    yield start
    for server in servers:
        server.close()


def test_rotate_sends_exactly_one_create_and_one_expire(cli: Cli, staged: Any) -> None:
    stage, url = staged()
    result = cli.remote(url, "rotate", "Laptop", "--force", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["replaced"] == {"key_uid": "key-personal", "expired": True}
    assert (stage.count("ApiKeys"), stage.count("GenerateApiKey"), stage.count("ExpireApiKey"),
            stage.count("GetUser")) == (1, 1, 1, 0)
    payload = stage.bodies["GenerateApiKey"][0]["variables"]["input"]
    assert payload["name"] == "Laptop" and "teamId" not in payload
    # The old key lived 90 days (Nov 20 to Feb 18); so does the new one, from now.
    expires = parse_time(payload["expiresAt"])
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=90)) < timedelta(seconds=30)
    assert '"key-personal"' in json.dumps(stage.bodies["ExpireApiKey"][0]["variables"])


def test_rotate_whose_create_fails_changes_nothing(cli: Cli, staged: Any) -> None:
    stage, url = staged(
        GenerateApiKey=fs.json_answer(fs.user_facing_answer("generateApiKey", "Quota reached"))
    )
    result = cli.remote(url, "rotate", "Laptop", "--force")
    assert result.returncode == 1
    assert "Quota reached" in one_line(result.stderr)
    assert result.stdout == ""
    assert stage.count("GenerateApiKey") == 1 and stage.count("ExpireApiKey") == 0


@pytest.mark.parametrize("output_format", ["pretty", "json"])
def test_rotate_whose_expire_fails_still_delivers_the_new_key(
    cli: Cli, staged: Any, output_format: str
) -> None:
    stage, url = staged(
        ExpireApiKey=fs.json_answer(fs.user_facing_answer("expireApiKey", "Key is locked"))
    )
    result = cli.remote(url, "rotate", "Laptop", "--force", "--output-format", output_format)
    assert result.returncode == 1
    if output_format == "json":
        doc = json.loads(result.stdout)
        assert doc["raw_api_key"] == fs.RAW_KEY
        assert doc["replaced"] == {"key_uid": "key-personal", "expired": False}
    else:
        assert result.stdout == fs.RAW_KEY + "\n"
    error = result.stderr.splitlines()[-1]
    assert error.startswith("oz-keys: the new key was created, but the old key 'Laptop'")
    assert "(uid key-personal) is still active: Key is locked" in error
    assert stage.count("GenerateApiKey") == 1 and stage.count("ExpireApiKey") == 1


def test_rotate_a_team_key_needs_its_team_when_there_are_several(
    cli: Cli, staged: Any
) -> None:
    two_teams = fs.workspaces_answer(("team-1", "Engines"), ("team-2", "Looms"))
    stage, url = staged(GetWorkspacesMetadataForUser=fs.json_answer(two_teams))
    refused = cli.remote(url, "rotate", "CI pipeline", "--force")
    assert refused.returncode == 2
    line = one_line(refused.stderr)
    assert "--team-id" in line and "team-1 (Engines)" in line and "team-2 (Looms)" in line
    assert stage.count("GenerateApiKey") == 0

    chosen = cli.remote(url, "rotate", "CI pipeline", "--force", "--team-id", "team-2")
    assert chosen.returncode == 0, chosen.stderr
    payload = stage.bodies["GenerateApiKey"][0]["variables"]["input"]
    assert payload["teamId"] == "team-2" and payload["expiresAt"] is None


def test_rotate_a_team_key_uses_the_only_team(cli: Cli, staged: Any) -> None:
    stage, url = staged()
    result = cli.remote(url, "rotate", "CI pipeline", "--force")
    assert result.returncode == 0, result.stderr
    assert stage.count("GetWorkspacesMetadataForUser") == 1
    assert stage.bodies["GenerateApiKey"][0]["variables"]["input"]["teamId"] == "team-1"


# -- audit --------------------------------------------------------------------------------------


def seed(data_dir: Path) -> dict[str, str]:
    """Keys in every state the audit tells apart; returns name -> uid."""
    from oz_tui.local import DB_FILENAME
    from oz_tui.local.store import KeyStore, StoredKey

    now = datetime.now(timezone.utc)
    day = timedelta(days=1)
    rows = {
        # name: (created ago, last used ago, expires in)
        "fine": (10 * day, day, 60 * day),
        "expiring": (80 * day, day, 3 * day),
        "idle": (200 * day, 120 * day, 100 * day),
        "unused-old": (95 * day, None, 100 * day),
        "unused-new": (5 * day, None, 60 * day),
        "forever": (20 * day, day, None),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    store = KeyStore(data_dir / DB_FILENAME)
    uids = {}
    try:
        for i, (name, (created, used, expires)) in enumerate(rows.items()):
            uid = f"00000000-0000-4000-8000-{i:012d}"
            uids[name] = uid
            store.insert(
                StoredKey(
                    uid=uid, name=name, key_suffix=f"{i:04d}", owner_type=OwnerType.USER,
                    team_uid=None, created_at=now - created,
                    last_used_at=None if used is None else now - used,
                    expires_at=None if expires is None else now + expires, revoked_at=None,
                ),
                f"test:{uid}",
            )
    finally:
        store.close()
    return uids


def test_audit_defaults_report_expiring_and_idle_keys_and_exit_1(cli: Cli) -> None:
    uids = seed(cli.data_dir)
    result = cli.local("audit", "--output-format", "json")
    assert result.returncode == 1, result.stderr
    found = {item["name"]: [r["code"] for r in item["reasons"]] for item in json.loads(result.stdout)}
    # A never-used key is idle since its creation: 95 days counts, 5 days doesn't.
    assert found == {"expiring": ["expiring"], "idle": ["idle"], "unused-old": ["idle"]}
    by_name = {item["name"]: item for item in json.loads(result.stdout)}
    assert by_name["idle"]["uid"] == uids["idle"]
    assert by_name["idle"]["reasons"][0]["message"] == "idle 120d (since last used)"
    assert by_name["unused-old"]["reasons"][0]["message"] == "idle 95d (since created)"
    assert by_name["expiring"]["reasons"][0]["message"].startswith("expires in 2 days")


def test_audit_flags_widen_and_narrow_the_checks(cli: Cli) -> None:
    seed(cli.data_dir)
    wide = cli.local("audit", "--never-expires", "--never-used", "--output-format", "ndjson")
    assert wide.returncode == 1
    found = {
        item["name"]: [r["code"] for r in item["reasons"]]
        for item in map(json.loads, wide.stdout.splitlines())
    }
    assert found == {
        "expiring": ["expiring"],
        "idle": ["idle"],
        "unused-old": ["never_used", "idle"],
        "unused-new": ["never_used"],
        "forever": ["never_expires"],
    }
    clean = cli.local("audit", "--expiring-within", "1d", "--idle-for", "1y",
                      "--output-format", "json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout) == []


def test_audit_pretty_and_text(cli: Cli) -> None:
    uids = seed(cli.data_dir)
    pretty = cli.local("audit")
    assert pretty.returncode == 1
    header, *rows = pretty.stdout.splitlines()
    assert header.split() == ["NAME", "KEY", "SCOPE", "NEEDS", "ATTENTION", "UID"]
    assert [row.split()[0] for row in rows] == ["idle", "unused-old", "expiring"]
    assert "3 of 6 keys need attention." in pretty.stderr

    text = cli.local("audit", "--output-format", "text")
    assert text.returncode == 1
    lines = [line.split("\t") for line in text.stdout.splitlines()]
    assert lines[0] == ["UID", "Name", "Key", "Reasons", "Details"]
    assert lines[1] == [uids["idle"], "idle", "wk-**0002", "idle", "idle 120d (since last used)"]
    assert len(lines) == 4

    clean = cli.local("audit", "--idle-for", "1y", "--expiring-within", "1h")
    assert clean.returncode == 0 and clean.stdout == ""
    assert "All 6 keys look fine (checked: expiring within 1h, idle for 365d 6h)" in clean.stderr


def test_audit_on_no_keys_is_clean_and_bad_durations_are_usage_errors(cli: Cli) -> None:
    empty = cli.local("audit", "--output-format", "json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []
    for flag in ("--idle-for", "--expiring-within"):
        bad = cli.local("audit", flag, "ninety days")
        assert bad.returncode == 2
        assert flag in one_line(bad.stderr) and bad.stdout == ""


def test_audit_in_cron_style_pipeline(cli: Cli, tmp_path: Path) -> None:
    """`oz-keys audit || notify`: the notifier runs exactly when something needs attention."""
    marker = tmp_path / "notified"
    command = (
        f"{sys.executable} -m oz_tui --local --data-dir {cli.data_dir} audit > /dev/null "
        f"|| touch {marker}"
    )
    subprocess.run(["sh", "-c", command], env=cli.env, timeout=TIMEOUT, check=True)
    assert not marker.exists()
    seed(cli.data_dir)
    subprocess.run(["sh", "-c", command], env=cli.env, timeout=TIMEOUT, check=True)
    assert marker.exists()


HOSTILE = "[bold]x[/] \x1b[2J\x1b]52;c;aGk=\x07 \u202eevil\u200b"


def test_hostile_names_are_printed_safely_by_rotate_and_audit(cli: Cli, staged: Any) -> None:
    """Names come from the server: pretty and text make them terminal-safe, JSON escapes them."""
    hostile_key = dict(fs.PERSONAL_KEY, name=HOSTILE)
    _stage, url = staged(
        ApiKeys=fs.json_answer(fs.keys_answer(hostile_key)),
        GenerateApiKey=fs.json_answer(fs.created_answer(dict(hostile_key, uid="key-new"))),
    )
    for fmt in ("pretty", "text"):
        result = cli.remote(url, "audit", "--never-used", "--output-format", fmt)
        assert result.returncode == 1, result.stderr
        for stream in (result.stdout, result.stderr):
            assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream
        assert "[bold]x[/]" in result.stdout
    doc = json.loads(cli.remote(url, "audit", "--never-used", "--output-format", "json").stdout)
    assert doc[0]["name"] == HOSTILE  # escaped, and it round-trips

    rotated = cli.remote(url, "rotate", "key-personal", "--force")
    assert rotated.returncode == 0, rotated.stderr
    assert "\x1b" not in rotated.stderr and "\u202e" not in rotated.stderr
    assert "[bold]x[/]" in rotated.stderr


def test_rotate_and_audit_through_jq(cli: Cli) -> None:
    cli.create("ci", "--expires-in", "1d")
    only_secret = cli.local("rotate", "ci", "--force", "--jq", ".raw_api_key")
    assert only_secret.returncode == 0, only_secret.stderr
    assert RAW_KEY.match(only_secret.stdout.rstrip("\n")) and only_secret.stdout.count("\n") == 1
    outcome = cli.local("rotate", "ci", "--keep-old", "--jq", ".replaced.expired")
    assert outcome.returncode == 0 and outcome.stdout == "false\n"
    names = cli.local("audit", "--jq", ".[].name")
    assert names.returncode == 1 and names.stdout.splitlines() == ["ci", "ci"]


def test_rotate_of_a_name_shared_by_several_keys_without_a_terminal_names_them(cli: Cli) -> None:
    uids = {cli.create("ci")["api_key"]["uid"] for _ in range(2)}
    result = cli.local("rotate", "ci", "--force", "--output-format", "json")
    assert result.returncode == 2
    assert result.stdout == ""  # only results on stdout: a secret store must not get a listing
    line = one_line(result.stderr)
    assert all(uid in line for uid in uids)
    assert {key["uid"] for key in cli.list()} == uids


def test_rotate_an_agent_key_keeps_its_agent(cli: Cli, staged: Any) -> None:
    stage, url = staged(ApiKeys=fs.json_answer(fs.keys_answer(fs.AGENT_KEY)))
    result = cli.remote(url, "rotate", "Triage bot", "--force", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    payload = stage.bodies["GenerateApiKey"][0]["variables"]["input"]
    assert payload.get("agentUid") == "agent-1" and not payload.get("teamId")
    assert stage.count("GetUser") == 0 and stage.count("ExpireApiKey") == 1
