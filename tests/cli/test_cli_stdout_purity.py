"""stdout carries only a command's result: every refusal, listing of choices and question goes
to stderr, on every subcommand and output format. A script piping `rotate --force -o text`
into a secret store must store the new key or nothing, never a table of candidates."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Callable

import pytest

from oz_tui.cli import run

FORMATS: tuple[tuple[str, ...], ...] = (
    (), ("-o", "pretty"), ("-o", "text"), ("-o", "json"), ("-o", "ndjson"), ("--jq", ".[]"),
)
SCRUBBED = ("WARP_API_KEY", "WARP_SERVER_ROOT_URL", "WARP_OUTPUT_FORMAT", "OZ_KEYS_CONFIG")
RAW_KEY = re.compile(r"^wk-1\.[0-9a-f]{64}$")


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME"):
            (tmp_path / name.lower()).mkdir()
            self.env[name] = str(tmp_path / name.lower())
        self.env["COLUMNS"] = "200"

    def __call__(self, *args: str, local: bool = True) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        prefix = ("--local", "--data-dir", str(self.data_dir)) if local else ()
        code = run([*prefix, *args], env=self.env, stdin=io.StringIO(), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    for name in ("dup", "dup", "solo"):
        code, out, err = cli("create", name, "-o", "json")
        assert code == 0, err
    return cli


#: (subcommand, failure, argv): one failure path of each subcommand.
FAILURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("list", "unknown option", ("list", "--bogus")),
    ("create", "bad duration", ("create", "x", "--expires-in", "soon")),
    ("create", "no name", ("create",)),
    ("expire", "ambiguous name", ("expire", "dup", "--force")),
    ("expire", "no such key", ("expire", "nope", "--force")),
    ("expire", "no terminal to confirm", ("expire", "solo")),
    ("rotate", "ambiguous name", ("rotate", "dup", "--force")),
    ("rotate", "ambiguous name, keep old", ("rotate", "dup", "--keep-old")),
    ("rotate", "no such key", ("rotate", "nope", "--force")),
    ("rotate", "no terminal to confirm", ("rotate", "solo")),
    ("audit", "bad duration", ("audit", "--idle-for", "forever")),
    ("completion", "unknown shell", ("completion", "tcsh")),
    ("serve", "bad port", ("serve", "--port", "high")),
)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: " ".join(f) or "default")
@pytest.mark.parametrize(
    "argv", [f[2] for f in FAILURES], ids=[f"{f[0]}: {f[1]}" for f in FAILURES]
)
def test_a_failure_writes_nothing_to_stdout(cli: Cli, argv: tuple[str, ...], fmt: tuple[str, ...]) -> None:
    code, out, err = cli(*argv, *fmt)
    assert code != 0
    assert out == "", f"stdout must stay empty on a failure; it held: {out!r}"
    assert err.strip(), "the failure is explained on stderr"
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: " ".join(f) or "default")
def test_whoami_without_a_credential_writes_nothing_to_stdout(tmp_path: Path, fmt: tuple[str, ...]) -> None:
    cli = Cli(tmp_path)
    # Port 9 on loopback: nothing listens; the command must fail before or at the request.
    code, out, err = cli("whoami", "--server-root-url", "http://127.0.0.1:9", *fmt, local=False)
    assert code != 0 and out == "" and err.strip()
    assert code == 3 and len(err.strip().splitlines()) == 1
    assert "No API key is set: set WARP_API_KEY" in err and "refused" not in err


@pytest.mark.parametrize("command", ["expire", "rotate"])
def test_ambiguous_name_is_one_line_on_stderr_naming_the_uids(cli: Cli, command: str) -> None:
    code, out, err = cli("list", "-o", "json")
    dups = [key["uid"] for key in json.loads(out) if key["name"] == "dup"]
    code, out, err = cli(command, "dup", "--force", "-o", "json")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1, err
    assert "2 API keys are named 'dup'" in err and all(uid in err for uid in dups)


def test_success_writes_only_the_result(cli: Cli, reliability: Callable[..., None]) -> None:
    code, out, _ = cli("list", "-o", "json")
    assert code == 0 and len(json.loads(out)) == 3
    code, out, err = cli("rotate", "solo", "--force", "-o", "text")
    assert code == 0, err
    assert RAW_KEY.match(out.strip()) and out.count("\n") == 1, out
    code, out, _ = cli("expire", "solo", "--force", "-o", "json")
    assert code == 0 and json.loads(out)["expired"] is True
    reliability.passed(  # type: ignore[attr-defined]
        "hardening",
        "stdout-purity",
        "outcome",
        f"{len(FAILURES)} failure paths across list, create, expire, rotate, audit, whoami, "
        f"completion and serve × {len(FORMATS)} output formats (pretty, text, json, ndjson, "
        "--jq): stdout stays empty, the reason and any listing of candidates go to stderr; on "
        "success stdout holds only the result (rotate -o text: the raw key alone)",
    )
