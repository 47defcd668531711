"""A hostile server cannot make `oz-keys` eat the machine's memory or a person's time.

Each test runs the real CLI in a subprocess against a loopback server that misbehaves, and
measures the child's peak memory (RUSAGE_CHILDREN of a fresh wrapper process, so only that child
counts) and its time. The child runs under an address-space limit, so the old code's failure is a
quick crash rather than a machine out of memory. Each case is a row of the report's "Hostile
server" table (tests/support/reliability.py): what was sent, what the client did, its peak memory, time.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import fault_server as fs

CREDENTIAL = "wk-1." + "0" * 64
MEMORY_BOUND_KB = 100 * 1024
#: The child's address space: enough for Python and its imports, not for a gigabyte answer.
ADDRESS_SPACE = 1536 * 1024 * 1024
#: Runs argv[3:] (with the wrapper's stdin, stdout and stderr) under the address-space limit
#: argv[1], then writes its exit code and peak RSS in KB to the file argv[2].
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "limit = int(sys.argv[1])\n"
    "def cap():\n"
    "    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "p = subprocess.run(sys.argv[3:], preexec_fn=cap)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[2], 'w').write(f'{p.returncode} {peak}')\n"
)
TABLE = "hostile-server"


def _deflated(data_size: int, wbits: int) -> bytes:
    """`data_size` zero bytes compressed (1 MB at a time, so building it stays small)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(data_size // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


GZIP, DEFLATE = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS


def packed(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@functools.cache
def bomb(encodings: tuple[str, ...], decoded: int) -> bytes:
    """`decoded` zero bytes packed in each of `encodings`, listed in the order applied (the
    innermost first, as a Content-Encoding header lists them)."""
    body = None
    for encoding in encodings:
        wbits = GZIP if encoding == "gzip" else DEFLATE
        body = _deflated(decoded, wbits) if body is None else packed(body, wbits)
    assert body is not None
    return body


@dataclass(frozen=True)
class Run:
    code: int
    stderr: str
    stdout: str
    peak_kb: int
    seconds: float

    @property
    def peak(self) -> str:
        return f"{self.peak_kb / 1024:.0f} MB"

    @property
    def time(self) -> str:
        return f"{self.seconds:.1f} s"


def run_measured(
    url: str,
    *args: str,
    tmp: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    stdout: int = subprocess.PIPE,
) -> Run:
    """`oz-keys ARGS --server-root-url URL` in a subprocess: its exit code, output, peak RSS
    and time. `stdout`: where its stdout goes (captured unless given)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OZ_KEYS_", "WARP_"))}
    environ.update(WARP_API_KEY=CREDENTIAL, XDG_CONFIG_HOME=str(tmp / "config"),
                   XDG_DATA_HOME=str(tmp / "data"), HOME=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    environ.update(env or {})
    measured = tmp / f"measured-{time.monotonic_ns()}"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(ADDRESS_SPACE), str(measured), sys.executable,
         "-m", "oz_tui", *args, "--server-root-url", url],
        stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, text=True,
        env=environ, timeout=timeout, cwd=tmp,
    )
    elapsed = time.monotonic() - started
    code, peak = measured.read_text().split()
    return Run(int(code), result.stderr, result.stdout or "", int(peak), elapsed)


def one_line(run: Run) -> str:
    """The one line the CLI printed on stderr (asserted: one, clean, no traceback)."""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert lines[0].startswith("oz-keys: "), run.stderr
    assert all(char.isprintable() for char in lines[0]), run.stderr
    return lines[0]


def said(line: str, url: str) -> str:
    """`line` as the report shows it: without the prefix, the test server's port as PORT."""
    host = url.split("//", 1)[1]
    return line.removeprefix("oz-keys: ").replace(host, "127.0.0.1:PORT")


@pytest.fixture
def server_for() -> Iterator[Callable[..., fs.ThreadedFaultServer]]:
    servers: list[fs.ThreadedFaultServer] = []

    def start(action: fs.Action) -> fs.ThreadedFaultServer:
        server = fs.ThreadedFaultServer(lambda request: action)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def record(reliability: Any, row: str, did: str, run: Run) -> None:
    reliability.passed(TABLE, row, "did", did)
    reliability.passed(TABLE, row, "memory", run.peak)
    reliability.passed(TABLE, row, "time", run.time)


# -- point 1: decoded bytes are capped while decoding ------------------------------------------


def raw_answer(head: list[str], body: bytes, *, chunked: bool = False) -> fs.Action:
    """A 200 with exactly these header lines (a header may repeat), framed by Content-Length or
    sent chunked, 64 KB a chunk."""

    async def action(request: fs.Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
        lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", *head, framing]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            if not chunked:
                writer.write(body)
            else:
                for start in range(0, len(body), 65536):
                    piece = body[start : start + 65536]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client stopped reading, as it should
        return True

    return action


ANSWER = json.dumps(fs.keys_answer()).encode()
#: A deflate block that is not the last and holds nothing: a stored block of length 0.
EMPTY_BLOCK = b"\x00\x00\x00\xff\xff"
STACKED = "uses stacked encodings"
LARGE = "is larger than 8 MB once decoded; refusing to read it."
UNDECODABLE = "sent an answer that could not be decoded."


@dataclass(frozen=True)
class Encoded:
    sent: str
    head: list[str]
    body: Callable[[], bytes]
    words: str
    chunked: bool = False
    command: tuple[str, ...] = ("list",)


ENCODED: dict[str, Encoded] = {
    "gzip-gzip": Encoded(
        "`gzip, gzip`: 256 MB of zeros packed twice", ["Content-Encoding: gzip, gzip"],
        lambda: bomb(("gzip", "gzip"), 256 << 20), f"{STACKED} (gzip, gzip)"),
    "deflate-gzip": Encoded(
        "`deflate, gzip`: 256 MB packed twice", ["Content-Encoding: deflate, gzip"],
        lambda: bomb(("deflate", "gzip"), 256 << 20), f"{STACKED} (deflate, gzip)"),
    "gzip-identity-gzip": Encoded(
        "`gzip, identity, gzip`: 256 MB packed twice", ["Content-Encoding: gzip, identity, gzip"],
        lambda: bomb(("gzip", "gzip"), 256 << 20), f"{STACKED} (gzip, gzip)"),
    "two-headers": Encoded(
        "`Content-Encoding: gzip` twice (two header lines)",
        ["Content-Encoding: gzip", "Content-Encoding: gzip"],
        lambda: bomb(("gzip", "gzip"), 256 << 20), f"{STACKED} (gzip, gzip)"),
    "gzip-create": Encoded(
        "`gzip, gzip` answering `create`", ["Content-Encoding: gzip, gzip"],
        lambda: bomb(("gzip", "gzip"), 256 << 20), f"{STACKED} (gzip, gzip)",
        command=("create", "x")),
    "gzip-bomb": Encoded(
        "`gzip`: 1 GB of zeros (1 MB sent)", ["Content-Encoding: gzip"],
        lambda: bomb(("gzip",), 1 << 30), LARGE),
    "gzip-bomb-chunked": Encoded(
        "`gzip`: 1 GB of zeros, chunked (no Content-Length)", ["Content-Encoding: gzip"],
        lambda: bomb(("gzip",), 1 << 30), LARGE, chunked=True),
    "deflate-bomb": Encoded(
        "`deflate`: 1 GB of zeros (1 MB sent)", ["Content-Encoding: deflate"],
        lambda: bomb(("deflate",), 1 << 30), LARGE),
    "nested-gzip": Encoded(
        "`gzip` around a second, undeclared gzip of 1 GB", ["Content-Encoding: gzip"],
        lambda: packed(bomb(("gzip",), 1 << 30), GZIP), "with something that is not JSON"),
    "gzip-trailing": Encoded(
        "`gzip`: a good answer, then 64 MB of bytes after the stream's end, chunked",
        ["Content-Encoding: gzip"],
        lambda: packed(ANSWER, GZIP) + bytes(64 << 20), "is larger than 8 MB; refusing",
        chunked=True),
    "empty-blocks": Encoded(
        "`deflate`: 64 MB of empty deflate blocks (decoding to nothing), chunked",
        ["Content-Encoding: deflate"],
        lambda: b"\x78\x9c" + EMPTY_BLOCK * ((64 << 20) // len(EMPTY_BLOCK)),
        "is larger than 8 MB; refusing", chunked=True),
    "br": Encoded(
        "`br` (never asked for)", ["Content-Encoding: br"],
        lambda: b"\x0b\x02\x80{}\x03", "uses the encoding 'br', which oz-keys does not accept"),
    "zstd": Encoded(
        "`zstd` (never asked for)", ["Content-Encoding: zstd"],
        lambda: b"(\xb5/\xfd\x00X\x11\x00\x00{}", "uses the encoding 'zstd'"),
    "compress": Encoded(
        "`compress` (never asked for)", ["Content-Encoding: compress"],
        lambda: b"\x1f\x9d\x90{\x00", "uses the encoding 'compress'"),
    "corrupt-gzip": Encoded(
        "`gzip` whose body is not gzip", ["Content-Encoding: gzip"],
        lambda: b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 4, UNDECODABLE),
    "truncated-gzip": Encoded(
        "`gzip` cut off halfway (the length matches what was sent)", ["Content-Encoding: gzip"],
        lambda: packed(ANSWER, GZIP)[: len(packed(ANSWER, GZIP)) // 2], UNDECODABLE),
}


@pytest.mark.parametrize("case", list(ENCODED))
def test_an_encoded_answer_is_capped_while_decoding(
    case: str, server_for, tmp_path: Path, reliability: Any
) -> None:
    spec = ENCODED[case]
    server = server_for(raw_answer(spec.head, spec.body(), chunked=spec.chunked))
    run = run_measured(server.url, *spec.command, tmp=tmp_path)
    assert run.peak_kb < MEMORY_BOUND_KB, f"{case}: peak {run.peak}; {run.stderr}"
    # Generous: the machine is shared. The old code took 17 s for `gzip, gzip`.
    assert run.seconds < 10, run.seconds
    line = one_line(run)
    assert run.code == 1, run.stderr
    assert run.stdout == ""
    assert spec.words in line, line
    if spec.command[0] == "create":
        assert "The key may have been created: refresh the list to check." in line
    record(reliability, case, f"exit 1: “{said(line, server.url)}”", run)


def test_a_plain_gzip_or_deflate_answer_still_reads(
    server_for, tmp_path: Path, reliability: Any
) -> None:
    """The cap is on decoded bytes, not a refusal of compression: a normal answer lists, in
    gzip, in deflate, and in deflate without its zlib wrapper (which some servers send)."""
    runs = []
    for encoding, wbits in (("gzip", GZIP), ("deflate", DEFLATE), ("deflate", -zlib.MAX_WBITS)):
        server = server_for(raw_answer([f"Content-Encoding: {encoding}"], packed(ANSWER, wbits)))
        run = run_measured(server.url, "list", "-o", "json", tmp=tmp_path)
        assert run.code == 0, run.stderr
        assert [key["uid"] for key in json.loads(run.stdout)] == [
            "key-personal", "key-team", "key-agent"], run.stdout
        runs.append(run)
    worst = max(runs, key=lambda r: r.peak_kb)
    record(reliability, "plain", "exit 0: the three keys listed, each time", worst)


def test_the_client_asks_only_for_what_it_decodes(
    server_for, tmp_path: Path, reliability: Any
) -> None:
    """httpx adds `br` and `zstd` to Accept-Encoding whenever those packages can be imported
    (and would then decode them unbounded); the client asks for gzip and deflate, always."""
    stand_ins = tmp_path / "installed"
    stand_ins.mkdir()
    for module in ("brotli", "zstandard"):  # importable, so httpx believes they are installed
        (stand_ins / f"{module}.py").write_text("error = Exception\n")
    server = server_for(fs.good())
    run = run_measured(server.url, "list", tmp=tmp_path, env={"PYTHONPATH": str(stand_ins)})
    assert run.code == 0, run.stderr
    sent = {request.headers.get("accept-encoding") for request in server.server.requests}
    assert sent == {"gzip, deflate"}, sent
    record(reliability, "accept-encoding", "asks `Accept-Encoding: gzip, deflate` only", run)


# -- point 5: one deadline for a whole command --------------------------------------------------

DEADLINE = 2  # seconds: `--command-timeout` in these tests (the default, 30 s, is tested once)
GAVE_UP = re.compile(
    r"^oz-keys: Gave up waiting for 127\.0\.0\.1:\d+ after (?P<seconds>[\d.]+) s in all "
    r"\(command_timeout\): (?P<op>\w+), (?P<attempts>\d+) attempts?, no complete answer\.(?P<rest>.*)$"
)
MAY_EXIST = " The key may have been created: refresh the list to check."

COMMANDS: dict[str, tuple[str, ...]] = {
    "list": ("list",),
    "whoami": ("whoami",),
    "create": ("create", "x"),
    "expire": ("expire", "key-personal", "--force"),
    "rotate": ("rotate", "key-personal", "--force"),
}
#: The commands the table shows one cell for: what each ended with.
SILENT_ROWS = {"silent": "accepts, reads the request, never answers",
               "trickle": "headers at once, then one byte of the body every 3 s"}


def wait_for_close() -> fs.Action:
    """Read the request, answer nothing, and hold the connection until the client drops it."""

    async def action(request: fs.Request, reader: asyncio.StreamReader, writer: Any) -> bool:
        await asyncio.wait_for(reader.read(), 120)
        return False

    return action


def silent_for(command: str, server_kind: str) -> Callable[[fs.Request], fs.Action]:
    """The server's misbehaviour, on the operation the command is about (a rotate and an expire
    by uid list first: that answer is good, so the silence falls on the create or expire)."""
    silent = wait_for_close() if server_kind == "silent" else fs.drip(interval=3.0)
    target = {"rotate": "GenerateApiKey", "expire": "ExpireApiKey"}.get(command)

    def choose(request: fs.Request) -> fs.Action:
        if target is not None and request.operation != target:
            return fs.good()
        return silent

    return choose


@pytest.mark.parametrize("server_kind", list(SILENT_ROWS))
def test_a_silent_server_costs_one_deadline_per_command(
    server_kind: str, tmp_path: Path, reliability: Any
) -> None:
    outcomes = []
    slowest: Run | None = None
    for command, argv in COMMANDS.items():
        server = fs.ThreadedFaultServer(silent_for(command, server_kind))
        try:
            run = run_measured(server.url, "--command-timeout", str(DEADLINE), *argv,
                               tmp=tmp_path)
            requests = list(server.server.requests)
        finally:
            server.close()
        line = one_line(run)
        match = GAVE_UP.match(line)
        assert match, line
        assert run.code == 1, (command, run.stderr)
        assert run.stdout == ""
        assert float(match["seconds"]) == DEADLINE
        # It says what it tried: the attempts it names are the ones the server saw.
        op = match["op"]
        assert int(match["attempts"]) == sum(r.operation == op for r in requests), (line, requests)
        creates = command in ("create", "rotate")
        assert op == {"create": "GenerateApiKey", "rotate": "GenerateApiKey",
                      "expire": "ExpireApiKey", "list": "ApiKeys"}.get(command, op)
        assert (MAY_EXIST in match["rest"]) == creates, line
        # Waited the deadline, then stopped: bounded well below the old 91 s (generous bounds
        # for a shared machine).
        assert DEADLINE <= run.seconds < DEADLINE + 10, (command, run.seconds)
        assert run.peak_kb < MEMORY_BOUND_KB
        outcomes.append(f"`{command}`: {match['op']}, {match['attempts']}"
                        + (", “may have been created”" if creates else ""))
        if slowest is None or run.seconds > slowest.seconds:
            slowest = run
    assert slowest is not None
    did = (f"exit 1 after the {DEADLINE} s deadline (`--command-timeout {DEADLINE}`), one line: "
           "“Gave up waiting for 127.0.0.1:PORT after 2 s in all (command_timeout): OP, N "
           "attempts, no complete answer.” — " + "; ".join(outcomes))
    record(reliability, server_kind, did, slowest)


def test_a_server_that_never_finishes_the_tls_handshake_costs_one_deadline(
    tmp_path: Path, reliability: Any
) -> None:
    """A listener that accepts and never speaks TLS: nothing reached the server, so a create
    says no key was created."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    outcomes, runs = [], []
    try:
        for command in ("list", "create"):
            run = run_measured(url, "--command-timeout", str(DEADLINE), *COMMANDS[command],
                               tmp=tmp_path)
            line = one_line(run)
            match = GAVE_UP.match(line)
            assert match and run.code == 1, line
            expected = " No key was created." if command == "create" else ""
            assert match["rest"] == expected, line
            assert DEADLINE <= run.seconds < DEADLINE + 10, run.seconds
            outcomes.append(f"`{command}`: “{said(line, url)}”")
            runs.append(run)
    finally:
        listener.close()
    record(reliability, "tls-silent", "exit 1 at the deadline: " + "; ".join(outcomes),
           max(runs, key=lambda r: r.seconds))


def test_the_deadline_covers_every_attempt_and_retry(
    server_for, tmp_path: Path, reliability: Any
) -> None:
    """Attempts of 0.8 s each, retried twice with backoff, would take about 3.2 s; a deadline of
    2.5 s ends them all, and says how many were made."""
    server = server_for(fs.hang())
    run = run_measured(server.url, "list", "--request-timeout", "0.8", "--command-timeout", "2.5",
                       tmp=tmp_path)
    line = one_line(run)
    match = GAVE_UP.match(line)
    assert match, line
    attempts = server.server.count("ApiKeys")
    assert attempts >= 2 and int(match["attempts"]) == attempts, (line, attempts)
    assert run.code == 1
    record(reliability, "retries",
           f"exit 1 at the deadline after {attempts} attempts: “{said(line, server.url)}”", run)


def test_a_retry_the_deadline_would_cut_short_is_not_waited_for(
    server_for, tmp_path: Path, reliability: Any
) -> None:
    """A 429 asking for 10 s with 2 s left: the command reports the 429 at once rather than
    sleep into the deadline and then say nothing answered."""
    server = server_for(fs.respond(429, b"{}", {"Retry-After": "10"}))
    run = run_measured(server.url, "--command-timeout", str(DEADLINE), "list", tmp=tmp_path)
    line = one_line(run)
    assert "is limiting requests (429). Try again in 10 s." in line, line
    assert run.code == 1 and server.server.count("ApiKeys") == 1
    record(reliability, "retry-after", f"exit 1, 1 attempt: “{said(line, server.url)}”", run)


def test_the_deadline_is_for_the_whole_command_not_each_request(
    tmp_path: Path, reliability: Any
) -> None:
    """`rotate` lists (answered after 2.5 s), then creates (never answered): with a deadline of
    3 s the create has the half second left, not 3 s of its own."""
    seen: dict[str, float] = {}

    def slow_list() -> fs.Action:
        async def action(request: fs.Request, reader: Any, writer: Any) -> bool:
            seen["listed"] = time.monotonic()
            await asyncio.sleep(2.5)
            return await fs.good()(request, reader, writer)

        return action

    def silent_create() -> fs.Action:
        async def action(request: fs.Request, reader: asyncio.StreamReader, writer: Any) -> bool:
            await asyncio.wait_for(reader.read(), 120)
            seen["dropped"] = time.monotonic()
            return False

        return action

    server = fs.ThreadedFaultServer(
        lambda request: slow_list() if request.operation == "ApiKeys" else silent_create()
    )
    try:
        run = run_measured(server.url, "--command-timeout", "3", "rotate", "key-personal",
                           "--force", tmp=tmp_path)
        deadline = time.monotonic() + 10
        while "dropped" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.close()
    line = one_line(run)
    match = GAVE_UP.match(line)
    assert match and match["op"] == "GenerateApiKey", line
    assert MAY_EXIST in line
    waited = seen["dropped"] - seen["listed"]
    # 3 s from the first request (a deadline per request would be 2.5 + 3 = 5.5 s).
    assert 2.5 <= waited < 4.5, waited
    record(reliability, "across-calls",
           f"the create dropped {waited:.1f} s after the list was asked: “{said(line, server.url)}”",
           run)


def test_taking_back_an_undelivered_key_is_not_starved_by_the_deadline(
    tmp_path: Path, reliability: Any
) -> None:
    """`create` answered after 1.5 s of a 2 s deadline, into a stdout nobody reads (a broken
    pipe): expiring the key again gets its own time (its answer takes 1 s), so the key is taken
    back instead of left active."""

    def after(seconds: float) -> fs.Action:
        async def action(request: fs.Request, reader: Any, writer: Any) -> bool:
            await asyncio.sleep(seconds)
            return await fs.good()(request, reader, writer)

        return action

    server = fs.ThreadedFaultServer(
        lambda request: after(1.5) if request.operation == "GenerateApiKey" else after(1.0)
    )
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read what it prints
    try:
        run = run_measured(server.url, "create", "x", "--command-timeout", str(DEADLINE),
                           tmp=tmp_path, stdout=write_end)
        expired = server.server.count("ExpireApiKey")
    finally:
        os.close(write_end)
        server.close()
    line = one_line(run)
    assert "so it was expired again" in line and "STILL ACTIVE" not in line, line
    assert expired == 1
    assert run.code != 0
    record(reliability, "undelivered", f"exit {run.code}: “{said(line, server.url)}”", run)


def test_the_default_deadline_is_30_seconds(server_for, tmp_path: Path, reliability: Any) -> None:
    """No flag, variable or config: a silent server is given up after 30 s (it took 91 s)."""
    server = server_for(fs.hang())
    run = run_measured(server.url, "list", tmp=tmp_path, timeout=90)
    line = one_line(run)
    match = GAVE_UP.match(line)
    assert match and match["seconds"] == "30", line
    assert 30 <= run.seconds < 45, run.seconds
    assert run.code == 1
    record(reliability, "default", f"exit 1: “{said(line, server.url)}”", run)


@pytest.mark.parametrize(
    ("args", "env", "config", "expected"),
    [
        ([], {}, None, 30.0),
        ([], {}, "command_timeout = 12\n", 12.0),
        ([], {"OZ_KEYS_COMMAND_TIMEOUT": "7.5"}, "command_timeout = 12\n", 7.5),
        (["--command-timeout", "4"], {"OZ_KEYS_COMMAND_TIMEOUT": "7.5"}, None, 4.0),
    ],
)
def test_command_timeout_flag_beats_env_beats_file(
    tmp_path: Path, args: list[str], env: dict[str, str], config: str | None, expected: float
) -> None:
    from oz_tui.cli import _flags, build_parser
    from oz_tui.config import load_settings

    environ = {"WARP_API_KEY": CREDENTIAL, **env}
    if config is not None:
        (tmp_path / "config.toml").write_text(config)
        environ["OZ_KEYS_CONFIG"] = str(tmp_path / "config.toml")
    namespace, _ = build_parser().parse(["list", *args])
    assert load_settings(_flags(namespace), environ).command_timeout == expected


@pytest.mark.parametrize(
    ("args", "env", "config", "message"),
    [
        (["--command-timeout", "0"], {}, None, "--command-timeout must be a number of seconds above 0 and at most 3600"),
        (["--command-timeout", "soon"], {}, None, "--command-timeout must be a number of seconds"),
        ([], {"OZ_KEYS_COMMAND_TIMEOUT": "3601"}, None, "OZ_KEYS_COMMAND_TIMEOUT must be a number"),
        ([], {}, "command_timeout = -1\n", "command_timeout must be a number of seconds above 0"),
        ([], {}, 'command_timeout = "30"\n', "command_timeout must be a number of seconds, not a string"),
    ],
)
def test_a_bad_command_timeout_exits_2_naming_its_source(
    tmp_path: Path, args: list[str], env: dict[str, str], config: str | None, message: str
) -> None:
    import io

    from oz_tui import cli

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
    assert err.getvalue().startswith(f"oz-keys: {message}"), err.getvalue()
    assert err.getvalue().count("\n") == 1


# -- point 2: values printed raw, copied or piped are checked against their formats -------------

#: row: (command, where the controls go, the controls, the field the line names, a key made?)
CONTROLS: dict[str, tuple[tuple[str, ...], str, str, str, bool]] = {
    "osc52-raw-key": (("create", "x"), "raw", "\x1b]52;c;cm0gLXJmIH4K\x07", "rawApiKey", True),
    "clear-raw-key": (("rotate", "key-personal", "--force", "--jq", ".raw_api_key"), "raw",
                      "\x1b[2J", "rawApiKey", True),
    "title-uid": (("list", "-o", "text"), "uid", "\x1b]0;pwned\x07", "uid", False),
    "c1-suffix": (("list", "-o", "json"), "keySuffix", "\x9b31m", "keySuffix", False),
}


@pytest.mark.parametrize("row", list(CONTROLS))
def test_controls_in_a_value_printed_raw_are_refused_at_the_boundary(
    row: str, server_for, tmp_path: Path, reliability: Any
) -> None:
    """The real CLI against a server hiding terminal controls in a value it would print raw,
    copy or pipe: one line naming the field, never the value, nothing on stdout."""
    command, where, controls, field, made = CONTROLS[row]
    listed, raw = dict(fs.PERSONAL_KEY), fs.RAW_KEY
    if where == "raw":
        raw = raw[:6] + controls + raw[6:]
    else:
        listed[where] = listed[where][:2] + controls + listed[where][2:]
    answers = {**fs.GOOD_ANSWERS, "ApiKeys": fs.keys_answer(listed, fs.TEAM_KEY),
               "GenerateApiKey": fs.created_answer(raw=raw)}
    server = fs.ThreadedFaultServer(lambda request: fs.json_answer(answers[request.operation]))
    try:
        run = run_measured(server.url, *command, tmp=tmp_path)
    finally:
        server.close()
    line = one_line(run)
    assert run.code == 1 and run.stdout == "", (run.stdout, run.stderr)
    assert f"field '{field}' is not in its format" in line, line
    assert controls[1:] not in line and "\x1b" not in run.stderr and "\x9b" not in run.stderr
    assert (MAY_EXIST in line) == made, line
    record(reliability, row, f"exit 1: “{said(line, server.url)}”", run)
