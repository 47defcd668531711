"""The `oz-keys` command line, mostly as a user runs it: in a subprocess, with stdin closed.

Every subprocess gets its own XDG and HOME dirs and no WARP_* variables, so nothing touches the
real home. Subcommands run against the embedded local service (`--local --data-dir`), except the
`serve` test, which talks to a real socket.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import termios
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from oz_tui import cli
from oz_tui.core.models import Expiration, KeyType, OwnerType

RAW_KEY = re.compile(r"^wk-1\.[0-9a-f]{64}$")
RAW_KEY_ANYWHERE = re.compile(r"wk-1\.[0-9a-f]{64}")
#: Warp's list item fields plus oz-keys' `agent`.
KEY_FIELDS = {
    "uid", "name", "key_suffix", "scope", "created_at", "last_used_at", "expires_at", "agent"
}
SCRUBBED_ENV = (
    "WARP_API_KEY",
    "WARP_SERVER_ROOT_URL",
    "WARP_OUTPUT_FORMAT",
    "OZ_KEYS_CONFIG",
    "OZ_KEYS_REQUEST_TIMEOUT",
    "OZ_KEYS_CLIENT_ID",
    "OZ_KEYS_USER_AGENT",
)
TIMEOUT = 30


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process runs read the config and data dirs from here, never from the real home."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / f"inproc-{name.lower()}"))
    for name in SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment whose home, config and data dirs are throwaway."""
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "HOME"):
        path = tmp_path / name.lower()
        path.mkdir()
        environ[name] = str(path)
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    environ["COLUMNS"] = "200"
    return environ


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


class Cli:
    def __init__(self, env: dict[str, str], data_dir: Path, cwd: Path) -> None:
        self.env = env
        self.data_dir = data_dir
        self.cwd = cwd

    def __call__(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "oz_tui", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**self.env, **(extra_env or {})},
            cwd=self.cwd,
            timeout=timeout,
        )

    def local(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self("--local", "--data-dir", str(self.data_dir), *args, **kwargs)

    def create(self, name: str, *args: str) -> dict[str, Any]:
        result = self.local("create", name, "--output-format", "json", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def list(self, *args: str) -> list[dict[str, Any]]:
        result = self.local("list", "--output-format", "json", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def run_cli(env: dict[str, str], data_dir: Path, tmp_path: Path) -> Cli:
    return Cli(env, data_dir, tmp_path)


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# -- launching -----------------------------------------------------------------------------------


def test_no_subcommand_without_a_terminal_exits_2_promptly(run_cli: Cli) -> None:
    started = time.monotonic()
    result = run_cli(timeout=15)
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("oz-keys: ")
    for name in ("list", "create", "expire", "whoami", "serve"):
        assert name in line


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["--help"]) == 0
    text = capsys.readouterr().out
    for word in ("list", "create", "expire", "whoami", "serve", "WARP_API_KEY", "exit codes",
                 "--request-timeout", "OZ_KEYS_REQUEST_TIMEOUT"):
        assert word in text
    assert cli.run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("oz-keys ")


def test_version_names_oz_keys_python_and_textual(run_cli: Cli) -> None:
    import platform
    from importlib.metadata import version

    from oz_tui import __version__

    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        f"oz-keys {__version__} (Python {platform.python_version()}, "
        f"Textual {version('textual')})\n"
    )


def test_version_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from oz_tui.cli import run\n"
        "assert run(['--version']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def _report(code: str, run_cli: Cli) -> Any:
    """What a Python snippet run in a fresh interpreter printed as JSON on its last stderr line."""
    result = subprocess.run(
        [sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env=run_cli.env, timeout=TIMEOUT,
    )
    assert result.stderr, result.stdout
    return json.loads(result.stderr.splitlines()[-1])


def test_subcommands_do_not_import_textual(run_cli: Cli, data_dir: Path) -> None:
    code = (
        "import json, sys\n"
        "from oz_tui.cli import run\n"
        f"d = {str(data_dir)!r}\n"
        "codes = [run(['--local', '--data-dir', d, '--output-format', 'json', *a]) for a in (\n"
        "    ['create', 'ci'], ['list'], ['whoami'], ['expire', 'ci', '--force'])]\n"
        "mods = sorted(m for m in sys.modules\n"
        "              if m.split('.')[0] in ('textual', 'jq', 'argcomplete') or m.startswith('oz_tui.tui'))\n"
        "print(json.dumps({'codes': codes, 'mods': mods}), file=sys.stderr)\n"
    )
    assert _report(code, run_cli) == {"codes": [0, 0, 0, 0], "mods": []}


def test_local_subcommands_load_no_event_loop_http_or_graphql(run_cli: Cli, data_dir: Path) -> None:
    """On the store in process a command has nothing to wait for: no asyncio, no httpx, no
    GraphQL service (issue 15: `oz-keys list --local` imports only what it uses)."""
    code = (
        "import json, sys\n"
        "from oz_tui.cli import run\n"
        f"d = {str(data_dir)!r}\n"
        "codes = [run(['--local', '--data-dir', d, *a]) for a in (\n"
        "    ['create', 'ci'], ['list'], ['whoami'], ['expire', 'ci', '--force'], ['list'])]\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'asyncio', 'httpx', 'httpcore',\n"
        "               'anyio', 'graphql', 'starlette', 'uvicorn', 'tomllib'})\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}), file=sys.stderr)\n"
    )
    assert _report(code, run_cli) == {"codes": [0, 0, 0, 0, 0], "heavy": []}


def test_list_on_an_existing_store_loads_only_what_listing_uses(
    run_cli: Cli, data_dir: Path
) -> None:
    """`oz-keys list --local` on a store made earlier: nothing another command needs (audit,
    rotation, the keymap, the client identity, key hashing, new uids, serve's quoting) and no
    other subcommand's arguments."""
    assert run_cli("--local", "--data-dir", str(data_dir), "create", "ci").returncode == 0
    code = (
        "import json, sys\n"
        "from oz_tui.cli import parser, run\n"
        "built = []\n"
        "fill = parser._Parser.filled\n"
        "def filled(self):\n"
        "    if self.pending_arguments is not None: built.append(self.command)\n"
        "    return fill(self)\n"
        "parser._Parser.filled = filled\n"
        f"code = run(['--local', '--data-dir', {str(data_dir)!r}, 'list'])\n"
        "unused = sorted(set(sys.modules) & {'oz_tui.core.audit', 'oz_tui.core.hygiene', 'oz_tui.core.rotation',\n"
        "    'oz_tui.core.keymap', 'oz_tui.api.identity', 'hashlib', 'uuid', 'shlex', 'platform'})\n"
        "print(json.dumps({'code': code, 'unused': unused, 'built': built}), file=sys.stderr)\n"
    )
    assert _report(code, run_cli) == {"code": 0, "unused": [], "built": ["list"]}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_panel_gets_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import oz_tui.tui.app as app_module

    seen: dict[str, Any] = {}

    class FakeApp:
        def __init__(self, backend: Any, **options: Any) -> None:
            seen.update(options, source=backend.source)
            self.return_code = 0

        def run(self) -> None:
            seen["ran"] = True

    monkeypatch.setattr(app_module, "OzKeysApp", FakeApp)
    config = tmp_path / "config.toml"
    config.write_text('theme = "nord"\ndefault_key_type = "team"\ndefault_expiration = "1d"\n'
                      '[keymap]\ncreate = "c"\n')
    err = io.StringIO()
    code = cli.run(["--demo"], env={"OZ_KEYS_CONFIG": str(config)}, stdin=_Tty(), stdout=_Tty(),
                   stderr=err)
    assert code == 0, err.getvalue()
    assert seen.pop("clock") is not None
    assert callable(seen.pop("remember_theme"))
    assert callable(seen.pop("remember_notice_dismissed"))
    assert seen == {
        "default_expiration": Expiration.DAY_1,
        "default_key_type": KeyType.TEAM,
        "theme": "nord",
        "clipboard_clear_seconds": 45.0,
        "credential_source": None,
        "explain_local_service": False,  # --demo was chosen: no first-run notice
        "keymap": {"create": "c"},
        "source": "Demo data (in memory)",
        "ran": True,
    }


# -- for the person typing ------------------------------------------------------------------------


def _run_in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), env={}, stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["lsit"], "unknown command 'lsit'; did you mean 'list'? (see 'oz-keys --help')"),
        (["expire", "x", "--forse"],
         "unknown option '--forse'; did you mean '--force'? (see 'oz-keys expire --help')"),
        (["list", "--ouput-format", "json"],
         "unknown option '--ouput-format'; did you mean '--output-format'? "
         "(see 'oz-keys list --help')"),
        (["create", "x", "--expires", "1d"],
         "unknown option '--expires'; did you mean '--expires-in'? "
         "(see 'oz-keys create --help')"),
        (["list", "--sort-by", "nme"],
         "--sort-by: invalid choice 'nme'; did you mean 'name'? (see 'oz-keys list --help')"),
        (["list", "-o", "jsno"],
         "-o/--output-format: invalid choice 'jsno'; did you mean 'json'? "
         "(see 'oz-keys list --help')"),
        (["help", "creat"], "unknown command 'creat'; did you mean 'create'? "
         "(see 'oz-keys --help')"),
        # After the top-level options and their values; nothing near: every choice.
        (["-o", "json", "--request-timeout", "5", "lsit"],
         "unknown command 'lsit'; did you mean 'list'? (see 'oz-keys --help')"),
        (["--local", "zzz"], "unknown command 'zzz' (choose from list, create, expire, delete, "
         "rotate, audit, whoami, serve, completion, help) (see 'oz-keys --help')"),
        (["list", "--sort-order", "up"],
         "--sort-order: invalid choice 'up' (choose from asc, desc) (see 'oz-keys list --help')"),
        (["-ojsno", "list"], "-o/--output-format: invalid choice 'jsno'; did you mean 'json'? "
         "(see 'oz-keys --help')"),
        (["create"], "the following arguments are required: NAME (see 'oz-keys create --help')"),
        (["--demo", "serve"], "--demo does not apply to 'serve' (see 'oz-keys serve --help')"),
        (["serve", "--api-key", "wk-1.x"],
         "--api-key does not apply to 'serve' (see 'oz-keys serve --help')"),
        (["--jq", ".", "--demo"], "--jq applies to subcommands, not the panel "
         "(see 'oz-keys --help')"),
        (["--demo", "create", "x", "--expires-in", "3 parsecs"],
         "--expires-in: unknown unit 'parsecs' in '3 parsecs'; use a number and a unit "
         "(m, h, d, w, M, y; e.g. 90m, 12h, 30d, 1w), or several (1w 2d) "
         "(see 'oz-keys create --help')"),
    ],
)
def test_usage_errors_suggest_and_point_at_the_right_help(argv: list[str], line: str) -> None:
    code, out, err = _run_in_process(*argv)
    assert (code, out) == (2, "")
    assert err == f"oz-keys: {line}\n"


def test_help_command_and_each_subcommands_help() -> None:
    code, top, _ = _run_in_process("help")
    assert code == 0 and top == _run_in_process("--help")[1]
    for name in ("list", "create", "expire", "whoami", "serve"):
        code, text, _ = _run_in_process("help", name)
        assert code == 0
        assert text == _run_in_process(name, "--help")[1]
        assert text.startswith(f"usage: oz-keys {name} ")
        assert "examples:" in text
    create = _run_in_process("help", "create")[1]
    for example in ("| jq -r .raw_api_key", "--expires-in 1w", "--team-id"):
        assert example in create
    assert "--force" in _run_in_process("help", "expire")[1].split("examples:")[1]
    # Only the global options that apply: serve takes --data-dir, not a credential or format.
    serve = _run_in_process("serve", "--help")[1]
    assert "--data-dir" in serve
    for flag in ("--api-key", "--output-format", "--jq", "--demo"):
        assert flag not in serve
    for flag in ("--api-key", "-o FORMAT, --output-format", "--jq FILTER"):
        assert flag in _run_in_process("list", "--help")[1]


def test_panel_without_a_terminal_points_at_help(run_cli: Cli) -> None:
    result = run_cli("--demo")
    assert result.returncode == 2
    assert one_line(result.stderr).endswith("(see 'oz-keys --help')")


def test_jq_filters_with_jq_semantics(run_cli: Cli) -> None:
    run_cli.create("alpha", "--no-expiration")
    run_cli.create("bravo", "--expires-in", "12h")
    names = run_cli.local("list", "--sort-by", "name", "--jq", ".[].name")
    assert (names.returncode, names.stdout) == (0, "alpha\nbravo\n")
    never = run_cli.local("list", "--jq", "[.[] | select(.expires_at == null)] | length")
    assert never.stdout == "1\n"
    raw = run_cli.local("create", "ci", "--jq", ".raw_api_key")
    assert raw.returncode == 0 and RAW_KEY.match(raw.stdout.rstrip("\n"))


@pytest.mark.parametrize("command", [["list"], ["create", "ci"], ["whoami"],
                                     ["expire", "x", "--force"]])
def test_a_bad_jq_filter_is_one_line_exit_2_before_anything_happens(
    run_cli: Cli, command: list[str]
) -> None:
    result = run_cli.local(*command, "--jq", ".[")
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("oz-keys: --jq: syntax error")
    assert line.endswith(f"(see 'oz-keys {command[0]} --help')")
    assert run_cli.list() == []  # create made no key


def test_a_jq_error_on_a_created_key_still_delivers_it(run_cli: Cli) -> None:
    result = run_cli.local("create", "ci", "--jq", ".api_key.name | tonumber")
    assert result.returncode == 2
    assert "--jq:" in one_line(result.stderr)
    doc = json.loads(result.stdout)  # the key is not lost to the filter
    assert RAW_KEY.match(doc["raw_api_key"])
    assert [k["uid"] for k in run_cli.list()] == [doc["api_key"]["uid"]]


# -- create ------------------------------------------------------------------------------------


def test_create_json_is_one_document_with_the_raw_key(run_cli: Cli) -> None:
    result = run_cli.local("create", "ci", "--expires-in", "30d", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document, nothing else
    assert set(doc) == {"raw_api_key", "api_key"}
    assert RAW_KEY.match(doc["raw_api_key"])
    key = doc["api_key"]
    assert set(key) == KEY_FIELDS
    assert key["name"] == "ci" and key["scope"] == "Personal"
    assert key["key_suffix"] == doc["raw_api_key"][-4:]
    assert key["last_used_at"] is None
    created = datetime.fromisoformat(key["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(key["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - created) - timedelta(days=30)) < timedelta(minutes=1)
    assert doc["raw_api_key"] not in result.stderr
    assert not RAW_KEY_ANYWHERE.search(result.stderr)


def test_create_pretty_puts_only_the_key_on_stdout(run_cli: Cli) -> None:
    result = run_cli.local("create", "laptop", "--no-expiration")
    assert result.returncode == 0, result.stderr
    assert RAW_KEY.match(result.stdout.rstrip("\n"))
    assert result.stdout.count("\n") == 1
    assert "won't be shown again" in result.stderr
    assert "laptop" in result.stderr
    assert not RAW_KEY_ANYWHERE.search(result.stderr)


def test_create_ndjson_text_team_and_defaults(run_cli: Cli, env: dict[str, str]) -> None:
    nd = run_cli.local("create", "team-ci", "--team", "--output-format", "ndjson")
    assert nd.returncode == 0, nd.stderr
    doc = json.loads(one_line(nd.stdout))
    assert doc["api_key"]["scope"] == "Team"
    # Without an expiration option: the default, 90 days.
    created = datetime.fromisoformat(doc["api_key"]["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(doc["api_key"]["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - created) - timedelta(days=90)) < timedelta(minutes=1)

    # ... or the config file's default_expiration; text output is the raw key alone.
    config = Path(env["XDG_CONFIG_HOME"]) / "oz-keys" / "config.toml"
    config.parent.mkdir()
    config.write_text('default_expiration = "never"\n')
    text = run_cli.local("create", "forever", "--output-format", "text")
    assert text.returncode == 0, text.stderr
    assert RAW_KEY.match(one_line(text.stdout))
    assert text.stderr == ""
    forever = next(k for k in run_cli.list() if k["name"] == "forever")
    assert forever["expires_at"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "x", "--expires-in", "30d", "--no-expiration"], "not allowed with"),
        (["create", "x", "--expires-in", "7 fortnights"], "unknown unit 'fortnights'"),
        (["create", "x", "--expires-in", "soon"], "e.g. 90m, 12h, 30d, 1w"),
        (["create", "x", "--expires-at", "tomorrow"], "RFC 3339"),
        (["create", "x", "--expires-at", "2001-01-01T00:00:00Z"], "in the future"),
        (["create", "  "], "cannot be blank"),
        (["list", "--sort-by", "colour"], "invalid choice"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(run_cli: Cli, args: list[str], message: str) -> None:
    result = run_cli.local(*args)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("oz-keys: ") and message in line
    assert result.stdout == ""


# -- list --------------------------------------------------------------------------------------


def test_list_shapes_and_flags_before_or_after(run_cli: Cli) -> None:
    first = run_cli.create("alpha", "--expires-in", "1d")
    run_cli.create("bravo", "--no-expiration")
    data = run_cli.data_dir
    # Global flags before the subcommand ...
    before = run_cli("--output-format", "json", "--local", "--data-dir", str(data), "list",
                     "--sort-by", "created-at")
    # ... and after it.
    after = run_cli("list", "--local", "--data-dir", str(data), "-o", "ndjson",
                    "--sort-by", "created-at")
    assert before.returncode == after.returncode == 0
    items = json.loads(before.stdout)
    assert [item["name"] for item in items] == ["alpha", "bravo"]
    assert all(set(item) == KEY_FIELDS for item in items)
    assert items[0] == first["api_key"]
    assert [json.loads(line) for line in after.stdout.splitlines()] == items

    text = run_cli.local("list", "--output-format", "text", "--sort-by", "name", "--sort-order", "desc")
    header, *rows = [line.split("\t") for line in text.stdout.splitlines()]
    assert header == ["UID", "Name", "Key", "Scope", "Created", "Last Used", "Expires At"]
    assert [row[1] for row in rows] == ["bravo", "alpha"]
    assert rows[0][6] == "Never" and all(len(row) == 7 for row in rows)

    pretty = run_cli.local("list", "--sort-by", "created-at")
    header, *lines = pretty.stdout.splitlines()
    assert header.split() == ["NAME", "KEY", "SCOPE", "CREATED", "LAST", "USED", "EXPIRES", "AT", "UID"]
    assert "Never" in lines[1] and "just now" in lines[0]
    assert f"wk-**{first['api_key']['key_suffix']}" in lines[0]


def _seed_sortable(data_dir: Path) -> None:
    from oz_tui.local import DB_FILENAME
    from oz_tui.local.store import KeyStore, StoredKey

    now = datetime.now(timezone.utc)
    rows = [
        ("alpha", OwnerType.USER, 10, timedelta(hours=1), timedelta(days=5)),
        ("Bravo", OwnerType.TEAM, 20, None, None),
        ("charlie", OwnerType.USER, 5, timedelta(days=3), timedelta(days=50)),
        ("delta", OwnerType.TEAM, 1, timedelta(minutes=10), timedelta(days=1)),
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    store = KeyStore(data_dir / DB_FILENAME)
    try:
        for i, (name, owner, created_days, used_ago, expires_in) in enumerate(rows):
            uid = f"00000000-0000-4000-8000-{i:012d}"
            store.insert(
                StoredKey(
                    uid=uid,
                    name=name,
                    key_suffix=f"{i:04d}",
                    owner_type=owner,
                    team_uid="local-team" if owner is OwnerType.TEAM else None,
                    created_at=now - timedelta(days=created_days),
                    last_used_at=None if used_ago is None else now - used_ago,
                    expires_at=None if expires_in is None else now + expires_in,
                    revoked_at=None,
                ),
                f"test:{uid}",
            )
    finally:
        store.close()


#: The local service's order (newest first), which `list` keeps without --sort-by.
SERVER_ORDER = ["delta", "charlie", "alpha", "Bravo"]
ASCENDING = {
    "name": ["alpha", "Bravo", "charlie", "delta"],  # names compare lowercased
    "created-at": ["Bravo", "alpha", "charlie", "delta"],
    # A missing last use or expiry sorts first in ascending order, as in Warp's CLI.
    "last-used-at": ["Bravo", "charlie", "alpha", "delta"],
    "expires-at": ["Bravo", "delta", "alpha", "charlie"],
    # Stable: keys of one scope keep the server's order ...
    "scope": ["charlie", "alpha", "delta", "Bravo"],
}
DESCENDING = {
    **{field: names[::-1] for field, names in ASCENDING.items()},
    # ... in both directions.
    "scope": ["delta", "Bravo", "charlie", "alpha"],
}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", list(ASCENDING))
def test_list_sorting(data_dir: Path, sort_by: str, order: str) -> None:
    """In process (the sort is the same code either way); one subprocess check follows."""
    _seed_sortable(data_dir)
    out, err = io.StringIO(), io.StringIO()
    argv = ["--local", "--data-dir", str(data_dir), "--output-format", "json", "list",
            "--sort-by", sort_by, "--sort-order", order]
    assert cli.run(argv, env={}, stdin=io.StringIO(), stdout=out, stderr=err) == 0, err.getvalue()
    names = [item["name"] for item in json.loads(out.getvalue())]
    assert names == (ASCENDING if order == "asc" else DESCENDING)[sort_by]


def test_list_sorting_in_a_subprocess(run_cli: Cli) -> None:
    _seed_sortable(run_cli.data_dir)
    names = [k["name"] for k in run_cli.list("--sort-by", "expires-at", "--sort-order", "desc")]
    assert names == DESCENDING["expires-at"]
    # Without --sort-by: the server's order, as Warp's CLI keeps it.
    assert [k["name"] for k in run_cli.list()] == SERVER_ORDER
    assert [k["name"] for k in run_cli.list("--sort-order", "desc")] == SERVER_ORDER


def test_untrusted_names_cannot_reach_the_terminal(run_cli: Cli) -> None:
    # The name rule refuses bidi controls at create, but a server (Warp's, or a store written
    # before the rule) may still list one: put it in the store behind the rule's back.
    evil = "pay\u202eroll\u200b"
    uid = run_cli.create("payroll")["api_key"]["uid"]
    with sqlite3.connect(run_cli.data_dir / "keys.db") as db:
        db.execute("UPDATE api_keys SET name = ? WHERE uid = ?", (evil, uid))
    assert run_cli.list()[0]["name"] == evil
    for fmt in ("pretty", "text"):
        result = run_cli.local("list", "--output-format", fmt)
        assert "\u202e" not in result.stdout and "\u200b" not in result.stdout
        assert "pay\\u202eroll\\u200b" in result.stdout
    raw = run_cli.local("list", "--output-format", "json").stdout
    assert raw.isascii() and "\\u202e" in raw


# -- expire ------------------------------------------------------------------------------------


def test_expire_without_a_terminal_needs_force(run_cli: Cli) -> None:
    key = run_cli.create("ci")["api_key"]
    refused = run_cli.local("expire", "ci")
    assert refused.returncode == 2
    assert "--force" in one_line(refused.stderr)
    assert [k["uid"] for k in run_cli.list()] == [key["uid"]]

    forced = run_cli.local("delete", key["uid"], "--force", "--output-format", "json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout) == {"key_uid": key["uid"], "expired": True}
    assert run_cli.list() == []


def test_expire_ambiguous_name_and_not_found(run_cli: Cli) -> None:
    one = run_cli.create("dup")["api_key"]["uid"]
    two = run_cli.create("dup")["api_key"]["uid"]
    ambiguous = run_cli.local("expire", "dup", "--force", "-o", "json")
    assert ambiguous.returncode == 2
    line = one_line(ambiguous.stderr)
    assert one in line and two in line and "(see 'oz-keys expire --help')" in line
    # Named on stderr, newest first, for the person to take a uid from; stdout holds results only.
    assert ambiguous.stdout == ""
    assert line.index(two) < line.index(one)
    assert len(run_cli.list()) == 2

    missing = run_cli.local("expire", "nope", "--force")
    assert missing.returncode == 4
    assert "nope" in one_line(missing.stderr)
    assert_no_traceback(missing)


def _run_in_pty(
    args: list[str], env: dict[str, str], answer: bytes | None,
    *, before: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[int, str]:
    """Run oz-keys on a pseudo-terminal, answer its prompts (each of `before`, a prompt's
    marker and the answer, then the [y/N] question unless `answer` is None), return (exit
    code, all output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "oz_tui", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        # Its own session with the pty as controlling terminal, so ^C becomes SIGINT.
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    output = b""

    def read_some(wait: float) -> bool:
        nonlocal output
        ready, _, _ = select.select([master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        output += chunk
        return bool(chunk)

    try:
        deadline = time.monotonic() + TIMEOUT
        position = 0  # answered prompts lie before this
        question = () if answer is None else ((b"[y/N]", answer),)
        for marker, reply in (*before, *question):
            while marker not in output[position:]:
                assert time.monotonic() < deadline, output
                assert read_some(0.2), output
            position = output.index(marker, position) + len(marker)
            os.write(master, reply + b"\r")
        while read_some(0.2):
            if proc.poll() is not None and not select.select([master], [], [], 0.1)[0]:
                break
            assert time.monotonic() < deadline, output
        return proc.wait(timeout=TIMEOUT), output.decode("utf-8", "replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("answer", "expired"), [(b"y", True), (b"n", False), (b"", False)])
def test_expire_asks_on_a_terminal(run_cli: Cli, answer: bytes, expired: bool) -> None:
    uid = run_cli.create("laptop")["api_key"]["uid"]
    args = ["--local", "--data-dir", str(run_cli.data_dir), "expire", "laptop",
            "--output-format", "text"]
    code, output = _run_in_pty(args, run_cli.env, answer)
    assert code == 0, output
    # Warp's prompt: the key's name, uid and age, and that it takes effect at once.
    assert (f"Expire API key 'laptop ({uid}, created just now)'? "
            "This takes effect immediately. [y/N]") in output
    if expired:
        assert f"{uid}\ttrue" in output
        assert run_cli.list() == []
    else:
        # Declining: Warp's line, exit 0, and no result (a pty mixes stdout and stderr).
        assert output.rstrip().endswith("Expiration cancelled")
        assert uid not in output.split("[y/N]")[1]
        assert len(run_cli.list()) == 1


def test_expire_picker_on_a_terminal_newest_first(run_cli: Cli) -> None:
    older = run_cli.create("dup")["api_key"]["uid"]
    time.sleep(0.01)
    newer = run_cli.create("dup")["api_key"]["uid"]
    args = ["--local", "--data-dir", str(run_cli.data_dir), "expire", "dup", "-o", "text"]
    code, output = _run_in_pty(args, run_cli.env, b"y", before=((b"Which one?", b"2"),))
    assert code == 0, output
    assert "2 API keys are named 'dup' (newest first):" in output
    assert output.index(f"1) {newer}") < output.index(f"2) {older}")
    assert f"Expire API key 'dup ({older}, created just now)'?" in output
    assert [k["uid"] for k in run_cli.list()] == [newer]


def test_expire_picker_cancelled_with_enter(run_cli: Cli) -> None:
    run_cli.create("dup")
    run_cli.create("dup")
    args = ["--local", "--data-dir", str(run_cli.data_dir), "expire", "dup"]
    # Enter at the picker: nothing is asked after it.
    code, output = _run_in_pty(args, run_cli.env, None, before=((b"Which one?", b""),))
    assert code == 0, output
    assert "Expiration cancelled" in output
    assert len(run_cli.list()) == 2


class _TtyInput(io.StringIO):
    """Answers typed on a terminal (in process: stdout stays separate from the prompt)."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("fmt", ["pretty", "json", "ndjson", "text"])
def test_declining_prints_cancelled_and_nothing_on_stdout(data_dir: Path, fmt: str) -> None:
    argv = ["--local", "--data-dir", str(data_dir), "-o", "json", "create", "ci"]
    assert cli.run(argv, env={}, stdin=io.StringIO(), stdout=io.StringIO(),
                   stderr=io.StringIO()) == 0
    out, err = io.StringIO(), io.StringIO()
    argv = ["--local", "--data-dir", str(data_dir), "expire", "ci", "-o", fmt]
    assert cli.run(argv, env={}, stdin=_TtyInput("n\n"), stdout=out, stderr=err) == 0
    assert out.getvalue() == ""
    assert err.getvalue().endswith("[y/N] Expiration cancelled\n")


def test_expire_several_keys_with_one_question(run_cli: Cli, data_dir: Path) -> None:
    uids = [run_cli.create(name)["api_key"]["uid"] for name in ("a", "b", "c")]
    out, err = io.StringIO(), io.StringIO()
    argv = ["--local", "--data-dir", str(data_dir), "expire", "a", uids[1], "-o", "json"]
    assert cli.run(argv, env={}, stdin=_TtyInput("y\n"), stdout=out, stderr=err) == 0
    assert err.getvalue().count("[y/N]") == 1
    assert "Expire these 2 API keys? This takes effect immediately. [y/N]" in err.getvalue()
    assert f"  a ({uids[0]}, created just now)" in err.getvalue()
    assert json.loads(out.getvalue()) == [
        {"key_uid": uids[0], "expired": True}, {"key_uid": uids[1], "expired": True},
    ]
    assert [k["uid"] for k in run_cli.list()] == [uids[2]]


def test_expire_several_without_a_terminal(run_cli: Cli) -> None:
    uid = run_cli.create("a")["api_key"]["uid"]
    run_cli.create("b")
    refused = run_cli.local("expire", "a", "b")
    assert refused.returncode == 2
    assert one_line(refused.stderr) == (
        "oz-keys: not expiring 2 keys without a terminal to confirm on; pass --force "
        "(see 'oz-keys expire --help')"
    )
    # One unknown key: nothing is expired, exit 4 (not found).
    missing = run_cli.local("expire", "a", "nope", "--force")
    assert missing.returncode == 4 and "'nope'" in one_line(missing.stderr)
    assert len(run_cli.list()) == 2
    forced = run_cli.local("expire", uid, "b", "--force", "-o", "ndjson")
    assert forced.returncode == 0, forced.stderr
    assert [json.loads(line)["expired"] for line in forced.stdout.splitlines()] == [True, True]
    assert run_cli.list() == []


def test_ctrl_c_at_the_prompt_exits_130(run_cli: Cli) -> None:
    run_cli.create("laptop")
    args = ["--local", "--data-dir", str(run_cli.data_dir), "expire", "laptop"]
    started = time.monotonic()
    code, output = _run_in_pty(args, run_cli.env, b"\x03")
    assert code == 130, output
    assert time.monotonic() - started < 10
    assert "oz-keys: interrupted" in output and "Traceback" not in output
    assert len(run_cli.list()) == 1


# -- whoami, credentials, errors ------------------------------------------------------------------


def test_whoami_local(run_cli: Cli) -> None:
    result = run_cli.local("whoami", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["uid"] == "local-user"
    assert doc["workspaces"][0]["teams"] == [{"uid": "local-team", "name": "Local team"}]
    assert doc["server"]["local"] is True
    assert doc["server"]["location"] == str(run_cli.data_dir / "keys.db")
    assert doc["credential"]["hint"] is None

    # Without --local and without credential or server: the local service, said plainly.
    implicit = run_cli("whoami")
    assert implicit.returncode == 0, implicit.stderr
    assert "local key service at" in implicit.stderr
    assert "Local team" in implicit.stdout


def test_api_key_flag_warns_and_never_prints_the_key(run_cli: Cli) -> None:
    secret = "wk-1." + "5e" * 32
    result = run_cli.local("whoami", "--api-key", secret)
    assert result.returncode == 0, result.stderr
    assert "shell history" in result.stderr and "WARP_API_KEY" in result.stderr
    assert secret not in result.stdout + result.stderr
    assert secret[5:] not in result.stdout + result.stderr


def test_network_error_exits_1(run_cli: Cli) -> None:
    port = _free_port()  # nothing listens there
    result = run_cli("list", "--server-root-url", f"http://127.0.0.1:{port}",
                     extra_env={"WARP_API_KEY": "wk-1." + "0" * 64})
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("oz-keys: ")
    assert_no_traceback(result)


WHOAMI_OPERATIONS = ("GetUser", "GetWorkspacesMetadataForUser")


def test_request_timeout_bounds_a_hung_server(run_cli: Cli) -> None:
    """The flag (before the subcommand here; the fault matrix passes it after) and the
    environment variable both bound each attempt: three attempts of 0.5 s, not of 60 s."""
    import fault_server as fs

    server = fs.ThreadedFaultServer(lambda request: fs.hang())
    credential = {"WARP_API_KEY": "wk-1." + "0" * 64}
    try:
        for run, (args, extra_env) in enumerate((
            (["--request-timeout", "0.5", "whoami", "--server-root-url", server.url], {}),
            (["whoami", "--server-root-url", server.url], {"OZ_KEYS_REQUEST_TIMEOUT": "0.5"}),
        ), start=1):
            before = {op: server.server.count(op) for op in WHOAMI_OPERATIONS}
            started = time.monotonic()
            result = run_cli(*args, extra_env={**credential, **extra_env})
            assert time.monotonic() - started < 15
            assert result.returncode == 1, result.stderr
            assert result.stdout == ""
            assert "did not answer in time" in one_line(result.stderr)
            # Retried: the request that gave up first had three attempts. who-am-I's two
            # requests go out together, and the first to give up stops the other, wherever
            # that one's retries had got to (its backoff is random).
            attempts = sorted(server.server.count(op) - before[op] for op in WHOAMI_OPERATIONS)
            assert attempts[-1] == 3 and attempts[0] >= 1, (run, attempts)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("args", "env", "config", "message"),
    [
        (["--request-timeout", "0"], {}, None, "--request-timeout must be a number of seconds"),
        (["--request-timeout", "soon"], {}, None, "--request-timeout must be a number of seconds"),
        ([], {"OZ_KEYS_REQUEST_TIMEOUT": "601"}, None, "OZ_KEYS_REQUEST_TIMEOUT must be a number"),
        ([], {}, "request_timeout = -1\n", "request_timeout must be a number of seconds above 0"),
    ],
)
def test_a_bad_request_timeout_exits_2_naming_its_source(
    tmp_path: Path, args: list[str], env: dict[str, str], config: str | None, message: str
) -> None:
    environ = dict(env)
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text(config)
        environ["OZ_KEYS_CONFIG"] = str(path)
        message = f"{path}: {message}"
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["list", "--server-root-url", "http://127.0.0.1:9", *args],
                   env=environ, stdout=out, stderr=err)
    assert code == 2
    assert out.getvalue() == ""
    assert one_line(err.getvalue()).startswith(f"oz-keys: {message}")


def test_broken_config_file_exits_2_naming_it(run_cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('theme = "nord"\nsever_root_url = "https://x.test"\n')
    result = run_cli("list", extra_env={"OZ_KEYS_CONFIG": str(config)})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(config) in line and "unknown key 'sever_root_url'" in line


def test_unusable_local_store_exits_1_without_traceback(run_cli: Cli) -> None:
    run_cli.data_dir.mkdir()
    (run_cli.data_dir / "keys.db").write_bytes(b"this is not a database" * 100)
    result = run_cli.local("list")
    assert result.returncode == 1
    assert "not a usable oz-keys database" in one_line(result.stderr)
    assert_no_traceback(result)


def test_keyboard_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    async def interrupted(*_args: Any) -> int:
        raise KeyboardInterrupt

    import dataclasses

    from oz_tui.cli import subcommands

    specs = tuple(
        dataclasses.replace(spec, handler=interrupted) if spec.name == "list" else spec
        for spec in subcommands.SUBCOMMANDS
    )
    monkeypatch.setattr(cli, "SUBCOMMANDS", specs)
    err = io.StringIO()
    argv = ["--local", "--data-dir", str(data_dir), "list"]
    assert cli.run(argv, env={}, stdin=io.StringIO(), stdout=io.StringIO(), stderr=err) == 130
    assert err.getvalue() == "oz-keys: interrupted\n"


# -- serve ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_serve(run_cli: Cli, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "oz_tui", "serve", "--port", str(port),
         "--data-dir", str(run_cli.data_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=run_cli.env, cwd=run_cli.cwd,
    )
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            pass
        assert time.monotonic() < deadline, "serve did not come up"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stderr, time.monotonic() - started


def test_serve_then_use_it_remotely(run_cli: Cli) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_serve(run_cli, port)
    try:
        # The first key comes from the in-process path on the same data dir.
        created = run_cli.create("first", "--expires-in", "1d")
        raw = created["raw_api_key"]

        listed = run_cli("list", "--server-root-url", url, "--output-format", "json",
                         extra_env={"WARP_API_KEY": raw})
        assert listed.returncode == 0, listed.stderr
        [item] = json.loads(listed.stdout)
        assert item["uid"] == created["api_key"]["uid"]
        assert item["last_used_at"] is not None  # this very request used it

        who = run_cli("whoami", "--output-format", "json",
                      extra_env={"WARP_API_KEY": raw, "WARP_SERVER_ROOT_URL": url})
        assert who.returncode == 0, who.stderr
        doc = json.loads(who.stdout)
        assert doc["server"] == {"url": url, "source": f"127.0.0.1:{port}", "local": False}
        assert doc["credential"] == {
            "kind": "personal key", "hint": f"wk-**{raw[-4:]}", "source": "WARP_API_KEY",
        }
        assert raw not in who.stdout + who.stderr

        bad = run_cli("list", "--server-root-url", url,
                      extra_env={"WARP_API_KEY": "wk-1." + "0" * 64})
        assert bad.returncode == 3
        assert "401" in one_line(bad.stderr)

        anonymous = run_cli("list", "--server-root-url", url)
        assert anonymous.returncode == 3
    finally:
        code, stderr, took = _stop(proc, signal.SIGINT)
    assert code == 0, stderr
    assert took < 10
    assert url in stderr
    assert f"create NAME --local --data-dir {run_cli.data_dir}" in stderr
    assert f"--server-root-url {url}" in stderr
    assert "Traceback" not in stderr


def test_serve_stops_on_sigterm(run_cli: Cli) -> None:
    proc = _start_serve(run_cli, _free_port())
    code, stderr, took = _stop(proc, signal.SIGTERM)
    assert code == 0, stderr
    assert took < 10
    assert "stopped" in stderr


def test_serve_on_a_busy_port_exits_1(run_cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--data-dir", str(run_cli.data_dir))
    assert result.returncode == 1
    assert "cannot listen" in result.stderr.splitlines()[-1]
    assert_no_traceback(result)
