"""`oz-keys serve` keeps serving a client with a good key while 300 that never show one try to
take its place: drips to public and private paths, headers never finished, idle connections,
bad keys over and over (tests/support/capacity_clients.py, in its own process).

A real `oz-keys serve` in a subprocess on loopback, with its default limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capacity_clients import KINDS
from local_helpers import PYTHON, body
from oz_tui.api.operations import API_KEYS
from oz_tui.local.guard import Guard, Refusals, Unauthorized, WouldWait
from oz_tui.local.limits import Limits
from oz_tui.local.store import KeyStore
from test_serve_hardening import asgi

REPO = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parents[1] / "support" / "capacity_clients.py"

#: The issue's figures.
HOSTILE = 300
SECONDS = 30.0
EVERY = 0.5
ANSWER_WITHIN = 1.0
RSS_BELOW_MB = 150

#: What each kind of hostile client is answered.
REFUSED = {
    "drip_health_chunked": "413",
    "drip_health_length": "413",
    "drip_graphql_no_key": "401",
    "drip_graphql_bad_key": "401",
    "bad_key_repeated": "401",
}

pytestmark = pytest.mark.xdist_group("serve-capacity")


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, key: str) -> None:
        self.proc, self.port, self.key = proc, port, key

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


@contextlib.contextmanager
def _serving(data_dir: Path) -> Iterator[Server]:
    store = KeyStore(data_dir / "keys.db")
    key = store.create_key("ci")[1]
    store.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [PYTHON, "-m", "oz_tui", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert f"127.0.0.1:{port}" in banner, banner + proc.stderr.read()
        yield Server(proc, port, key)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "Traceback" not in err, err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with _serving(tmp_path / "keys") as served:
        yield served


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the quick checks, that no hostile client has used."""
    with _serving(tmp_path_factory.mktemp("quiet") / "keys") as served:
        yield served


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def _list_keys(port: int, key: str) -> tuple[float, bytes]:
    """One attempt of the good client, on a new connection: (seconds, what happened)."""
    payload = json.dumps(body(API_KEYS)).encode()
    request = (
        f"POST /graphql/v2 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            connected = time.monotonic() - started
            sock.sendall(request)
            answer = _read_answer(sock)
    except OSError as exc:
        connected, answer = -1, f"{type(exc).__name__}: {exc}".encode()
    # For a failure's message: how long the connection took to be set up.
    return time.monotonic() - started, b"connected in %.2f s: " % connected + answer


@pytest.fixture
def enough_descriptors() -> Iterator[None]:
    """The test's own sockets are few; the clients' process needs ~300, the server ~300."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # inherited by subprocesses
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_good_key_is_answered_within_a_second_under_300_hostile_clients(
    server: Server, enough_descriptors: None, reliability: Any
) -> None:
    per_kind = -(-HOSTILE // len(KINDS))
    hostile = subprocess.Popen(
        [PYTHON, str(CLIENTS), "127.0.0.1", str(server.port), str(SECONDS + 2), str(per_kind)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    attempts: list[tuple[float, bytes]] = []
    peak_rss = server.rss_mb()
    try:
        time.sleep(1.5)  # every hostile connection opened and at work
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            attempts.append(_list_keys(server.port, server.key))
            peak_rss = max(peak_rss, server.rss_mb())
            time.sleep(max(0.0, EVERY - attempts[-1][0]))
        out, err = hostile.communicate(timeout=30)
    finally:
        if hostile.poll() is None:
            hostile.kill()
            hostile.communicate()
    assert "Traceback" not in err, err
    report = json.loads(out)
    worst = max(seconds for seconds, _ in attempts)
    failed = [(round(s, 2), a[:40]) for s, a in attempts
              if s >= ANSWER_WITHIN or b": HTTP/1.1 200 " not in a[:40]]
    assert not failed, (f"{len(failed)} of {len(attempts)} attempts", failed[:10], report)
    assert len(attempts) >= SECONDS / EVERY * 0.9
    assert peak_rss < RSS_BELOW_MB, peak_rss
    # The hostile clients really were at it: all of them at once, refused or closed, again.
    opened, statuses = report["opened"], report["statuses"]
    assert sum(opened.values()) >= 2 * HOSTILE, report
    for kind, status in REFUSED.items():
        assert statuses[kind].get(status, 0) >= per_kind, (kind, report)
    for kind in ("headers_never_finished", "idle"):  # closed at the header deadline
        assert opened[kind] >= 3 * per_kind, (kind, report)
    reliability.passed(
        "hardening", "serve-capacity", "outcome",
        f"{sum(opened.values())} hostile connections in {SECONDS:g} s ({per_kind * len(KINDS)} at "
        "once: chunked and Content-Length drips to /health, / and /graphql/v2, no key and a bad "
        "key, headers never finished, idle, a bad key over and over): a good key answered "
        f"{len(attempts)} times out of {len(attempts)}, worst {worst * 1000:.0f} ms; "
        f"peak RSS {peak_rss:.0f} MB",
    )


# -- a body on a public path: refused at once, unread, over a real socket ------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "GET"])
@pytest.mark.parametrize("framing", ["Content-Length: 100000", "Transfer-Encoding: chunked"])
@pytest.mark.parametrize("path", ["/health", "/"])
def test_a_body_on_a_public_path_is_refused_before_it_is_sent(
    quiet_server: Server, method: str, framing: str, path: str
) -> None:
    server = quiet_server
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # The headers only, as curl sends them before a large body (and waits a while for an
        # answer): not one byte of the body follows.
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUser-Agent: curl/8.5.0\r\n"
            f"Accept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
            .encode()
        )
        started = time.monotonic()
        answer = _read_answer(sock)
        assert time.monotonic() - started < ANSWER_WITHIN, answer
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b"connection: close" in answer.lower()
        assert sock.recv(1024) == b""  # and the connection is closed


def test_curl_with_a_body_to_health_gets_an_immediate_refusal(quiet_server: Server) -> None:
    server = quiet_server
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url = f"http://127.0.0.1:{server.port}/health"
    for args in (["-d", "x" * 5000], ["-H", "Transfer-Encoding: chunked", "-d", "hello"], ["-X", "PUT", "-d", "{}"]):
        started = time.monotonic()
        result = subprocess.run(
            [curl, "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", *args, url],
            capture_output=True, text=True, timeout=10,
        )
        assert time.monotonic() - started < ANSWER_WITHIN + 1, result  # curl's own start-up
        assert result.stdout.endswith("\n413"), (args, result)
        assert json.loads(result.stdout.rsplit("\n", 1)[0])["title"] == "payload_too_large"


# -- in process: the guard's accounting ------------------------------------------------------------


def test_refusals_past_the_burst_take_turns_and_a_turn_too_far_off_is_not_waited_for() -> None:
    refusals = Refusals(Limits(
        unauthenticated_burst=2, unauthenticated_per_second=1, unauthenticated_max_wait=2.5
    ))
    delays = [refusals.delay() for _ in range(6)]
    assert delays[:2] == [0, 0]  # the burst
    assert delays[2] == pytest.approx(1, abs=0.05) and delays[3] == pytest.approx(2, abs=0.05)
    assert delays[4:] == [0, 0]  # 3 s off, past the 2.5 s bound: answered at once


def _refusing_guard(app: Any, limits: Limits, checked: threading.Event | None = None) -> Guard:
    def authenticate(authorization: str | None, wait: bool) -> object:
        if authorization == "Bearer good":
            return "the principal"
        if checked is not None:
            if not wait:
                raise WouldWait  # the store is in use: the check goes to a thread
            checked.wait(10)  # a slow credential check (the store's file locked by a writer)
        raise Unauthorized

    return Guard(app, authenticate=authenticate, limits=limits)


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _get(key: str | None) -> dict[str, str]:
    headers = {"host": "127.0.0.1:8787"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers


async def test_requests_still_showing_their_key_hold_no_slot() -> None:
    checked = threading.Event()
    guard = _refusing_guard(_ok, Limits(max_concurrent=2), checked)
    pending = [
        asyncio.create_task(asgi(guard, method="GET", path="/api/v1/agent/identities",
                                 headers=_get("wk-bad")))
        for _ in range(3)
    ]
    try:
        await asyncio.sleep(0.2)  # all three are in their credential check
        status, *_ = await asgi(guard, method="GET", path="/api/v1/agent/identities",
                                headers=_get("good"))
        assert status == 200
    finally:
        checked.set()
    assert [(await task)[0] for task in pending] == [401, 401, 401]


async def test_refusals_wait_their_turn_without_keeping_out_a_good_key() -> None:
    guard = _refusing_guard(_ok, Limits(
        unauthenticated_burst=2, unauthenticated_per_second=0.5, unauthenticated_max_wait=30
    ))
    refused = [
        asyncio.create_task(asgi(guard, method=method, path=path, headers=headers, chunks=chunks))
        for method, path, headers, chunks in [
            ("GET", "/graphql/v2", _get(None), None),
            ("GET", "/api/v1/agent/identities", _get("wk-bad"), None),
            ("POST", "/health", {**_get(None), "transfer-encoding": "chunked"}, [b"x"] * 3),
            ("POST", "/graphql/v2", {**_get(None), "content-type": "text/plain",
                                     "content-length": "5"}, [b"hello"]),
            ("GET", "/graphql/v2", _get("wk-bad"), None),
        ]
    ]
    await asyncio.sleep(0.3)
    assert sum(task.done() for task in refused) == 2  # the burst; the others wait their turn
    for _ in range(3):
        status, *_ = await asgi(guard, method="GET", path="/graphql/v2", headers=_get("good"))
        assert status == 200
    assert sum(task.done() for task in refused) == 2
    guard.stop_waiting()  # the server stops: every waiting refusal is answered at once
    statuses = [(await asyncio.wait_for(task, 1))[0] for task in refused]
    assert statuses == [401, 401, 413, 415, 401]
