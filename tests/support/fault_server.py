"""A real, deliberately misbehaving HTTP/1.1 server on 127.0.0.1 for client fault tests.

It runs on the test's own event loop (`asyncio.start_server`) and speaks just enough HTTP by
hand to misbehave in ways a framework would not allow: drip a body byte by byte, hang before the
headers, close mid-body, send 10 MB. Each request is recorded (operation, headers, JSON body) so
tests can count attempts per operation; connections are counted to show reuse.

Also holds well-formed sample answers for the four operations, shared by the client tests.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

# -- sample answers --------------------------------------------------------------------------

PERSONAL_KEY = {
    "uid": "key-personal",
    "name": "Laptop",
    "keySuffix": "a1b2",
    "ownerType": "User",
    "agentInfo": None,
    "createdAt": "2026-11-20T08:15:30Z",
    "lastUsedAt": None,
    "expiresAt": "2027-02-18T08:15:30Z",
}
TEAM_KEY = {
    "uid": "key-team",
    "name": "CI pipeline",
    "keySuffix": "c3d4",
    "ownerType": "Team",
    "agentInfo": None,
    "createdAt": "2026-10-01T00:00:00+02:00",
    "lastUsedAt": "2026-11-25T23:59:59.500000Z",
    "expiresAt": None,
}
AGENT_KEY = {
    "uid": "key-agent",
    "name": "Triage bot",
    "keySuffix": "e5f6",
    "ownerType": "Team",
    "agentInfo": {"uid": "agent-1", "name": "triage-agent"},
    "createdAt": "2026-09-09T09:09:09Z",
    "lastUsedAt": "2026-11-26T11:00:00Z",
    "expiresAt": "2026-12-09T09:09:09Z",
}
RAW_KEY = "wk-1.0123456789abcdef0123456789abcdef"


def keys_answer(*keys: dict[str, Any]) -> dict[str, Any]:
    items = list(keys) if keys else [PERSONAL_KEY, TEAM_KEY, AGENT_KEY]
    return {
        "data": {
            "apiKeys": {
                "__typename": "APIKeyPropertiesOutput",
                "apiKeys": items,
                "responseContext": {"serverVersion": "test"},
            }
        }
    }


def created_answer(key: dict[str, Any] | None = None, raw: str = RAW_KEY) -> dict[str, Any]:
    return {
        "data": {
            "generateApiKey": {
                "__typename": "GenerateApiKeyOutput",
                "rawApiKey": raw,
                "apiKey": key or PERSONAL_KEY,
            }
        }
    }


def expired_answer(success: bool = True) -> dict[str, Any]:
    return {"data": {"expireApiKey": {"__typename": "ExpireApiKeyOutput", "success": success}}}


def user_answer(owner: str | None = "User", principal: str | None = "USER") -> dict[str, Any]:
    """The answer to `GetUser`: the profile, owner type and principal type."""
    return {
        "data": {
            "user": {
                "__typename": "UserOutput",
                "apiKeyOwnerType": owner,
                "principalType": principal,
                "user": {
                    "profile": {"uid": "user-1", "displayName": "Ada", "email": "ada@example.com"},
                },
            }
        }
    }


def workspaces_answer(*teams: tuple[str, str]) -> dict[str, Any]:
    """The answer to `GetWorkspacesMetadataForUser`: one workspace with `teams` (uid, name)."""
    team_list = [{"uid": uid, "name": name} for uid, name in (teams or [("team-1", "Engines")])]
    return {
        "data": {
            "user": {
                "__typename": "UserOutput",
                "user": {
                    "workspaces": [{"uid": "ws-1", "name": "Ada's workspace", "teams": team_list}]
                },
            }
        }
    }


AGENTS = [
    {"uid": "agent-default", "name": "default", "available": True},
    {"uid": "agent-1", "name": "triage-agent", "available": True},
    {"uid": "agent-2", "name": "gpu-runner", "available": False},
]


def agents_answer(agents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The answer to `GET /api/v1/agent/identities`."""
    return {"agents": AGENTS if agents is None else agents}


def user_facing_answer(root_field: str, message: str) -> dict[str, Any]:
    return {
        "data": {root_field: {"__typename": "UserFacingError", "error": {"message": message}}}
    }


#: The REST call's path, which stands in for an operation name where requests are told apart.
AGENTS_PATH = "/api/v1/agent/identities"

#: A well-formed answer per operation name (and for the REST agent list, per its path).
GOOD_ANSWERS: dict[str, dict[str, Any]] = {
    "ApiKeys": keys_answer(),
    "GenerateApiKey": created_answer(),
    "ExpireApiKey": expired_answer(),
    "GetUser": user_answer(),
    "GetWorkspacesMetadataForUser": workspaces_answer(),
    AGENTS_PATH: agents_answer(),
}


def operation_of(path: str, op: str | None) -> str:
    """The GraphQL operation a request names, or the REST call's path."""
    return op if op is not None else path


# -- the server --------------------------------------------------------------------------------


@dataclass
class Request:
    op: str | None
    headers: dict[str, str]
    body: Any
    #: The request target's path ("/graphql/v2", or under a prefix the test chose).
    path: str = ""
    method: str = "POST"

    @property
    def operation(self) -> str:
        """The GraphQL operation's name, or the path of a REST call."""
        return operation_of(self.path, self.op)


Action = Callable[["Request", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request; returns True to keep the connection open for the next one."""


def _head(status: int, headers: dict[str, str] | None, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def respond(status: int = 200, body: bytes | str = b"", headers: dict[str, str] | None = None) -> Action:
    """A complete, well-framed answer."""
    data = body.encode() if isinstance(body, str) else body
    all_headers = {"Content-Type": "application/json", **(headers or {})}

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(status, all_headers, len(data)) + data)
        await writer.drain()
        return True

    return action


def json_answer(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Action:
    return respond(status, json.dumps(value), headers)


def good() -> Action:
    """The well-formed answer for whichever operation was asked."""

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        return await json_answer(GOOD_ANSWERS[request.operation])(request, reader, writer)

    return action


def dispatch(choose: Callable[["Request"], Action]) -> Action:
    """Answer each request with the action `choose(request)` picks (by operation, path...)."""

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        return await choose(request)(request, reader, writer)

    return action


def hang() -> Action:
    """Read the request, then never answer (not even headers)."""

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600)
        return False

    return action


def drip(body: bytes = b'{"data": null}' * 20, interval: float = 0.02) -> Action:
    """Headers at once, then the body one byte per `interval`: each read is quick, the whole slow."""

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, {"Content-Type": "application/json"}, len(body)))
        await writer.drain()
        for i in range(len(body)):
            writer.write(body[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)
        return True

    return action


def close_mid_body(body: bytes = b'{"data": {"apiKeys": {"__typename"') -> Action:
    """Promise twice the body, send half, hang up."""

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, {"Content-Type": "application/json"}, len(body) * 2) + body)
        await writer.drain()
        return False

    return action


def close_without_answer() -> Action:
    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        return False

    return action


def huge_body(size: int = 10 * 1024 * 1024, declare_length: bool = True) -> Action:
    """`size` bytes of a JSON string; with or without Content-Length (chunked when without)."""
    chunk = b"x" * 65536

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        try:
            if declare_length:
                writer.write(_head(200, {"Content-Type": "application/json"}, size))
                sent = 0
                while sent < size:
                    part = chunk[: size - sent]
                    writer.write(part)
                    sent += len(part)
                    await writer.drain()
            else:
                writer.write(
                    _head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, None)
                )
                sent = 0
                while sent < size:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client stopped reading, as it should
        return False

    return action


@dataclass
class FaultServer:
    host: str = "127.0.0.1"
    port: int = 0
    #: Answers used in order; the last one repeats.
    script: list[Action] = field(default_factory=lambda: [good()])
    requests: list[Request] = field(default_factory=list)
    #: Counted when accepted, before any TLS handshake (an early connection counts at once).
    connections: int = 0
    #: Serve https with this context (the handshake follows the count).
    tls: ssl.SSLContext | None = None
    #: The first connections to close as soon as they are accepted, and how many were closed.
    hang_up_first: int = 0
    hung_up: int = 0
    _server: asyncio.base_events.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def answer(self, *actions: Action) -> None:
        self.script = list(actions)

    def count(self, op: str) -> int:
        return sum(1 for r in self.requests if r.operation == op)

    async def start(self) -> FaultServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except BaseException:  # noqa: BLE001 - cancelled or a dropped client
                pass
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        hang_up = self.connections <= self.hang_up_first
        try:
            if hang_up:
                return
            if self.tls is not None:
                await writer.start_tls(self.tls)
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                index = min(len(self.requests), len(self.script) - 1)
                self.requests.append(request)
                keep_open = await self.script[index](request, reader, writer)
                if not keep_open:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.hung_up += hang_up

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(length) if length else b""
        parts = urlsplit(target)
        op = parse_qs(parts.query).get("op", [None])[0]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return Request(op=op, headers=headers, body=body, path=parts.path, method=method)


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedFaultServer:
    """A FaultServer on its own event loop in a daemon thread, for clients in subprocesses or
    in synchronous code. `choose(request)` picks the action for each request."""

    def __init__(
        self, choose: Callable[[Request], Action], *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = FaultServer(tls=tls)
        self.server.answer(dispatch(choose))
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def forward(
    transport: Any, *, drop_answer: Callable[["Request"], bool] = lambda request: False
) -> Action:
    """Pass each request to a real server app (an httpx transport, e.g. the local service's in
    process, which then acts for its owner: no credential is passed on) and relay its answer; for
    requests `drop_answer` picks, hang up instead of answering, after the server has done the
    work: a reply lost on the way back."""
    import httpx

    async def action(request: Request, reader: Any, writer: asyncio.StreamWriter) -> bool:
        async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
            upstream = await client.request(
                request.method,
                request.path,
                params={"op": request.op} if request.op else None,
                json=request.body if request.method == "POST" else None,
            )
        if drop_answer(request):
            return False
        content_type = upstream.headers.get("content-type", "application/json")
        answer = respond(upstream.status_code, upstream.content, {"Content-Type": content_type})
        return await answer(request, reader, writer)

    return action
