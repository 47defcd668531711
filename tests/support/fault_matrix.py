"""The faults of the reliability matrix (tests/support/reliability.py FAULTS), each two ways.

* `mock_answer(fault, op, request)`: what an `httpx.MockTransport` handler answers (or raises).
* `LoopbackFaults`: the same faults from real sockets on 127.0.0.1: a `FaultServer` answering
  per operation, a closed port (refused), a `.invalid` name (real DNS failure) and a listener
  whose backlog is full (connect timeout). `FaultRouter` is a transport that sends each
  operation either to the fault server or, for a connection fault, to the bad address; everything
  below it is httpx's real HTTP transport.

Expectations (`Fault`) are shared by the client, panel and CLI tests.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from dataclasses import dataclass
from typing import Any, Callable

import httpx

import fault_server as fs
from fault_server import GOOD_ANSWERS, FaultServer
from oz_tui.core.errors import AuthenticationError, NetworkError, OzError, PermissionDeniedError, ProtocolError, RateLimitedError, ServerError
from oz_tui.core.models import Expiration
from oz_tui.api.client import OzClient
from reliability import FAULTS, OPERATIONS

#: A made-up credential: never valid anywhere; its hint is wk-**abcd.
FAKE_CREDENTIAL = "wk-1." + "f00d" * 15 + "abcd"
CREDENTIAL_HINT = "wk-**abcd"

ROOT_FIELDS = {
    "ApiKeys": "apiKeys",
    "GetUser": "user",
    "GenerateApiKey": "generateApiKey",
    "ExpireApiKey": "expireApiKey",
}
IDEMPOTENT = {"ApiKeys": True, "GetUser": True, "GenerateApiKey": False, "ExpireApiKey": True}

#: Client timeouts for the matrix: a hung server trips the read timeout, a dripping one the
#: total timeout (each byte arrives well within the read timeout).
READ_TIMEOUT = 0.2
CONNECT_TIMEOUT = 0.2
TOTAL_TIMEOUT = 0.35
DRIP_INTERVAL = 0.02
#: A dripped answer is padded (JSON allows trailing spaces) to at least this many bytes: 4 s at
#: 20 ms a byte, well past every attempt budget below, so only the total timeout ends it.
DRIP_MIN_BYTES = 200
RETRY_AFTER = "1"

NOT_CREATED = "No key was created"
MAYBE_CREATED = "may have been created"


@dataclass(frozen=True)
class Fault:
    id: str
    error: type[OzError]
    #: A phrase every message for this fault contains.
    says: str
    #: Whether the safe operations (list, who-am-I, expire) retry it.
    retried: bool
    #: What a failed create says about the key: NOT_CREATED, MAYBE_CREATED or "" (neither).
    create: str
    exit_code: int = 1
    #: The server cannot be reached at all (the fault is in connecting).
    connect: bool = False


FAULT_SPECS: dict[str, Fault] = {
    f.id: f
    for f in (
        Fault("refused", NetworkError, "Could not connect", True, NOT_CREATED, connect=True),
        Fault("dns", NetworkError, "Could not resolve", True, NOT_CREATED, connect=True),
        Fault("connect-timeout", NetworkError, "Timed out connecting", True, NOT_CREATED,
              connect=True),
        Fault("read-timeout", NetworkError, "did not answer in time", True, MAYBE_CREATED),
        Fault("http-500", ServerError, "HTTP 500", False, MAYBE_CREATED),
        Fault("http-502", ServerError, "HTTP 502", True, MAYBE_CREATED),
        Fault("http-503", ServerError, "HTTP 503", True, MAYBE_CREATED),
        Fault("http-504", ServerError, "HTTP 504", True, MAYBE_CREATED),
        Fault("http-429", RateLimitedError, "(429)", True, ""),
        Fault("http-401", AuthenticationError, "(401)", False, "", exit_code=3),
        Fault("http-403", PermissionDeniedError, "(403)", False, ""),
        Fault("not-json", ProtocolError, "not JSON", False, MAYBE_CREATED),
        Fault("no-data", ProtocolError, "has no data", False, MAYBE_CREATED),
        Fault("graphql-errors", ProtocolError, "rejected", False, MAYBE_CREATED),
        Fault("unknown-union", ProtocolError, "unknown kind", False, MAYBE_CREATED),
        Fault("missing-field", ProtocolError, "lacks the field", False, MAYBE_CREATED),
        Fault("mistyped-field", ProtocolError, "wrong type", False, MAYBE_CREATED),
        Fault("huge-body", ProtocolError, "larger than 8 MB", False, MAYBE_CREATED),
        Fault("drip", NetworkError, "did not answer in time", True, MAYBE_CREATED),
    )
}
assert [f for f, _ in FAULTS] == list(FAULT_SPECS), "reliability.FAULTS and FAULT_SPECS differ"
assert [op for op, _ in OPERATIONS] == list(ROOT_FIELDS)

CALLS: dict[str, Callable[[OzClient], Any]] = {
    "ApiKeys": lambda c: c.list_keys(),
    "GetUser": lambda c: c.whoami(),
    "GenerateApiKey": lambda c: c.create_key("Matrix key", Expiration.DAYS_30),
    "ExpireApiKey": lambda c: c.expire_key("key-personal"),
}


# -- the answers ---------------------------------------------------------------------------------

HTML = b"<html><body>502 Bad Gateway</body></html>"
GRAPHQL_ERRORS = {"data": None, "errors": [{"message": "Internal server error"}]}
HUGE = 10 * 1024 * 1024


def broken_answer(fault: str, op: str) -> dict[str, Any]:
    """The JSON body of the answer-shaped faults (no-data, unknown-union, fields)."""
    if fault == "no-data":
        return {"extensions": {"tracing": {}}}
    if fault == "graphql-errors":
        return GRAPHQL_ERRORS
    root = ROOT_FIELDS[op]
    if fault == "unknown-union":
        return {"data": {root: {"__typename": "SomethingNew", "whatever": 1}}}
    answer = copy.deepcopy(GOOD_ANSWERS[op])
    result = answer["data"][root]
    missing = fault == "missing-field"
    if op == "ApiKeys":
        if missing:
            del result["apiKeys"][0]["uid"]
        else:
            result["apiKeys"][0]["name"] = 17
    elif op == "GetUser":
        if missing:
            del result["user"]["profile"]
        else:
            result["user"]["profile"]["uid"] = 5
    elif op == "GenerateApiKey":
        if missing:
            del result["rawApiKey"]
        else:
            result["rawApiKey"] = 12345
    else:
        if missing:
            del result["success"]
        else:
            result["success"] = "yes"
    return answer


def status_of(fault: str) -> int | None:
    return int(fault[5:]) if fault.startswith("http-") else None


def drip_body(op: str) -> bytes:
    """The good answer to `op`, padded to DRIP_MIN_BYTES."""
    return json.dumps(GOOD_ANSWERS[op]).encode().ljust(DRIP_MIN_BYTES)


class _Drip(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self):  # type: ignore[override]
        for i in range(len(self.body)):
            await asyncio.sleep(DRIP_INTERVAL)
            yield self.body[i : i + 1]


def mock_answer(fault: str, op: str, request: httpx.Request) -> httpx.Response:
    """The faulty answer to `op` (raising, for transport faults)."""
    if fault == "refused":
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    if fault == "dns":
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)
    if fault == "connect-timeout":
        raise httpx.ConnectTimeout("timed out", request=request)
    if fault == "read-timeout":
        raise httpx.ReadTimeout("timed out", request=request)
    status = status_of(fault)
    if status is not None:
        headers = {"Retry-After": RETRY_AFTER} if status == 429 else {}
        body: Any = {"title": "error", "detail": f"status {status}"} if status in (401, 403) else b""
        if isinstance(body, dict):
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, content=body, headers=headers)
    if fault == "not-json":
        return httpx.Response(200, content=HTML, headers={"Content-Type": "text/html"})
    if fault == "huge-body":
        return httpx.Response(200, content=b"x" * HUGE)
    if fault == "drip":
        return httpx.Response(200, stream=_Drip(drip_body(op)))
    return httpx.Response(200, json=broken_answer(fault, op))


def good_mock_answer(op: str) -> httpx.Response:
    return httpx.Response(200, json=GOOD_ANSWERS[op])


def loopback_action(fault: str, op: str) -> fs.Action:
    """What the fault server does for `op` under an answer-level fault."""
    status = status_of(fault)
    if status is not None:
        headers = {"Retry-After": RETRY_AFTER} if status == 429 else {}
        if status in (401, 403):
            return fs.json_answer({"title": "error", "detail": f"status {status}"}, status)
        return fs.respond(status, b"", headers)
    if fault == "read-timeout":
        return fs.hang()
    if fault == "not-json":
        return fs.respond(200, HTML, {"Content-Type": "text/html"})
    if fault == "huge-body":
        return fs.huge_body(HUGE)
    if fault == "drip":
        return fs.drip(drip_body(op), interval=DRIP_INTERVAL)
    return fs.json_answer(broken_answer(fault, op))


# -- real sockets for the connection faults ------------------------------------------------------


def closed_port_url() -> str:
    return f"http://127.0.0.1:{fs.closed_port()}"


DNS_FAILURE_URL = "https://oz-keys-test.invalid"


class Blackhole:
    """A listener that never accepts, with its backlog full: new connections time out."""

    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(0)
        self.port = self._server.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self._fillers.append(filler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in (*self._fillers, self._server):
            sock.close()


def connect_fault_url(fault: str, blackhole: Blackhole) -> str:
    if fault == "refused":
        return closed_port_url()
    if fault == "dns":
        return DNS_FAILURE_URL
    assert fault == "connect-timeout"
    return blackhole.url


class LoopbackFaults:
    """A FaultServer that answers `faults[op]` (a fault id) per operation, good answers else."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}
        self.server = FaultServer()
        self.server.answer(fs.dispatch(self._choose))
        self.blackhole = Blackhole()

    def _choose(self, request: fs.Request) -> fs.Action:
        fault = self.faults.get(request.op or "")
        if fault is None:
            return fs.good()
        return loopback_action(fault, request.op or "")

    async def start(self) -> LoopbackFaults:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()
        self.blackhole.close()

    @property
    def url(self) -> str:
        return self.server.url


class FaultRouter(httpx.AsyncBaseTransport):
    """httpx's real transport, sending an operation under a connection fault to a bad address."""

    def __init__(self, faults: LoopbackFaults) -> None:
        self._faults = faults
        self._inner = httpx.AsyncHTTPTransport()
        self.bad_urls: dict[str, str] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        op = request.url.params.get("op", "")
        fault = self._faults.faults.get(op)
        if fault is not None and FAULT_SPECS[fault].connect:
            target = httpx.URL(connect_fault_url(fault, self._faults.blackhole))
            request.url = request.url.copy_with(
                scheme=target.scheme, host=target.host, port=target.port
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MockFaults:
    """The mock side: a MockTransport answering `faults[op]` per operation, good answers else."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}
        self.calls: dict[str, int] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        op = request.url.params.get("op", "")
        self.calls[op] = self.calls.get(op, 0) + 1
        fault = self.faults.get(op)
        if fault is None:
            return good_mock_answer(op)
        return mock_answer(fault, op, request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


#: The faults that only a timeout ends.
SLOW = frozenset({"connect-timeout", "read-timeout", "drip"})


def client_options(fault: str, *, only_faults: bool = False) -> dict[str, Any]:
    """Short timeouts where a timeout is the fault; roomy ones elsewhere, so that a good answer
    on a busy machine is never mistaken for a fault.

    Where a timeout is the fault but good answers come too (the panel's cells), the budget is one
    wall clock for every request, and the app, the test and the loopback server share one event
    loop: the keys list asked for at open waits there while Textual mounts and paints the page and
    the other opening requests (who-am-I's two, the agents) start; measured at 0.1-0.5 s before
    its connect even begins, 0.3-1.1 s in all on a loaded machine. So reads and connects get 1 s
    and the attempt 1.75 s, still well under the shortest drip (DRIP_MIN_BYTES: 4 s).
    `only_faults`: the client will see no good answer at all, so the short timeouts can be short."""
    if fault in SLOW:
        scale = 0.5 if only_faults else 5.0
        return {
            "timeout": httpx.Timeout(READ_TIMEOUT * scale, connect=CONNECT_TIMEOUT * scale),
            "total_timeout": TOTAL_TIMEOUT * scale,
            "jitter": lambda: 1.0,
        }
    return {"timeout": httpx.Timeout(5.0, connect=2.0), "total_timeout": 5.0, "jitter": lambda: 1.0}
