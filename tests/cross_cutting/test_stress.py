"""The local key service under stress: concurrent writers, SIGKILL mid-write, corrupt files,
revocation and expiry over a real socket, and `serve`'s readiness.

Everything runs against real data dirs in subprocesses; the results feed the README's stress
table.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from oz_tui.core.errors import AuthenticationError
from oz_tui.core.models import Expiration
from oz_tui.api.client import OzClient
from oz_tui.local import KeyStore, LocalStoreError
from oz_tui.local.store import RAW_KEY_PATTERN

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def clean_env(tmp_path: Path) -> dict[str, str]:
    # COLUMNS/LINES (set by a test runner's worker) would override the pty's own size.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARP_", "OZ_KEYS_")) and k not in ("COLUMNS", "LINES")}
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        path = tmp_path / f"env-{name.lower()}"
        path.mkdir(exist_ok=True)
        env[name] = str(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT uid, name, key_hash, key_suffix, owner_type, created_at FROM api_keys"
        ).fetchall()


# -- two writers -------------------------------------------------------------------------------

_CREATOR = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from oz_tui.core.models import Expiration
    from oz_tui.backend import local_backend

    data_dir, go, label, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

    async def main():
        backend = local_backend(data_dir, path="graphql")  # the whole stack: client, GraphQL, store
        try:
            for i in range(count):
                await backend.client.create_key(f"{label} {i}", Expiration.NEVER)
        finally:
            await backend.aclose()

    while not go.exists():
        time.sleep(0.005)
    asyncio.run(main())
    print("done", count)
    """
)


def test_two_processes_create_500_keys_each(tmp_path: Path, reliability: Any) -> None:
    data_dir, go = tmp_path / "shared", tmp_path / "go"
    writers = [
        subprocess.Popen(
            [PYTHON, "-c", _CREATOR, str(data_dir), str(go), label, "500"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        for label in ("a", "b")
    ]
    time.sleep(0.5)  # both interpreters up and waiting: they open and write together
    started = time.monotonic()
    go.touch()
    results = [writer.communicate(timeout=TIMEOUT) for writer in writers]
    took = time.monotonic() - started
    for writer, (out, err) in zip(writers, results):
        assert writer.returncode == 0, err
        assert out.strip() == "done 500" and err == ""
    db = data_dir / "keys.db"
    assert integrity(db) == "ok"
    stored = rows(db)
    assert len(stored) == 1000
    assert {name for _, name, *_ in stored} == {f"{l} {i}" for l in "ab" for i in range(500)}
    assert len({key_hash for _, _, key_hash, *_ in stored}) == 1000
    store = KeyStore(db)
    assert len(store.active_keys()) == 1000
    store.close()
    reliability.passed("stress", "two-writers", "outcome",
                       "exactly 1,000 keys, no errors, no duplicate; integrity_check ok")
    print(f"two writers: 1,000 keys in {took:.1f} s")


# -- SIGKILL in a burst --------------------------------------------------------------------------

_BURST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from oz_tui.local import KeyStore

    store = KeyStore(Path(sys.argv[1]))
    start = int(sys.argv[2])
    i = start
    while True:
        key, _raw = store.create_key(f"burst {i}")
        print(key.uid, flush=True)  # after the commit: a reported key is a committed key
        i += 1
    """
)


def test_sigkill_mid_burst_leaves_a_clean_database(tmp_path: Path, reliability: Any) -> None:
    db = tmp_path / "data" / "keys.db"
    committed: list[str] = []
    for kill_after in (40, 150, 300):
        writer = subprocess.Popen(
            [PYTHON, "-c", _BURST, str(db), str(len(committed))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        )
        assert writer.stdout is not None
        reported: list[str] = []
        buffer = b""
        deadline = time.monotonic() + TIMEOUT
        while len(reported) < kill_after:
            assert time.monotonic() < deadline, "the writer stalled"
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            chunk = os.read(writer.stdout.fileno(), 65536)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            reported += [line.decode() for line in lines]
        writer.send_signal(signal.SIGKILL)  # mid-burst: it is writing as fast as it can
        writer.wait(timeout=10)
        assert writer.returncode == -signal.SIGKILL
        rest = writer.stdout.read()
        writer.stdout.close()
        writer.stderr.close()  # type: ignore[union-attr]
        reported += [line.decode() for line in (buffer + rest).split(b"\n") if line]
        committed += reported

        # The database opens cleanly, with every reported key, each one whole.
        assert integrity(db) == "ok"
        store = KeyStore(db)  # recovers the WAL; refuses a damaged file
        stored = {key.uid: key for key in store.active_keys()}
        store.close()
        # At most one more than reported: a commit whose line the kill cut off.
        assert len(committed) <= len(stored) <= len(committed) + 1, (len(committed), len(stored))
        assert set(committed) <= set(stored)
        for uid, name, key_hash, suffix, owner, created in rows(db):
            assert uid and name.startswith("burst ") and len(key_hash) == 64
            assert len(suffix) == 4 and owner == "User" and created > 0
        committed = list(stored)  # the next writer continues the numbering after these
    reliability.passed("stress", "sigkill", "outcome",
                       "3 kills (after 40, 150, 300 writes): integrity_check ok, every committed "
                       "key present and whole, none half-written")


# -- a corrupt database ----------------------------------------------------------------------------


def _damaged_copy(tmp_path: Path) -> Path:
    """A real store with keys, then garbage over its table pages (the header stays valid)."""
    data_dir = tmp_path / "damaged"
    store = KeyStore(data_dir / "keys.db")
    for i in range(200):
        store.create_key(f"key {i}")
    store.close()
    db = data_dir / "keys.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as file:
        file.seek(page * 2)
        file.write(b"\xde\xad\xbe\xef" * (page // 2))
    return db


CORRUPTIONS = {
    "not-sqlite": lambda tmp: _garbage(tmp),
    "damaged-pages": _damaged_copy,
}


def _garbage(tmp_path: Path) -> Path:
    db = tmp_path / "garbage" / "keys.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not an SQLite database\n" * 300)
    return db


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_database_is_named_by_the_cli_and_left_as_it_was(
    corruption: str, tmp_path: Path, reliability: Any
) -> None:
    db = CORRUPTIONS[corruption](tmp_path)
    before = db.read_bytes()
    siblings = sorted(p.name for p in db.parent.iterdir())
    result = subprocess.run(
        [PYTHON, "-m", "oz_tui", "--local", "--data-dir", str(db.parent), "list"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=clean_env(tmp_path),
        cwd=REPO, timeout=TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"oz-keys: {db} is not a usable oz-keys database: "), line
    assert db.read_bytes() == before
    new = sorted(p.name for p in db.parent.iterdir())
    assert set(new) - set(siblings) <= {"keys.db-wal", "keys.db-shm"}  # SQLite's side files
    with pytest.raises(LocalStoreError):
        KeyStore(db)
    assert db.read_bytes() == before
    if corruption == "damaged-pages":
        reliability.passed("stress", "corrupt-cli", "outcome",
                           "exit 1, one line naming the file (garbage or damaged pages); "
                           "file bytes unchanged")


def _read_until(master: int, proc: subprocess.Popen[bytes], needle: bytes, seconds: float) -> bytes:
    output = b""
    deadline = time.monotonic() + seconds
    while needle not in _plain(output) and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                output += os.read(master, 65536)
            except OSError:
                break
    return output


def _plain(output: bytes) -> bytes:
    """Terminal output without its escape sequences."""
    return re.sub(rb"\x1b(\[[0-9;?>$]*[a-zA-Z~]|\][^\x07\x1b]*(\x07|\x1b\\)|.)", b"", output)


def test_a_corrupt_database_is_named_by_the_panel_and_left_as_it_was(
    tmp_path: Path, reliability: Any
) -> None:
    """The panel opens, says which file is unusable (with a retry), and writes nothing to it."""
    short = Path(tempfile.mkdtemp(prefix="ozk", dir="/tmp"))  # the whole path fits on screen
    try:
        db = short / "keys.db"
        damaged = _damaged_copy(tmp_path)
        db.write_bytes(damaged.read_bytes())
        before = db.read_bytes()
        master, slave = pty.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        env = {**clean_env(tmp_path), "TERM": "xterm-256color"}
        proc = subprocess.Popen(
            [PYTHON, "-m", "oz_tui", "--local", "--data-dir", str(short)],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        try:
            needle = f"{db} is not a usable oz-keys database".encode()
            output = _read_until(master, proc, needle, TIMEOUT)
            assert needle in _plain(output), _plain(output)[-3000:]
            assert b"Couldn't load the keys" in _plain(output)
            os.write(master, b"\x11")  # ctrl+q
            output += _read_until(master, proc, b"\0never", 5)
            assert proc.wait(timeout=10) == 0
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
        assert db.read_bytes() == before
    finally:
        shutil.rmtree(short, ignore_errors=True)
    reliability.passed("stress", "corrupt-panel", "outcome",
                       "the page opens and its banner names the file (with Retry); unchanged")


# -- over a real socket: revocation, expiry, last use ------------------------------------------------

_SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from oz_tui.local import serve

    serve("127.0.0.1", 0, Path(sys.argv[1]), on_ready=lambda url: print(url, flush=True))
    print("stopped", flush=True)
    """
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`serve(port=0)` in a subprocess; its URL comes from `on_ready`."""
    data_dir = tmp_path / "served"
    proc = subprocess.Popen(
        [PYTHON, "-c", _SERVE, str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=REPO,
    )
    assert proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        # on_ready ran after the socket was listening: connecting works at once, no polling.
        host, port = url[len("http://"):].split(":")
        socket.create_connection((host, int(port)), timeout=2).close()
        yield url, data_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _err = proc.communicate(timeout=10)
            assert "stopped" in out
        finally:
            if proc.poll() is None:
                proc.kill()


def issue(data_dir: Path, name: str, expires_at: datetime | None = None) -> tuple[str, str]:
    store = KeyStore(data_dir / "keys.db")
    key, raw = store.create_key(name, expires_at=expires_at)
    store.close()
    assert RAW_KEY_PATTERN.fullmatch(raw)
    return key.uid, raw


class NoRetry(list[float]):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


async def test_revoked_and_expired_keys_are_refused_at_once_and_last_use_moves(
    served: tuple[str, Path], reliability: Any
) -> None:
    url, data_dir = served
    admin_uid, admin = issue(data_dir, "admin")
    doomed_uid, doomed = issue(data_dir, "doomed")

    # lastUsedAt moves with each use.
    async with OzClient(url, admin) as client:
        first = {k.uid: k for k in await client.list_keys()}[admin_uid].last_used_at
        time.sleep(0.02)
        second = {k.uid: k for k in await client.list_keys()}[admin_uid].last_used_at
    assert first is not None and second is not None and second > first
    reliability.passed("stress", "last-used", "outcome", "set on each authenticated request")

    # A deleted key: 401 on its very next request, not retried.
    sleeps = NoRetry()
    async with OzClient(url, doomed, sleep=sleeps) as client:
        assert (await client.whoami()).credential_kind == "personal key"
        async with OzClient(url, admin) as admin_client:
            await admin_client.expire_key(doomed_uid)
        with pytest.raises(AuthenticationError, match="401"):
            await client.list_keys()
    assert sleeps == []
    reliability.passed("stress", "revoked-401", "outcome", "401 on its next request, not retried")

    # An expired key: 401 once its time has passed. (Issued here, just before its first use: on
    # a loaded machine the steps above outlasted a lifetime counted from the test's start.)
    soon = datetime.now(timezone.utc) + timedelta(seconds=3)
    _, short_lived = issue(data_dir, "short-lived", soon)
    async with OzClient(url, short_lived, sleep=sleeps) as client:
        assert await client.list_keys()
        while datetime.now(timezone.utc) <= soon:
            time.sleep(0.05)
        with pytest.raises(AuthenticationError, match="401"):
            await client.whoami()
        with pytest.raises(AuthenticationError, match="401"):
            await client.create_key("nope", Expiration.DAY_1)
    assert sleeps == []
    reliability.passed("stress", "expired-401", "outcome", "401 as soon as its time has passed")


# -- serve's readiness -------------------------------------------------------------------------------


def test_serve_prints_its_banner_only_once_listening(tmp_path: Path, reliability: Any) -> None:
    env = clean_env(tmp_path)
    data_dir = tmp_path / "keys"

    # A busy port: the error alone, no banner first.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [PYTHON, "-m", "oz_tui", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=REPO,
            timeout=TIMEOUT,
        )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"oz-keys: cannot listen on 127.0.0.1:{port}")

    # A corrupt store: its own one line, no banner.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "keys.db").write_bytes(b"garbage" * 500)
    result = subprocess.run(
        [PYTHON, "-m", "oz_tui", "serve", "--port", str(port), "--data-dir", str(bad)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=REPO,
        timeout=TIMEOUT,
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert str(bad / "keys.db") in line and "not a usable" in line

    # A free port: when the banner is out, the port already takes connections.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [PYTHON, "-m", "oz_tui", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert f"local key service on http://127.0.0.1:{port}" in banner
    finally:
        proc.send_signal(signal.SIGINT)
        _out, rest = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in rest
    reliability.passed("stress", "serve-ready", "outcome",
                       "banner printed from on_ready, once listening; a busy port or a bad "
                       "store prints only its one-line error")
