"""A hostile server cannot make `oz-keys` eat the machine's memory or a person's time.

Each test runs the real CLI in a subprocess against a loopback server that misbehaves, and
measures the child's peak memory (RUSAGE_CHILDREN of a fresh wrapper process, so only that child
counts) and its time. The child runs under an address-space limit, so the old code's failure is a
quick crash rather than a machine out of memory.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Iterator

import pytest

import fault_server as fs

CREDENTIAL = "wk-1." + "0" * 64
MEMORY_BOUND_KB = 100 * 1024
#: The child's address space: enough for Python and its imports, not for a gigabyte answer.
ADDRESS_SPACE = 1536 * 1024 * 1024
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "limit = int(sys.argv[1])\n"
    "def cap():\n"
    "    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "p = subprocess.run(sys.argv[2:], preexec_fn=cap, stdin=subprocess.DEVNULL,"
    " stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stdout.flush()\n"
    "sys.stderr.buffer.write(p.stderr)\n"
)


def _deflated(data_size: int, wbits: int) -> bytes:
    """`data_size` zero bytes compressed (1 MB at a time, so building it stays small)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(data_size // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


GZIP, DEFLATE = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS


@functools.cache
def bomb(encodings: tuple[str, ...], decoded: int) -> bytes:
    body = None
    for encoding in encodings:  # listed in the order applied: the innermost first
        wbits = GZIP if encoding == "gzip" else DEFLATE
        if body is None:
            body = _deflated(decoded, wbits)
        else:
            packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
            body = packer.compress(body) + packer.flush()
    assert body is not None
    return body


def run_measured(url: str, *args: str, tmp: Path, timeout: float = 60) -> tuple[int, str, int, float]:
    """(exit code, stderr, peak RSS in KB, seconds) of `oz-keys ARGS --server-root-url URL`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OZ_KEYS_", "WARP_"))}
    env.update(WARP_API_KEY=CREDENTIAL, XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_DATA_HOME=str(tmp / "data"), HOME=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(ADDRESS_SPACE), sys.executable, "-m", "oz_tui",
         *args, "--server-root-url", url],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp,
    )
    elapsed = time.monotonic() - started
    code, peak = result.stdout.split()
    return int(code), result.stderr, int(peak), elapsed


@pytest.fixture
def server_for() -> Iterator[object]:
    servers: list[fs.ThreadedFaultServer] = []

    def start(action: fs.Action) -> fs.ThreadedFaultServer:
        server = fs.ThreadedFaultServer(lambda request: action)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# -- point 1: decoded bytes are capped while decoding ------------------------------------------

ENCODED = {
    # (Content-Encoding header, layers as applied, decoded size, words in the message)
    "gzip, gzip bomb": ("gzip, gzip", ("gzip", "gzip"), 256 << 20, "stacked encodings (gzip, gzip)"),
    "deflate, gzip bomb": ("deflate, gzip", ("deflate", "gzip"), 256 << 20,
                           "stacked encodings (deflate, gzip)"),
    "gzip bomb of 1 GB": ("gzip", ("gzip",), 1 << 30, "larger than 8 MB once decoded"),
    "deflate bomb of 1 GB": ("deflate", ("deflate",), 1 << 30, "larger than 8 MB once decoded"),
    "unknown encoding": ("br", None, 0, "the encoding 'br'"),
}


@pytest.mark.parametrize("case", list(ENCODED))
def test_an_encoded_answer_is_capped_while_decoding(case: str, server_for, tmp_path: Path) -> None:
    header, layers, decoded, words = ENCODED[case]
    body = bomb(layers, decoded) if layers else b"\x0b\x02\x80{}\x03"
    server = server_for(fs.respond(200, body, {"Content-Encoding": header}))
    code, stderr, peak_kb, elapsed = run_measured(server.url, "list", tmp=tmp_path)
    assert peak_kb < MEMORY_BOUND_KB, f"{case}: peak {peak_kb // 1024} MB; {stderr}"
    assert elapsed < 5 + 5, elapsed  # generous: the machine is shared; the old code took 17 s
    lines = stderr.splitlines()
    assert code == 1, stderr
    assert len(lines) == 1, stderr
    assert words in lines[0], stderr
    assert "Traceback" not in stderr


def test_a_plain_gzip_answer_still_reads(server_for, tmp_path: Path) -> None:
    """The cap is on decoded bytes, not a refusal of compression: a normal gzip answer lists."""
    packer = zlib.compressobj(6, zlib.DEFLATED, GZIP)
    body = packer.compress(json.dumps(fs.keys_answer()).encode()) + packer.flush()
    server = server_for(fs.respond(200, body, {"Content-Encoding": "gzip"}))
    code, stderr, _, _ = run_measured(server.url, "list", tmp=tmp_path)
    assert code == 0, stderr
