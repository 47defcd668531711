"""A process that holds, or will hold, a raw key cannot dump core (issue 23, point 4).

The real CLI (`create`, `rotate`) and the real panel run as a shell with an unlimited core limit
would start them, in a scratch directory. While each waits for a key or shows one, the test
observes from outside: `/proc/PID/limits` (the core limit is 0, soft and hard); whether another
process of the same user, without capabilities, may read `/proc/PID/environ` (it may exactly when
the process is dumpable: that is what PR_SET_DUMPABLE 0 takes away); and a crash (SIGABRT, which
nothing handles) leaves no core file. A plain Python process started the same way is readable and
writes a core first, so none of this can pass by default; where the machine sends cores elsewhere
(a `core_pattern` pipe) only the core file part is left out.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import fault_server as fs

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CREDENTIAL = "wk-1." + "0" * 64
SECRET = re.compile(rb"wk-1\.[0-9a-f]{64}")
LIMIT = re.compile(r"^Max core file size\s+(\S+)\s+(\S+)", re.MULTILINE)


def _unlimited_core() -> None:
    """In the child before exec: the core limit a careless shell leaves (as high as allowed)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def _core_limit(pid: int) -> tuple[str, str]:
    match = LIMIT.search(Path(f"/proc/{pid}/limits").read_text())
    assert match, "no core limit in /proc/PID/limits"
    return match[1], match[2]


def _cores(directory: Path) -> list[Path]:
    return sorted(directory.glob("core*"))


def _without_capabilities() -> list[str]:
    """The prefix that runs a program as this user but with no capabilities: root's
    CAP_SYS_PTRACE would read any process, dumpable or not."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("as root, this test needs setpriv to drop its capabilities")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]


def _readable_by_the_same_user(pid: int) -> bool:
    """Whether another process of the same user (no capabilities) may read the process's
    environment: it may exactly when the process is dumpable."""
    reader = subprocess.run([*_without_capabilities(), "cat", f"/proc/{pid}/environ"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return reader.returncode == 0


def _crash(proc: subprocess.Popen[Any], directory: Path) -> list[Path]:
    """Crash `proc` (SIGABRT: nothing handles it): the core files it left."""
    proc.send_signal(signal.SIGABRT)
    assert proc.wait(timeout=60) == -signal.SIGABRT
    return _cores(directory)


def _observable(directory: Path) -> bool:
    """A plain Python process started the same way is readable by the same user (or the test
    could not tell), and whether it writes a core into its directory when it crashes (some
    machines send cores elsewhere: a `core_pattern` pipe)."""
    probe = directory / "probe"
    probe.mkdir()
    proc = subprocess.Popen([*_without_capabilities(), sys.executable, "-c",
                             "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush();"
                             " time.sleep(60)"],
                            cwd=probe, preexec_fn=_unlimited_core, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    if _core_limit(proc.pid)[1] == "0":
        proc.kill()
        proc.wait()
        pytest.skip("this session's hard core limit is 0: a child's can't be raised to tell")
    assert _readable_by_the_same_user(proc.pid), "a plain process is not readable: can't tell"
    written = _crash(proc, probe)
    proc.stdout.close()
    for core in written:
        core.unlink()
    return bool(written)


def _check_cannot_dump(proc: subprocess.Popen[Any], directory: Path, writes_cores: bool) -> None:
    assert _core_limit(proc.pid) == ("0", "0")  # RLIMIT_CORE, soft and hard
    assert not _readable_by_the_same_user(proc.pid)  # PR_SET_DUMPABLE 0
    cores = _crash(proc, directory)
    if writes_cores:
        assert cores == []


def _environ(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OZ_KEYS_", "WARP_", "TEXTUAL"))}
    env.update(WARP_API_KEY=CREDENTIAL, HOME=str(tmp), XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_DATA_HOME=str(tmp / "data"), TERM="xterm-256color",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _held_create(asked: threading.Event, release: threading.Event) -> fs.Action:
    """Answers every operation well, but holds GenerateApiKey until `release` (the client has
    asked for a key and waits for its secret)."""

    async def action(request: fs.Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        if request.operation == "GenerateApiKey":
            asked.set()
            for _ in range(600):
                if release.is_set():
                    break
                await asyncio.sleep(0.05)
        return await fs.good()(request, reader, writer)

    return action


@pytest.mark.parametrize("command", [("create", "x"), ("rotate", "key-personal", "--force")])
def test_the_cli_waiting_for_a_new_key_cannot_dump_core(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    writes_cores = _observable(tmp_path)
    asked, release = threading.Event(), threading.Event()
    server = fs.ThreadedFaultServer(lambda request: _held_create(asked, release))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [*_without_capabilities(), sys.executable, "-m", "oz_tui", *command,
         "--server-root-url", server.url],
        cwd=work, env=_environ(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=_unlimited_core,
    )
    try:
        assert asked.wait(60), proc.stderr.read() if proc.poll() is not None else "no request"
        # It has asked for the key: the secret could arrive at any moment now.
        _check_cannot_dump(proc, work, writes_cores)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        server.close()


def test_list_is_left_as_the_shell_started_it(tmp_path: Path) -> None:
    """`list` holds no secret: its core limit stays what it was given."""
    asked, release = threading.Event(), threading.Event()

    def held_list(request: fs.Request) -> fs.Action:
        async def action(request: fs.Request, reader: Any, writer: Any) -> bool:
            asked.set()
            for _ in range(600):
                if release.is_set():
                    break
                await asyncio.sleep(0.05)
            return await fs.good()(request, reader, writer)

        return action

    server = fs.ThreadedFaultServer(held_list)
    proc = subprocess.Popen(
        [*_without_capabilities(), sys.executable, "-m", "oz_tui", "list",
         "--server-root-url", server.url],
        cwd=tmp_path, env=_environ(tmp_path), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_unlimited_core,
    )
    try:
        assert asked.wait(60)
        assert _core_limit(proc.pid) != ("0", "0")
        assert _readable_by_the_same_user(proc.pid)
    finally:
        release.set()
        assert proc.wait(timeout=60) == 0
        server.close()


class _Pty:
    """A process on a pseudo-terminal; a thread keeps reading what it writes (so it never
    blocks on a full terminal) and keeps it."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, close_fds=True, start_new_session=True,
                                     preexec_fn=_unlimited_core)
        os.close(slave)
        self.output = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    with self._lock:
                        self.output += data
            except (OSError, ValueError):
                return

    def wait_for(self, pattern: bytes, since: int = 0, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            with self._lock:
                if re.search(pattern, self.output[since:]):
                    return len(self.output)
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never appeared: {self.output[-1500:]!r}")

    def press(self, keys: bytes) -> None:
        time.sleep(0.3)  # not an assertion: let focus settle before the key arrives
        os.write(self.master, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def test_the_panel_showing_a_new_key_cannot_dump_core(tmp_path: Path) -> None:
    writes_cores = _observable(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    panel = _Pty([*_without_capabilities(), sys.executable, "-m", "oz_tui", "--demo"],
                 _environ(tmp_path), work)
    try:
        panel.wait_for(rb"Create API Key")
        panel.press(b"n")
        panel.wait_for(rb"New API key")
        mark = len(panel.output)
        panel.press(b"\r")
        panel.wait_for(rb"Save your key", since=mark)
        panel.wait_for(SECRET.pattern, since=mark)
        # *Save your key* is open: the process holds the secret.
        _check_cannot_dump(panel.proc, work, writes_cores)
    finally:
        panel.close()


def test_serve_which_creates_keys_cannot_dump_core(tmp_path: Path) -> None:
    """`serve` makes raw keys for its clients: it holds each one in memory while it answers."""
    writes_cores = _observable(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [*_without_capabilities(), sys.executable, "-m", "oz_tui", "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "keys")],
        cwd=work, env=_environ(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, preexec_fn=_unlimited_core,
    )
    try:
        assert proc.stderr is not None
        assert "local key service on" in proc.stderr.readline().decode()
        _check_cannot_dump(proc, work, writes_cores)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
