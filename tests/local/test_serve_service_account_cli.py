"""An Agent key against a real `oz-keys serve`, through the CLI as a user types it: it may not
create a Personal key, nor expire or rotate the owner's key, and each refusal says why in one
line on stderr (stdout empty). The owner's key stays active. (Issue #22's hand check, kept.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TIMEOUT = 30


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OZ_KEYS_", "WARP_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_STATE_HOME=str(home / ".local/state"),
               NO_COLOR="1", **extra)
    return env


def _oz(env: dict[str, str], *argv: str, key: str | None = None) -> subprocess.CompletedProcess:
    run_env = dict(env)
    if key is not None:
        run_env["WARP_API_KEY"] = key
    return subprocess.run([PYTHON, "-m", "oz_tui", *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=run_env, cwd=REPO, timeout=TIMEOUT)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[dict[str, str], str, str]]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    data = home / "keys"
    env = _env(home)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [PYTHON, "-m", "oz_tui", "serve", "--port", str(port), "--data-dir", str(data)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=env, cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        assert "local key service on" in proc.stderr.readline()
        owner = _oz(env, "create", "owner", "--local", "--data-dir", str(data), "-o", "text")
        assert owner.returncode == 0, owner.stderr
        yield env, f"http://127.0.0.1:{port}", owner.stdout.strip()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    return line


def test_an_agent_key_cannot_act_for_the_owner(served: tuple[dict[str, str], str, str]) -> None:
    env, url, owner = served
    bot = _oz(env, "create", "ci-bot", "--agent-name", "default-agent", "--server-root-url", url,
              "-o", "text", key=owner)
    assert bot.returncode == 0, bot.stderr
    bot_key = bot.stdout.strip()
    listed = _oz(env, "list", "--server-root-url", url, "-o", "json", key=owner)
    owner_uid = next(k["uid"] for k in json.loads(listed.stdout) if k["name"] == "owner")

    mint = _oz(env, "create", "sneaky", "--personal", "--server-root-url", url, key=bot_key)
    assert mint.returncode == 1
    assert "service account" in _one_line(mint) and "may not create" in mint.stderr

    for target in ("owner", owner_uid):
        for argv in (("expire", target, "--force"), ("rotate", target, "--force")):
            refused = _oz(env, *argv, "--server-root-url", url, key=bot_key)
            assert refused.returncode == 4, refused.stderr
            line = _one_line(refused)
            assert "service account" in line and "only itself" in line, line
            assert bot_key not in refused.stderr and owner not in refused.stderr

    # A name nobody has, asked by the owner: the plain message, no service-account hint.
    missing = _oz(env, "expire", "nobody", "--force", "--server-root-url", url, key=owner)
    assert missing.returncode == 4
    assert "service account" not in _one_line(missing)

    after = _oz(env, "list", "--server-root-url", url, "-o", "json", key=owner)
    assert after.returncode == 0
    names = {k["name"] for k in json.loads(after.stdout)}
    assert {"owner", "ci-bot"} <= names and "sneaky" not in names
