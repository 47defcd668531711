"""Hostile clients that never show a valid credential, for tests/local/test_serve_capacity.py.

Run as a program, in its own process (so its work does not slow the good client's measurements
in the test's process): `python capacity_clients.py HOST PORT SECONDS PER_KIND`. Each kind keeps
PER_KIND connections going until SECONDS have passed: when the server closes one, it opens
another at once. It then closes every socket and prints one JSON line: per kind, how many
connections it opened and how many answers it got, by status.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

BAD_KEY = "wk-1." + "0" * 64
JSON_HEAD = "Content-Type: application/json\r\n"

Kind = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]


def _head(method: str, path: str, host: str, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _drip_chunks(writer: asyncio.StreamWriter) -> None:
    """One byte of chunked body every 0.5 s, for ever (until the server closes)."""
    while True:
        writer.write(b"1\r\nx\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)


async def _drip_bytes(writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.5)


async def drip_health_chunked(reader, writer, host) -> None:
    writer.write(_head("POST", "/health", host, "Transfer-Encoding: chunked", JSON_HEAD.strip()))
    await _drip_chunks(writer)


async def drip_health_length(reader, writer, host) -> None:
    writer.write(_head("PUT", "/", host, "Content-Length: 60000", JSON_HEAD.strip()))
    await _drip_bytes(writer)


async def drip_graphql_no_key(reader, writer, host) -> None:
    writer.write(_head("POST", "/graphql/v2", host, "Transfer-Encoding: chunked",
                       JSON_HEAD.strip()))
    await _drip_chunks(writer)


async def drip_graphql_bad_key(reader, writer, host) -> None:
    writer.write(_head("POST", "/graphql/v2", host, "Content-Length: 60000", JSON_HEAD.strip(),
                       f"Authorization: Bearer {BAD_KEY}"))
    await _drip_bytes(writer)


async def headers_never_finished(reader, writer, host) -> None:
    writer.write(f"POST /graphql/v2 HTTP/1.1\r\nHost: {host}\r\nX-Pad: ".encode())
    await _drip_bytes(writer)


async def idle(reader, writer, host) -> None:
    await asyncio.sleep(3600)


async def bad_key_repeated(reader, writer, host) -> None:
    """Requests with a key the server never issued, one after the other on a kept-alive
    connection, each as soon as the last was answered."""
    request = _head("GET", "/api/v1/agent/identities", host, f"Authorization: Bearer {BAD_KEY}")
    while True:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
             if line.startswith(b"content-length:")),
            0,
        )
        await reader.readexactly(length)
        STATUSES["bad_key_repeated"][head.split(b" ")[1].decode()] += 1


KINDS: dict[str, Kind] = {
    "drip_health_chunked": drip_health_chunked,
    "drip_health_length": drip_health_length,
    "drip_graphql_no_key": drip_graphql_no_key,
    "drip_graphql_bad_key": drip_graphql_bad_key,
    "headers_never_finished": headers_never_finished,
    "idle": idle,
    "bad_key_repeated": bad_key_repeated,
}

OPENED: Counter[str] = Counter()
STATUSES: defaultdict[str, Counter[str]] = defaultdict(Counter)


async def _answer_of(reader: asyncio.StreamReader, name: str) -> None:
    """Note the status of the one answer a dripping client may get before the close."""
    line = await reader.readline()
    if line.startswith(b"HTTP/"):
        STATUSES[name][line.split(b" ")[1].decode()] += 1
    await reader.read()  # until the server closes


async def _keep_one(name: str, kind: Kind, host: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            STATUSES[name]["connect-failed"] += 1
            await asyncio.sleep(0.05)
            continue
        OPENED[name] += 1
        try:
            left = deadline - time.monotonic()
            if kind is bad_key_repeated:
                await asyncio.wait_for(kind(reader, writer, f"{host}:{port}"), left)
            else:
                talk = asyncio.ensure_future(kind(reader, writer, f"{host}:{port}"))
                try:
                    await asyncio.wait_for(_answer_of(reader, name), left)
                finally:
                    talk.cancel()
                    await asyncio.gather(talk, return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def main(host: str, port: int, seconds: float, per_kind: int) -> None:
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(
        _keep_one(name, kind, host, port, deadline)
        for name, kind in KINDS.items()
        for _ in range(per_kind)
    ))
    print(json.dumps({"opened": OPENED, "statuses": STATUSES, "cpu_seconds": time.process_time()}),
          flush=True)


if __name__ == "__main__":
    # On a network the hostile clients would have their own machines; here they share the
    # server's CPU, and what is measured is the server's design, not the kernel's fair share.
    os.nice(10)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
