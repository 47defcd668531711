"""oz-keys performance benchmark: start-up, the CLI, a slow link, a 10,000-key table, memory,
requests per action.

    .venv/bin/python tests/benchmarks/bench.py            # 5 runs of everything (~6 minutes)
    .venv/bin/python tests/benchmarks/bench.py --runs 9 --keys 10000 --json out.json

Not a test (pytest does not collect it; the suite times nothing). Everything is measured in one
run, oz-keys beside its baseline (interleaved for start-up), and reported as medians:

1. Start-up, on a pseudo-terminal (the real driver, as a user sees it): from just before the
   process is spawned to the moment the terminal has received the first frame (the page
   heading) of `oz-keys --demo`; and, separately, the table with 50 keys from the embedded
   local service (`oz-keys --local`: the status line's "50 keys" and the first row's name).
   Baseline: `bare_app.py`, a bare Textual app with the same widget tree and the same rows
   already in memory in a stock DataTable (no service, no HTTP, no GraphQL).
   The CLI: `oz-keys list --local` (50 keys) beside a bare `python -c pass`, interleaved.
   A slow link: `oz-keys serve` behind a TCP proxy on loopback that delays every byte by half
   the round trip each way (`--rtt`, default 200 ms) and, like a real link, lets no byte reach
   the server before the connection's handshake (one round trip) is done. Beside `curl`
   sending the very request `oz-keys list` sends, over the same proxy: `oz-keys list`, and the
   panel (`oz-keys --server-root-url …`) until it shows the keys, counted in round trips after
   the bare app's first frame.
2. A 10,000-key table, in process with `App.run_test()` at 120x36: oz-keys (the real app over
   the local service holding the keys) against a stock DataTable given the same cells (Rich
   Text from `key_cells`). Each figure runs from the call (`set_keys` with the list already
   fetched, `filter`, `sort_by`, page down) until the frame is rendered: pending messages and
   idle handlers processed, layout, the compositor's render of every changed line, and its
   conversion to the escape sequences a terminal would be sent. Nothing is written (headless).
   The stock DataTable is filtered the only way it can be: clear, then add the matching rows
   (cells already built), and sorted with `DataTable.sort`. The end-to-end search figure
   sends a key event to the search box and includes its debounce logic.
3. Peak RSS (`wait4` ru_maxrss) of `oz-keys` on a pseudo-terminal showing 10,000 keys from the
   local service, paged, searched, then quit; beside it, the bare app holding 10,000 rows.
4. Requests per action (open the panel, create, delete, refresh, search/sort), counted in a
   transport around the GraphQL service, as a server would see them.
5. What the CLI and the app import before the first frame, and what the first request imports.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import platform
import pty
import random
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYTHON = sys.executable
SIZE = (120, 36)
#: Names for the generated keys; a search for "deploy" narrows 10,000 keys step by step.
PREFIXES = (
    "ci-runner", "deploy-bot", "nightly agent", "staging deploy", "laptop cli", "grafana",
    "release automation", "data export", "codespace", "backup job", "prod deployer",
    "metrics scraper",
)
SEARCH = "deploy"
#: `--compare TREE`: another source tree of oz-keys (its `oz_tui` first on PYTHONPATH), measured
#: interleaved with this one in the same run (start-up, the CLI, the link), for a before/after.
COMPARE: Path | None = None
#: The same with qualifiers (oz_tui.core.hygiene), typed a character at a time: the prefixes include
#: unfinished qualifiers ("expires:<3") that only hint, as while typing.
QUALIFIED_SEARCH = "scope:team expires:<30d idle:>1d deploy"


# -- data ----------------------------------------------------------------------------------------


def make_store(data_dir: Path, count: int, now: datetime, seed: int = 6) -> None:
    """`count` active keys in a local key store at `data_dir`, with varied names and times."""
    sys.path.insert(0, str(REPO))
    from oz_tui.core.models import OwnerType
    from oz_tui.local.store import LOCAL_IDENTITY, KeyStore, StoredKey

    rng = random.Random(seed)
    store = KeyStore(data_dir / "keys.db", clock=lambda: now)
    team = LOCAL_IDENTITY.teams[0].uid
    for number in range(count):
        team_key = rng.random() < 0.3
        created = now - timedelta(minutes=rng.randint(60, 400 * 24 * 60))
        used = None if rng.random() < 0.2 else now - timedelta(minutes=rng.randint(1, 30 * 24 * 60))
        if used is not None and used < created:
            used = created
        expires = None if rng.random() < 0.3 else now + timedelta(hours=rng.randint(2, 365 * 24))
        store.insert(
            StoredKey(
                uid=f"bench-{number:06d}",
                name=f"{PREFIXES[number % len(PREFIXES)]} {number}",
                key_suffix=f"{rng.randrange(16**4):04x}",
                owner_type=OwnerType.TEAM if team_key else OwnerType.USER,
                team_uid=team if team_key else None,
                created_at=created,
                last_used_at=used,
                expires_at=expires,
                revoked_at=None,
            ),
            f"bench-hash-{number}",
        )
    store.close()


def bare_rows(data_dir: Path | None, *, demo: bool = False) -> dict[str, Any]:
    """The rows oz-keys would show, as plain strings, for the bare app to hold in memory."""
    sys.path.insert(0, str(REPO))
    from oz_tui.backend import local_backend
    from oz_tui.core.key_list import Column
    from oz_tui.tui.widgets.key_cells import cell_strings

    backend = local_backend(demo=True) if demo else local_backend(data_dir)
    keys = asyncio.run(_list_and_close(backend))
    now = datetime.now(timezone.utc)
    keys.sort(key=lambda k: (k.created_at, k.uid), reverse=True)
    rows = [[*cell_strings(key, now), "Delete"] for key in keys]
    columns = [column.label for column in Column] + [""]
    return {"columns": columns, "rows": rows, "first": keys[0].name if keys else ""}


async def _list_and_close(backend: Any) -> list[Any]:
    try:
        return await backend.client.list_keys()
    finally:
        await backend.aclose()


# -- running on a pseudo-terminal ----------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
    }
    if COMPARE is not None:
        # Both trees found the same way (an editable install's finder is not a path entry).
        env["PYTHONPATH"] = str(REPO)
    return env


class PtyRun:
    """A process on a pseudo-terminal: when each marker reached the terminal, and its rusage."""

    def __init__(self, argv: list[str], env: dict[str, str], markers: list[bytes]) -> None:
        self.argv = argv
        self.env = env
        self.markers = markers
        self.seen: dict[bytes, float] = {}
        self.maxrss_kb = 0
        self.output = b""

    def run(
        self, *, timeout: float = 60.0, after: Callable[[PtyRun, int], None] | None = None
    ) -> PtyRun:
        master, slave = pty.openpty()
        width, height = SIZE
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        start = time.perf_counter()
        proc = subprocess.Popen(
            self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env,
            close_fds=True, start_new_session=True, cwd=str(REPO),
        )
        os.close(slave)
        self.master = master
        try:
            deadline = start + timeout
            while len(self.seen) < len(self.markers) and time.perf_counter() < deadline:
                if not self.read(0.5, start):
                    break
            if after is not None:
                after(self, master)
        finally:
            # wait4, not Popen.wait: it also returns the child's own peak RSS.
            pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                os.kill(proc.pid, signal.SIGKILL)  # (Popen.kill could reap it first)
                pid, _status, usage = os.wait4(proc.pid, 0)
            proc.returncode = _status
            self.maxrss_kb = usage.ru_maxrss
            os.close(master)
        missing = [m for m in self.markers if m not in self.seen]
        if missing:
            raise RuntimeError(f"{self.argv}: never showed {missing!r}: {self.output[-2000:]!r}")
        return self

    def read(self, wait: float, start: float = 0.0) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:
            return False
        now = time.perf_counter()
        self.output += chunk
        for marker in self.markers:
            if marker not in self.seen and marker in self.output:
                self.seen[marker] = now - start
        return bool(chunk)

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            if not self.read(max(0.0, end - time.perf_counter())):
                return


def oz_keys(*args: str) -> list[str]:
    script = Path(PYTHON).with_name("oz-keys")
    if script.exists():
        return [str(script), *args]
    return [PYTHON, "-m", "oz_tui", *args]


def bare_app(rows_file: Path, source: str) -> list[str]:
    return [PYTHON, str(HERE / "bare_app.py"), str(rows_file), source]


def compared(env: dict[str, str]) -> dict[str, str]:
    """`env` running the `--compare` tree's oz-keys."""
    assert COMPARE is not None
    return {**env, "PYTHONPATH": str(COMPARE)}


def startup(runs: int, work: Path, data50: Path) -> dict[str, Any]:
    env = clean_env(work / "home")
    demo_rows = work / "demo-rows.json"
    demo = bare_rows(None, demo=True)
    demo_rows.write_text(json.dumps(demo))
    rows50 = work / "rows-50.json"
    fifty = bare_rows(data50)
    rows50.write_text(json.dumps(fifty))
    heading = b"API keys"
    count = b"50 keys"
    first = fifty["first"].encode()
    times: dict[str, list[float]] = {"demo": [], "bare-demo": [], "local50": [], "bare50": []}
    source = f"Local key service · {data50 / 'keys.db'}"
    for _ in range(runs):
        times["demo"].append(PtyRun(oz_keys("--demo"), env, [heading]).run().seen[heading])
        times["bare-demo"].append(
            PtyRun(bare_app(demo_rows, "Demo data (in memory)"), env, [heading]).run().seen[heading]
        )
        run = PtyRun(oz_keys("--local", "--data-dir", str(data50)), env, [count, first]).run()
        times["local50"].append(max(run.seen.values()))
        run = PtyRun(bare_app(rows50, source), env, [count, first]).run()
        times["bare50"].append(max(run.seen.values()))
        if COMPARE is not None:
            other = compared(env)
            times.setdefault("demo@compare", []).append(
                PtyRun(oz_keys("--demo"), other, [heading]).run().seen[heading])
            run = PtyRun(oz_keys("--local", "--data-dir", str(data50)), other, [count, first]).run()
            times.setdefault("local50@compare", []).append(max(run.seen.values()))
    return times


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of a command from spawn to exit (output discarded); it must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=str(REPO))
    took = time.perf_counter() - start
    if done.returncode != 0:
        # The command only: a curl line would carry the credential.
        raise RuntimeError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} … failed "
                           f"({done.returncode}): {done.stderr[-2000:]!r}")
    return took


def cli_local(runs: int, work: Path, data50: Path) -> dict[str, Any]:
    """`oz-keys list --local` beside `python -c pass`, interleaved; and what it imports beyond
    a bare interpreter (`-X importtime`), the largest first."""
    env = clean_env(work / "home")
    times: dict[str, list[float]] = {"list": [], "pass": []}
    command = oz_keys("list", "--local", "--data-dir", str(data50))
    for _ in range(runs * 3):  # short: more samples for a stable median
        times["pass"].append(timed([PYTHON, "-c", "pass"], env))
        times["list"].append(timed(command, env))
        if COMPARE is not None:
            times.setdefault("list@compare", []).append(timed(command, compared(env)))
    bare = _import_times([PYTHON, "-X", "importtime", "-c", "pass"], env)
    ours = _import_times([PYTHON, "-X", "importtime", "-m", "oz_tui", "list", "--local",
                          "--data-dir", str(data50)], env)
    extra = {name: us for name, us in ours.items() if name not in bare}
    top = sorted(extra.items(), key=lambda item: -item[1])[:8]
    return {**times, "imports": len(extra), "import_ms": sum(extra.values()) / 1000,
            "top": [(name, us / 1000) for name, us in top]}


def _import_times(argv: list[str], env: dict[str, str]) -> dict[str, int]:
    """Module -> its own import time in µs, from `-X importtime`."""
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, cwd=str(REPO))
    out: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _cumulative, name = line.split(":", 1)[1].split("|")
            out[name.strip()] = int(own)
    return out


# -- a slow link -----------------------------------------------------------------------------------


async def delaying_proxy(upstream: int, rtt: float, ready: Callable[[int], None]) -> None:
    """Forward loopback connections to `upstream`, each byte half a round trip late each way.
    A client's bytes also wait for the handshake a real link would take first: none reaches
    the server earlier than one and a half round trips after the connection was opened."""
    loop = asyncio.get_running_loop()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(1 << 16)
                queue.put_nowait((max(loop.time(), not_before) + rtt / 2, data))
                if not data:
                    break
            await delivering
        except (ConnectionError, OSError):
            delivering.cancel()
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        opened = loop.time()
        server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(pump(client_r, server_w, opened + rtt), pump(server_r, client_w, 0.0),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LinkFixture:
    """`oz-keys serve` on `data_dir` and the delaying proxy in front of it (both stopped on
    exit), and a key to authenticate with."""

    def __init__(self, work: Path, data_dir: Path, rtt: float) -> None:
        self.work, self.data_dir, self.rtt = work, data_dir, rtt
        self.procs: list[subprocess.Popen[str]] = []

    def __enter__(self) -> LinkFixture:
        sys.path.insert(0, str(REPO))
        from oz_tui.local.store import KeyStore

        store = KeyStore(self.data_dir / "keys.db")
        self.key_name = "bench link key"
        _key, self.raw_key = store.create_key(self.key_name)
        store.close()
        env = clean_env(self.work / "home")
        port = _free_port()
        serve = subprocess.Popen(oz_keys("serve", "--data-dir", str(self.data_dir), "--port",
                                         str(port)), env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(serve)
        assert serve.stderr is not None
        line = serve.stderr.readline()
        if "local key service on" not in line:
            raise RuntimeError(f"serve did not start: {line!r}")
        proxy = subprocess.Popen([PYTHON, __file__, "--worker", "proxy", "--upstream", str(port),
                                  "--rtt", str(self.rtt)], stdout=subprocess.PIPE, text=True)
        self.procs.append(proxy)
        assert proxy.stdout is not None
        self.url = f"http://127.0.0.1:{int(proxy.stdout.readline())}"
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGINT if proc is self.procs[0] else signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def env(self) -> dict[str, str]:
        return {**clean_env(self.work / "home"), "WARP_API_KEY": self.raw_key}

    def curl(self) -> list[str]:
        """curl sending what `oz-keys list` sends: the same body, headers and query string."""
        sys.path.insert(0, str(REPO))
        from oz_tui.api.identity import ClientIdentity
        from oz_tui.api.operations import API_KEYS

        identity = ClientIdentity()
        body = self.work / "list-body.json"
        body.write_text(json.dumps({
            "query": API_KEYS.document,
            "variables": {"requestContext": identity.request_context()},
            "operationName": API_KEYS.name,
        }))
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   **identity.headers(), "Authorization": f"Bearer {self.raw_key}"}
        header_file = self.work / "list-headers.txt"  # not argv: the key stays out of `ps`
        header_file.write_text("".join(f"{name}: {value}\n" for name, value in headers.items()))
        return ["curl", "--silent", "--show-error", "--fail", "--output", "/dev/null",
                "--data-binary", f"@{body}", "-H", f"@{header_file}",
                f"{self.url}/graphql/v2?op={API_KEYS.name}"]


def slow_link(runs: int, work: Path, data_dir: Path, rtt: float, rows: Path,
              first: str) -> dict[str, Any]:
    """Over the delaying proxy: curl and `oz-keys list` (spawn to exit), the panel (spawn to
    the keys on screen) and the bare app's first frame, interleaved."""
    times: dict[str, list[float]] = {"curl": [], "list": [], "panel": [], "bare": []}
    with LinkFixture(work, data_dir, rtt) as link:
        env = link.env()
        count = b"51 keys"  # the 50 and the link's own key
        for _ in range(runs):
            times["curl"].append(timed(link.curl(), env))
            times["list"].append(timed(oz_keys("list", "--server-root-url", link.url), env))
            run = PtyRun(oz_keys("--server-root-url", link.url), env, [count, first.encode()])
            times["panel"].append(max(run.run().seen.values()))
            heading = b"API keys"
            bare = PtyRun(bare_app(rows, "bare"), env, [heading]).run()
            times["bare"].append(bare.seen[heading])
            if COMPARE is not None:
                other = compared(env)
                times.setdefault("list@compare", []).append(
                    timed(oz_keys("list", "--server-root-url", link.url), other))
                run = PtyRun(oz_keys("--server-root-url", link.url), other,
                             [count, first.encode()])
                times.setdefault("panel@compare", []).append(max(run.run().seen.values()))
    return times


def peak_rss(work: Path, data10k: Path, keys: int) -> dict[str, Any]:
    """oz-keys with `keys` keys: shown, scrolled, searched, quit; and the bare app's 10k rows."""
    env = clean_env(work / "home")
    count = f"{keys} keys".encode()

    def use_it(run: PtyRun, master: int) -> None:
        for sequence in (b"\x1b[6~",) * 5 + (b"/",) + tuple(bytes([c]) for c in SEARCH.encode()):
            os.write(master, sequence)
            run.drain(0.05)
        run.drain(1.0)
        os.write(master, b"\x11")  # ctrl+q
        run.drain(3.0)

    ours = PtyRun(oz_keys("--local", "--data-dir", str(data10k)), env, [count]).run(
        timeout=180, after=use_it)
    rows = work / "rows-10k.json"
    rows.write_text(json.dumps(bare_rows(data10k)))
    bare = PtyRun(bare_app(rows, "bare"), env, [count]).run(
        timeout=180, after=lambda r, m: r.drain(1.0))
    return {
        "oz_rss_mb": ours.maxrss_kb / 1024,
        "oz_shown_s": ours.seen[count],
        "bare_rss_mb": bare.maxrss_kb / 1024,
        "bare_shown_s": bare.seen[count],
    }


# -- in-process table timings (worker) -----------------------------------------------------------


async def _painted(pilot: Any) -> None:
    """Until the frame is rendered: pending messages (and idle handlers) done, then a screen
    update (layout + compositor render) as the update timer would run it, twice over so that
    messages posted by the first round are painted too."""
    app = pilot.app
    for _ in range(2):
        await pilot._wait_for_screen()
        app.screen._on_timer_update()


def _render_to_terminal(app: Any) -> None:
    """Headless apps skip writing frames; make them build the terminal output (and drop it), so
    the timings include turning the frame into escape sequences."""
    from textual._compositor import CompositorUpdate

    def display(screen: Any, renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)

    app._display = display


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def table_oz(data_dir: Path, runs: int) -> dict[str, list[float]]:
    from oz_tui.backend import local_backend
    from oz_tui.tui.app import OzKeysApp
    from oz_tui.tui.widgets import Column, KeyTable

    backend = local_backend(data_dir)
    app = OzKeysApp(backend, cursor_blink=False)
    out: dict[str, list[float]] = {"load": [], "keystroke": [], "keystroke_e2e": [], "sort": [],
                                   "page": [], "keystroke_qualifiers": []}
    async with app.run_test(size=SIZE) as pilot:
        _render_to_terminal(app)
        for _ in range(200):
            await pilot.pause()
            table = app.screen.query_one(KeyTable)
            if table.loaded:
                break
        await app.workers.wait_for_complete()
        await pilot.pause()
        keys = await backend.client.list_keys()  # the data in hand
        now = app.clock()
        total = len(keys)
        from oz_tui.tui.widgets import key_cells

        for _ in range(runs):
            key_cells._clean_cached.cache_clear()  # cold: names sanitised again, as at start
            t0 = time.perf_counter()
            table.set_keys(keys, now)
            await _painted(pilot)
            out["load"].append(time.perf_counter() - t0)
            assert len(table.visible_keys) == total
        for _ in range(runs):
            # The filter and its repaint, as the search box calls it once its debounce fires.
            for end in range(1, len(SEARCH) + 1):
                t0 = time.perf_counter()
                table.filter(SEARCH[:end])
                await _painted(pilot)
                out["keystroke"].append(time.perf_counter() - t0)
            assert all(SEARCH in key.name for key in table.visible_keys)
            table.filter("")
            await _painted(pilot)
        for _ in range(runs):
            for end in range(1, len(QUALIFIED_SEARCH) + 1):
                t0 = time.perf_counter()
                table.filter(QUALIFIED_SEARCH[:end])
                await _painted(pilot)
                out["keystroke_qualifiers"].append(time.perf_counter() - t0)
            assert table.visible_keys and table.search_hint == ""
            assert all(SEARCH in key.name and key.scope.value == "Team"
                       for key in table.visible_keys)
            table.filter("")
            await _painted(pilot)
        # End to end: a key event into the search box until the filtered table is painted,
        # including the screen's debounce.
        search = app.screen.query_one("#search")
        search.focus()
        await pilot.pause()
        from textual import events

        for _ in range(runs):
            for end in range(1, len(SEARCH) + 1):
                expected = SEARCH[:end]
                t0 = time.perf_counter()
                app._driver.send_message(events.Key(expected[-1], expected[-1]))
                while table.filter_text != expected:
                    await asyncio.sleep(0.0005)
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("the search never filtered")
                await _painted(pilot)
                out["keystroke_e2e"].append(time.perf_counter() - t0)
                # Typing pauses between keys (so each one is measured on its own).
                await pilot.pause(0.3)
            search.value = ""
            await pilot.pause(0.3)
        await pilot.press("escape")
        table.focus()
        await pilot.pause()
        columns = list(Column)
        for run in range(runs):
            for column in columns:
                t0 = time.perf_counter()
                table.sort_by(column, reverse=bool(run % 2))
                await _painted(pilot)
                out["sort"].append(time.perf_counter() - t0)
        table.sort_by(Column.CREATED)
        await _painted(pilot)
        grid = table.query_one("#key-grid")
        for _ in range(runs):
            for _ in range(5):
                t0 = time.perf_counter()
                grid.action_page_down()
                await _painted(pilot)
                out["page"].append(time.perf_counter() - t0)
            grid.action_first_row()
            await _painted(pilot)
        assert table.highlighted_key is not None
    return out


async def table_stock(data_dir: Path, runs: int) -> dict[str, list[float]]:
    """The same work with Textual's stock DataTable, given the same cells (Rich Text)."""
    sys.path.insert(0, str(HERE))
    from bare_app import BareApp
    from rich.text import Text
    from textual.widgets import DataTable

    from oz_tui.backend import local_backend
    from oz_tui.core.key_list import Column
    from oz_tui.tui.widgets.key_cells import key_cells

    backend = local_backend(data_dir)
    keys = await backend.client.list_keys()
    await backend.aclose()
    out: dict[str, list[float]] = {"load": [], "keystroke": [], "sort": [], "page": []}
    app = BareApp([], [], "stock DataTable")
    async with app.run_test(size=SIZE) as pilot:
        _render_to_terminal(app)
        await pilot.pause()
        table = app.query_one(DataTable)
        now = datetime.now(timezone.utc)
        keys.sort(key=lambda k: (k.created_at, k.uid), reverse=True)

        def fill(rows: list[tuple[str, tuple[Text, ...]]]) -> None:
            table.clear(columns=True)
            for column in Column:
                table.add_column(Text(column.label), key=column.value)
            table.add_column(Text(""), key="action")
            for uid, cells in rows:
                table.add_row(*cells, key=uid)

        for _ in range(runs):
            t0 = time.perf_counter()
            fill([(key.uid, key_cells(key, now)) for key in keys])  # cells built from the data
            await _painted(pilot)
            out["load"].append(time.perf_counter() - t0)
            assert table.row_count == len(keys) and table.virtual_size.height == len(keys) + 1
        all_rows = [(key.uid, key_cells(key, now)) for key in keys]
        table.focus()
        for _ in range(runs):
            for end in range(1, len(SEARCH) + 1):
                needle = SEARCH[:end]
                t0 = time.perf_counter()
                # Cells already built: only the rows change, as a DataTable can be filtered.
                fill([row for row, key in zip(all_rows, keys) if needle in key.name.casefold()])
                await _painted(pilot)
                out["keystroke"].append(time.perf_counter() - t0)
            fill(all_rows)
            await _painted(pilot)
        for run in range(runs):
            for column in Column:
                t0 = time.perf_counter()
                table.sort(column.value, key=lambda cell: cell.plain, reverse=bool(run % 2))
                await _painted(pilot)
                out["sort"].append(time.perf_counter() - t0)
        for _ in range(runs):
            for _ in range(5):
                t0 = time.perf_counter()
                table.action_page_down()
                await _painted(pilot)
                out["page"].append(time.perf_counter() - t0)
            table.move_cursor(row=0)
            await _painted(pilot)
    return out


def worker_main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    if args.worker == "proxy":
        def ready(port: int) -> None:
            print(port, flush=True)

        asyncio.run(delaying_proxy(args.upstream, args.rtt, ready))
        return
    data_dir = Path(args.data_dir)
    if args.worker == "table-oz":
        result: Any = asyncio.run(table_oz(data_dir, args.runs))
    elif args.worker == "table-stock":
        result = asyncio.run(table_stock(data_dir, args.runs))
    elif args.worker == "requests":
        result = asyncio.run(requests_per_action(data_dir))
    else:
        raise SystemExit(f"unknown worker {args.worker}")
    print("RESULT " + json.dumps(result))


def run_worker(name: str, data_dir: Path, runs: int = 1) -> Any:
    done = subprocess.run(
        [PYTHON, __file__, "--worker", name, "--data-dir", str(data_dir), "--runs", str(runs)],
        capture_output=True, text=True, cwd=str(REPO), timeout=1800,
        env={**os.environ, "TEXTUAL": "", "TERM": "xterm-256color"},
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


# -- requests per action (worker) ----------------------------------------------------------------


async def requests_per_action(data_dir: Path) -> dict[str, dict[str, int]]:
    import httpx

    from oz_tui.api.client import OzClient
    from oz_tui.backend import LOCAL_SERVER_ROOT, Backend
    from oz_tui.local import LocalService
    from oz_tui.tui.app import OzKeysApp
    from oz_tui.tui.screens import ConfirmDeleteScreen, ShowKeyScreen
    from oz_tui.tui.screens.keys import KeysScreen
    from oz_tui.tui.widgets import KeyTable

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner
            self.counts: dict[str, int] = {}

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            op = request.url.params.get("op", request.url.path)
            self.counts[op] = self.counts.get(op, 0) + 1
            return await self.inner.handle_async_request(request)

        def take(self) -> dict[str, int]:
            counts, self.counts = self.counts, {}
            return counts

    service = LocalService(data_dir)
    transport = Counting(service.transport())
    client = OzClient(LOCAL_SERVER_ROOT, None, transport=transport)
    backend = Backend(client=client, source="bench", is_local=True, service=service)
    app = OzKeysApp(backend, cursor_blink=False)
    result: dict[str, dict[str, int]] = {}

    async def settle() -> None:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()

    async with app.run_test(size=SIZE) as pilot:
        await settle()
        table = app.screen.query_one(KeyTable)
        assert table.loaded
        result["open the panel"] = transport.take()

        await pilot.press("n")
        await settle()
        await pilot.press(*"bench key")
        await pilot.press("enter")
        await settle()
        assert isinstance(app.screen, ShowKeyScreen), app.screen
        await pilot.press("c")
        await settle()
        await pilot.press("enter")
        await settle()
        assert isinstance(app.screen, KeysScreen), app.screen
        assert any(key.name == "bench key" for key in table.keys)
        result["create a key"] = transport.take()

        await pilot.press("d")
        await settle()
        assert isinstance(app.screen, ConfirmDeleteScreen), app.screen
        await pilot.press("y")
        await settle()
        assert not any(key.name == "bench key" for key in table.keys)
        result["delete a key"] = transport.take()

        await pilot.press("r")
        await settle()
        result["refresh"] = transport.take()

        await pilot.press("slash", *"ci", "escape")
        await pilot.pause(0.3)
        await pilot.press("s", "S")
        await settle()
        result["search, sort (local)"] = transport.take()
    return result


# -- imports before the first frame -------------------------------------------------------------


def imports_before_first_frame() -> dict[str, Any]:
    """What the panel has imported when Textual paints its first frame (the app's modules and
    the CLI's, as `oz-keys` loads them before `App.run`)."""
    code = (
        "import json, sys, time\n"
        "t = time.perf_counter()\n"
        "import oz_tui.cli, oz_tui.tui.app\n"
        "took = time.perf_counter() - t\n"
        "top = sorted({m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps({'took': took, 'heavy': [m for m in top if m in "
        "('httpx', 'httpcore', 'graphql', 'starlette', 'hypercorn', 'anyio', 'click', 'pygments')],"
        " 'local': sorted(m for m in sys.modules if m.startswith('oz_tui.local'))}))\n"
    )
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=str(REPO),
                          check=True)
    return json.loads(done.stdout)


# -- the report -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import textual

    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory} RAM; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, Textual {textual.__version__}"
    )


def row(name: str, goal: str, ours: str, base: str, ratio: str, ok: bool | None) -> str:
    verdict = "—" if ok is None else ("PASS" if ok else "FAIL")
    return f"| {name} | {goal} | {ours} | {base} | {ratio} | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rtt", type=float, default=0.2,
                        help="the slow link's round trip in seconds (default 0.2)")
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="+", choices=PARTS, help="measure only these parts")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also measure the oz_tui in TREE (e.g. a `git worktree` of the "
                        "commit before a change), interleaved, for start-up, the CLI and the link")
    args = parser.parse_args()
    global COMPARE
    COMPARE = args.compare.resolve() if args.compare else None
    if args.worker:
        worker_main(args)
        return

    runs = args.runs
    parts = set(args.only or PARTS)
    work = Path(tempfile.mkdtemp(prefix="oz-keys-bench-"))
    raw: dict[str, Any] = {}
    try:
        now = datetime.now(timezone.utc)
        data50, data10k, data_link = work / "keys-50", work / "keys-10k", work / "keys-link"
        print(f"oz-keys benchmark: {runs} runs, {args.keys} keys; {machine()}", flush=True)
        print("preparing the key stores…", flush=True)
        make_store(data50, 50, now)
        if parts & {"table", "rss"}:
            make_store(data10k, args.keys, now)
        measures: dict[str, Callable[[], None]] = {
            "startup": lambda: raw.update(imports=imports_before_first_frame(),
                                          startup=startup(runs, work, data50)),
            "cli": lambda: raw.update(cli=cli_local(runs, work, data50)),
            "link": lambda: raw.update(link=slow_link(runs, work, data_link, args.rtt,
                                                      rows_link(), "bench link key")),
            "table": lambda: raw.update(table_oz=run_worker("table-oz", data10k, runs),
                                        table_stock=run_worker("table-stock", data10k, runs)),
            "rss": lambda: raw.update(rss=peak_rss(work, data10k, args.keys)),
            "requests": lambda: raw.update(requests=run_worker("requests", data50)),
        }

        def rows_link() -> Path:
            make_store(data_link, 50, now)
            rows = work / "rows-link.json"
            rows.write_text(json.dumps(bare_rows(data50)))
            return rows

        for part in PARTS:
            if part not in parts:
                continue
            print(f"{PART_TITLES[part].format(keys=args.keys, rtt=args.rtt * 1000)}…", flush=True)
            try:
                measures[part]()
            except Exception as exc:  # noqa: BLE001 - one part failing leaves the others' figures
                raw.setdefault("failed", {})[part] = f"{type(exc).__name__}: {exc}"[:300]
                print(f"  {part} failed: {raw['failed'][part]}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report(raw, runs, args.keys, args.rtt))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


PARTS = ("startup", "cli", "link", "table", "rss", "requests")
PART_TITLES = {
    "startup": "start-up on a pseudo-terminal",
    "cli": "the CLI on the local store",
    "link": "a link with a {rtt:.0f} ms round trip",
    "table": "{keys} keys in the table (oz-keys, then the stock DataTable)",
    "rss": "peak RSS",
    "requests": "requests per action",
}


def report(raw: dict[str, Any], runs: int, keys: int, rtt: float) -> str:
    """The table: each goal with oz-keys, its baseline, the ratio, and PASS or FAIL."""
    lines = [
        "",
        f"Machine: {machine()}",
        f"Medians of {runs} runs (the CLI: {runs * 3}). Times in ms unless noted.",
        "",
        "| Measure | Goal | oz-keys | Baseline | Ratio | Result |",
        "|---|---|---|---|---|---|",
    ]
    ms = _median_ms
    for part, reason in raw.get("failed", {}).items():
        lines.append(row(f"{part}: not measured ({reason})", "", "", "", "", False))
    if "startup" in raw:
        start = raw["startup"]
        ratio1 = ms(start["demo"]) / ms(start["bare-demo"])
        lines.append(row("1. Start → first frame, `oz-keys --demo` (baseline: bare app)",
                         "≤ 1.2×", f"{ms(start['demo']):.0f}", f"{ms(start['bare-demo']):.0f}",
                         f"{ratio1:.2f}×", ratio1 <= 1.2))
        ratio2 = ms(start["local50"]) / ms(start["bare50"])
        lines.append(row("2. Start → 50 keys from the embedded service (baseline: bare app, "
                         "rows in memory)", "≤ 1.2×", f"{ms(start['local50']):.0f}",
                         f"{ms(start['bare50']):.0f}", f"{ratio2:.2f}×", ratio2 <= 1.2))
        if "demo@compare" in start:
            for key, base, label in (("demo", "bare-demo", "1"), ("local50", "bare50", "2")):
                ratio = ms(start[key + "@compare"]) / ms(start[base])
                lines.append(row(f"{label}′. the same, `--compare` tree", "≤ 1.2×",
                                 f"{ms(start[key + '@compare']):.0f}", f"{ms(start[base]):.0f}",
                                 f"{ratio:.2f}×", ratio <= 1.2))
    if "cli" in raw:
        cli = raw["cli"]
        ratio3 = ms(cli["list"]) / ms(cli["pass"])
        lines.append(row("3. `oz-keys list --local`, 50 keys (baseline: `python -c pass`)",
                         "≤ 3.5×", f"{ms(cli['list']):.0f}", f"{ms(cli['pass']):.0f}",
                         f"{ratio3:.2f}×", ratio3 <= 3.5))
        if "list@compare" in cli:
            ratio = ms(cli["list@compare"]) / ms(cli["pass"])
            lines.append(row("3′. the same, `--compare` tree", "≤ 3.5×",
                             f"{ms(cli['list@compare']):.0f}", f"{ms(cli['pass']):.0f}",
                             f"{ratio:.2f}×", ratio <= 3.5))
    if "link" in raw:
        link = raw["link"]
        ratio4 = ms(link["list"]) / ms(link["curl"])
        lines.append(row(f"4a. `oz-keys list` over a {rtt * 1000:.0f} ms round trip "
                         "(baseline: curl, the same request)", "≤ 1.3×",
                         f"{ms(link['list']):.0f}", f"{ms(link['curl']):.0f}",
                         f"{ratio4:.2f}×", ratio4 <= 1.3))
        trips = (ms(link["panel"]) - ms(link["bare"])) / (rtt * 1000)
        lines.append(row("4b. The panel: start → keys painted, over the same link (baseline: "
                         "bare app's first frame), in round trips after it", "≤ 1.5",
                         f"{ms(link['panel']):.0f}", f"{ms(link['bare']):.0f}",
                         f"+{trips:.2f} RTT", trips <= 1.5))
        if "list@compare" in link:
            ratio = ms(link["list@compare"]) / ms(link["curl"])
            lines.append(row("4a′. the same, `--compare` tree", "≤ 1.3×",
                             f"{ms(link['list@compare']):.0f}", f"{ms(link['curl']):.0f}",
                             f"{ratio:.2f}×", ratio <= 1.3))
            trips = (ms(link["panel@compare"]) - ms(link["bare"])) / (rtt * 1000)
            lines.append(row("4b′. the same, `--compare` tree", "≤ 1.5",
                             f"{ms(link['panel@compare']):.0f}", f"{ms(link['bare']):.0f}",
                             f"+{trips:.2f} RTT", trips <= 1.5))
    if "table_oz" in raw:
        oz, stock = raw["table_oz"], raw["table_stock"]
        for key, name, goal in (
            ("load", f"{keys} keys in hand → table painted", 300),
            ("keystroke", "Search keystroke → filtered table painted (filter + paint)", 50),
            ("sort", "Sort → table painted", 100),
            ("page", "Page down → table painted", 30),
        ):
            ours, base = ms(oz[key]), ms(stock[key])
            lines.append(row(f"5. {name} (baseline: stock DataTable)", f"≤ {goal}",
                             f"{ours:.1f}", f"{base:.1f}", f"{ours / base:.2f}×", ours <= goal))
        qualified = oz.get("keystroke_qualifiers")
        if qualified:
            worst = max(qualified) * 1000
            lines.append(row(f"5. Search keystroke with qualifiers (`{QUALIFIED_SEARCH}`) → "
                             f"painted (median; worst {worst:.0f})", "≤ 50",
                             f"{ms(qualified):.1f}", "", "", ms(qualified) <= 50))
        e2e = ms(oz["keystroke_e2e"])
        lines.append(row("5. Search keystroke → painted, end to end incl. the search box's "
                         "debounce", "≤ 50", f"{e2e:.1f}", "", "", e2e <= 50))
    if "rss" in raw:
        rss = raw["rss"]
        lines.append(row(f"5. Peak RSS with {keys} keys, MB (baseline: bare app, {keys} rows)",
                         "≤ 120", f"{rss['oz_rss_mb']:.0f}", f"{rss['bare_rss_mb']:.0f}",
                         f"{rss['oz_rss_mb'] / rss['bare_rss_mb']:.2f}×",
                         rss["oz_rss_mb"] <= 120))
        lines.append(row(f"Start → {keys} keys shown, s (baseline: bare app, rows in memory)",
                         "", f"{rss['oz_shown_s']:.2f}", f"{rss['bare_shown_s']:.2f}",
                         f"{rss['oz_shown_s'] / rss['bare_shown_s']:.2f}×", None))
    if "requests" in raw:
        lines += ["", "6. Requests per action (as a server sees them):", "",
                  "| Action | Requests |", "|---|---|"]
        for action, counts in raw["requests"].items():
            text = ", ".join(f"{op} × {n}" for op, n in sorted(counts.items())) or "none"
            lines.append(f"| {action} | {text} |")
    if "cli" in raw:
        cli = raw["cli"]
        lines += ["", f"`oz-keys list --local` imports {cli['imports']} modules beyond a bare "
                  f"interpreter ({cli['import_ms']:.0f} ms by `-X importtime`); the largest: "
                  + ", ".join(f"{name} {took:.1f}" for name, took in cli["top"]) + "."]
    if "imports" in raw:
        imports = raw["imports"]
        heavy = ", ".join(imports["heavy"]) or "none"
        lines.append(
            f"Loaded with the CLI and the app, before the first frame: heavy modules: {heavy}; "
            f"local service modules: {', '.join(imports['local']) or 'none'} "
            f"({imports['took'] * 1000:.0f} ms to import)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
