"""`oz-keys create` never leaves a live key nobody received (subprocesses, a real key store).

stdout closed, full, or a broken pipe; SIGINT/SIGTERM after the key was made but before it was
printed: the key is expired again and one line says so (with its uid, still active, when even
that fails). Stopped before the server answered: one line says the key may exist and how to
check. Never a traceback, never silence.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import fault_server as fs
from oz_tui.local.store import KeyStore

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WARP_", "OZ_KEYS_"))}
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        (tmp_path / name).mkdir()
        environ[name] = str(tmp_path / name)
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return environ


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def oz_keys(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "oz_tui", "--local", "--data-dir", str(data_dir), *args]


def active_names(data_dir: Path) -> list[str]:
    store = KeyStore(data_dir / "keys.db")
    try:
        return [key.name for key in store.active_keys()]
    finally:
        store.close()


def all_rows(data_dir: Path) -> list[Any]:
    import sqlite3

    with sqlite3.connect(data_dir / "keys.db") as db:
        return db.execute("SELECT name FROM api_keys").fetchall()


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("oz-keys: "), stderr
    return lines[0]


# -- stdout that can't take the key ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("| true", "broken pipe"),
        (">/dev/full", "stdout is full"),
    ],
)
@pytest.mark.parametrize("output_format", ["pretty", "json"])
def test_a_key_that_cannot_be_printed_is_expired_again(
    env: dict[str, str], data_dir: Path, how: str, says: str, output_format: str,
    reliability: Any,
) -> None:
    command = " ".join(
        f"'{part}'" for part in oz_keys(data_dir, "create", "ci-deploy",
                                        "--output-format", output_format)
    )
    # `| true`: `true` is gone before the key is printed (python takes far longer to start).
    script = f"{command} {how}; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=TIMEOUT)
    line = one_line(result.stderr)
    assert result.returncode == 1, result.stderr
    assert says in line and "expired again" in line and "ci-deploy" in line, line
    assert "wk-1." not in result.stderr
    assert active_names(data_dir) == []  # no live key left behind ...
    assert all_rows(data_dir) == [("ci-deploy",)]  # ... though one was made
    reliability.passed("secrets", "cli-undelivered", "outcome",
                       "the key is expired again, one line says so (`| true`, "
                       "`>/dev/full`); if that fails, the line names its uid, still active; "
                       "`>&-` is refused before any key is made")


@pytest.mark.parametrize("command", [["create", "ci-deploy"], ["rotate", "ci-deploy", "--force"]])
def test_stdout_closed_from_the_start_makes_no_key(
    env: dict[str, str], data_dir: Path, command: list[str]
) -> None:
    """`>&-`: the entry's check refuses before any request, so no key is made to take back."""
    if command[0] == "rotate":
        made = subprocess.run(oz_keys(data_dir, "create", "ci-deploy"), capture_output=True,
                              text=True, env=env, cwd=REPO, timeout=TIMEOUT)
        assert made.returncode == 0, made.stderr
    before = all_rows(data_dir) if command[0] == "rotate" else []
    script = " ".join(f"'{part}'" for part in oz_keys(data_dir, *command)) + " >&-"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=TIMEOUT)
    assert result.returncode == 1
    assert one_line(result.stderr) == "oz-keys: standard output is closed; nothing was done"
    assert (all_rows(data_dir) if (data_dir / "keys.db").exists() else []) == before


def test_the_pipe_closed_by_the_reader_before_the_write(env: dict[str, str], data_dir: Path) -> None:
    """The same through a pipe this test closes itself (no race with `true`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    result = subprocess.run(oz_keys(data_dir, "create", "piped"), stdout=write_end,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            timeout=TIMEOUT)
    os.close(write_end)
    line = one_line(result.stderr)
    assert result.returncode == 1 and "broken pipe" in line and "expired again" in line
    assert active_names(data_dir) == []


def test_a_printed_key_stays(env: dict[str, str], data_dir: Path) -> None:
    result = subprocess.run(oz_keys(data_dir, "create", "kept", "--output-format", "json"),
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["raw_api_key"].startswith("wk-1.")
    assert active_names(data_dir) == ["kept"]


# -- stopped after the key was made, before it was printed -----------------------------------------


def full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: a write to it blocks until someone reads."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(write_end, b"x" * 65536)
    except BlockingIOError:
        pass
    try:
        while True:
            os.write(write_end, b"x")
    except BlockingIOError:
        pass
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_key_waits_to_be_printed_expires_it(
    env: dict[str, str], data_dir: Path, signal_name: str, reliability: Any
) -> None:
    number = getattr(signal, signal_name)
    read_end, write_end = full_pipe()
    proc = subprocess.Popen(oz_keys(data_dir, "create", "stuck"), stdout=write_end,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    os.close(write_end)
    try:
        # The key exists once the store has it; then the process is stuck printing it.
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if (data_dir / "keys.db").exists() and active_names(data_dir) == ["stuck"]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the key was never created")
        time.sleep(0.5)
        assert proc.poll() is None  # blocked on the full pipe
        proc.send_signal(number)
        _out, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.kill()
    line = one_line(stderr)
    assert proc.returncode == 128 + number, stderr
    assert f"interrupted ({signal_name})" in line and "expired again" in line, line
    assert active_names(data_dir) == []
    reliability.passed("secrets", "cli-interrupted", "outcome",
                       "after the answer: expired again, one line, exit 128+signal; before it: "
                       "one line saying it may have been created and how to check")


# -- the server: stopped before it answered, or refusing to expire ----------------------------------


def server_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "WARP_API_KEY": "wk-1." + "f" * 64}


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_stopped_before_the_answer_says_the_key_may_exist(
    env: dict[str, str], signal_name: str
) -> None:
    number = getattr(signal, signal_name)
    server = fs.ThreadedFaultServer(lambda request: fs.hang())
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oz_tui", "create", "slow", "--server-root-url", server.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server_env(env),
            cwd=REPO,
        )
        deadline = time.monotonic() + TIMEOUT
        while not server.server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.server.requests, "the create never reached the server"
        proc.send_signal(number)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        server.close()
    line = one_line(stderr)
    assert proc.returncode == 128 + number
    assert stdout == ""
    assert "may have been created" in line and "oz-keys list" in line, line


def test_when_expiring_again_fails_the_line_names_the_live_key(env: dict[str, str]) -> None:
    def route(request: fs.Request) -> fs.Action:
        if request.op == "GenerateApiKey":
            return fs.json_answer(fs.created_answer())
        if request.op == "ExpireApiKey":
            return fs.respond(500)
        return fs.good()

    server = fs.ThreadedFaultServer(route)
    try:
        read_end, write_end = os.pipe()
        os.close(read_end)
        result = subprocess.run(
            [sys.executable, "-m", "oz_tui", "create", "Laptop", "--server-root-url", server.url],
            stdout=write_end, stderr=subprocess.PIPE, text=True, env=server_env(env), cwd=REPO,
            timeout=TIMEOUT,
        )
        os.close(write_end)
    finally:
        server.close()
    line = one_line(result.stderr)
    assert result.returncode == 1
    uid = fs.PERSONAL_KEY["uid"]
    assert "broken pipe" in line and "STILL ACTIVE" in line and uid in line, line
    assert f"oz-keys expire {uid} --force" in line
    assert fs.RAW_KEY not in result.stderr
