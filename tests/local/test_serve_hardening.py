"""`oz-keys serve` under hostile clients: the HTTP guard, GraphQL limits, the server's deadlines.

In process (the ASGI layer called directly, to see exactly what it reads) and over a real
loopback socket (`serve` in a subprocess, raw sockets for clients that misbehave).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import ssl
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from local_helpers import PYTHON, REQUEST_CONTEXT, MutableClock, body
from oz_tui.api.operations import API_KEYS, EXPIRE_API_KEY, GENERATE_API_KEY, GET_USER
from oz_tui.local.guard import Guard, HostAllowList, Limits
from oz_tui.local.limits import QueryLimits
from oz_tui.local.service import LocalService
from oz_tui.local.serving import ServeRefused, _addressing, serve
from oz_tui.local.store import KeyStore, LocalStoreError

REPO = Path(__file__).resolve().parents[2]
CAP = Limits().max_body_bytes


@pytest.fixture
def service() -> Iterator[LocalService]:
    svc = LocalService(in_memory=True, clock=MutableClock(), require_auth=True, public_errors=True)
    yield svc
    svc.close()


@pytest.fixture
def raw_key(service: LocalService) -> str:
    return service.store.create_key("admin")[1]


async def asgi(
    app: Any,
    *,
    method: str = "POST",
    path: str = "/graphql/v2",
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
) -> tuple[int, dict[str, str], bytes, int]:
    """Call an ASGI app directly: (status, headers, body, how many body chunks it read before
    it answered). Like a server, the end of the stream follows the answer."""
    chunks = list(chunks or [b""])
    read = 0
    read_before_answer: int | None = None
    answered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(chunks) and not answered.is_set():
            read += 1
            return {
                "type": "http.request",
                "body": chunks[read - 1],
                "more_body": read < len(chunks),
            }
        await answered.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal read_before_answer
        if message["type"] == "http.response.start":
            read_before_answer = read
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "scheme": "http",
        "server": ("127.0.0.1", 8787),
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
        "root_path": "",
    }
    await asyncio.wait_for(app(scope, receive, send), 10)
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert read_before_answer is not None
    return start["status"], response_headers, content, read_before_answer


def json_headers(key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "host": "127.0.0.1:8787", **extra}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers


LIST_BODY = json.dumps(body(API_KEYS)).encode()


# -- bodies: bounded before they are read ----------------------------------------------------------


@pytest.mark.parametrize("length", [CAP + 1, 50 * 1024 * 1024, 300 * 1024 * 1024, 10**15])
async def test_content_length_over_the_cap_is_refused_unread(
    service: LocalService, raw_key: str, length: int
) -> None:
    for key in (None, raw_key):
        status, headers, content, read = await asgi(
            service.app, headers=json_headers(key, **{"content-length": str(length)}),
            chunks=[b"x" * 1024] * 4,
        )
        assert (status, read) == (413, 0), (key, status, content)
        assert headers["connection"] == "close"
        assert json.loads(content)["title"] == "payload_too_large"


@pytest.mark.parametrize("chunk_size", [1024, 16 * 1024, CAP + 1])
async def test_chunked_body_stops_being_read_at_the_cap(
    service: LocalService, raw_key: str, chunk_size: int
) -> None:
    chunks = [b"x" * chunk_size] * (4 * CAP // chunk_size + 2)
    status, _, _, read = await asgi(service.app, headers=json_headers(raw_key), chunks=chunks)
    assert status == 413
    assert read * chunk_size <= CAP + chunk_size  # stopped at the first chunk past the cap
    assert read < len(chunks)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wk-1." + "0" * 64, "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000],
    ids=["none", "unknown", "basic", "long"],
)
async def test_the_credential_is_checked_before_the_body_is_read(
    service: LocalService, authorization: str | None
, reliability: Any) -> None:
    headers = json_headers(**{"content-length": str(CAP)})
    if authorization is not None:
        headers["authorization"] = authorization
    status, response_headers, _, read = await asgi(service.app, headers=headers, chunks=[b"x" * CAP])
    assert (status, read) == (401, 0)
    assert response_headers["connection"] == "close"
    reliability.passed("hardening", "serve-body", "outcome", '413 from Content-Length 64 KB+1, 50 MB, 300 MB, 10^15 with no body byte read; chunked bodies cut at 64 KB (1, 16, 65 KB chunks; over the socket < 4 MB of 50 MB taken); 401 before any body byte (no key, unknown, Basic, 5 KB header)')


# -- only application/json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonp",
        "text/json",
    ],
)
async def test_only_json_bodies_are_served(
    service: LocalService, raw_key: str, content_type: str | None
, reliability: Any) -> None:
    headers = json_headers(raw_key)
    if content_type is None:
        del headers["content-type"]
    else:
        headers["content-type"] = content_type
    status, _, content, read = await asgi(service.app, headers=headers, chunks=[LIST_BODY])
    assert (status, read) == (415, 0)
    assert json.loads(content)["title"] == "unsupported_media_type"
    before = service.store.count()
    create = json.dumps(body(GENERATE_API_KEY, input={"name": "csrf"})).encode()
    await asgi(service.app, headers=headers, chunks=[create])
    assert service.store.count() == before
    reliability.passed("hardening", "serve-media", "outcome", '415 for none, text/plain, form-urlencoded, multipart, json;charset=latin-1, application/jsonp, text/json; no key created; application/json (any case, utf-8) served')


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=UTF-8"])
async def test_json_bodies_are_served(service: LocalService, raw_key: str, content_type: str) -> None:
    headers = json_headers(raw_key, **{"content-type": content_type})
    status, _, content, _ = await asgi(service.app, headers=headers, chunks=[LIST_BODY])
    assert status == 200, content


# -- the Host: DNS rebinding -----------------------------------------------------------------------


LOOPBACK_HOSTS = HostAllowList({"127.0.0.1", "localhost"}, any_ip=False)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8787",
        "evil.example",
        "127.0.0.1.nip.io:8787",
        "localhost.evil.example:8787",
        "evil.example:9000",
        "",
        "[::1:8787",
        "127.0.0.1:87a87",
        "10.0.0.5:8787",
    ],
)
async def test_a_foreign_host_is_refused_on_every_route(
    service: LocalService, raw_key: str, host: str
, reliability: Any) -> None:
    app = service.guarded(LOOPBACK_HOSTS)
    for method, path in (("POST", "/graphql/v2"), ("GET", "/health"), ("GET", "/nowhere")):
        headers = json_headers(raw_key, host=host)
        status, _, content, read = await asgi(app, method=method, path=path, headers=headers,
                                              chunks=[LIST_BODY])
        assert (status, read) == (421, 0), (method, path, content)
    reliability.passed("hardening", "serve-host", "outcome", '421 on POST /graphql/v2, GET /health, unknown paths for evil.example(:port), 127.0.0.1.nip.io, localhost.evil.example, empty, malformed, another IP; the served address and localhost answered, also under a forwarded port')


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8787",
        "localhost:8787",
        "LOCALHOST:8787",
        # Forwarded: `ssh -L 9000:localhost:8787`, a TCP proxy, or a default port.
        "localhost:9000",
        "127.0.0.1:18787",
        "127.0.0.1",
    ],
)
async def test_the_served_address_is_answered(service: LocalService, raw_key: str, host: str) -> None:
    app = service.guarded(LOOPBACK_HOSTS)
    status, _, _, _ = await asgi(app, headers=json_headers(raw_key, host=host), chunks=[LIST_BODY])
    assert status == 200


class _FakeSocket:
    def __init__(self, address: str, port: int) -> None:
        self.address = (address, port)

    def getsockname(self) -> tuple[str, int]:
        return self.address


@pytest.mark.parametrize(
    ("host", "address", "url_host", "allowed", "refused"),
    [
        ("127.0.0.1", "127.0.0.1", "127.0.0.1", ["127.0.0.1", "localhost"], ["evil.example", "10.1.2.3"]),
        ("localhost", "127.0.0.1", "localhost", ["localhost", "127.0.0.1"], ["evil.example"]),
        ("::1", "::1", "[::1]", ["[::1]", "localhost"], ["127.0.0.1", "evil.example"]),
        ("0.0.0.0", "0.0.0.0", socket.getfqdn(), [socket.gethostname(), "10.1.2.3", "localhost"],
         ["evil.example"]),
    ],
)
def test_banner_url_and_hosts_for_each_kind_of_address(
    host: str, address: str, url_host: str, allowed: list[str], refused: list[str]
) -> None:
    hosts, url = _addressing(host, _FakeSocket(address, 8787), https=False)  # type: ignore[arg-type]
    assert url == f"http://{url_host}:8787"
    assert "0.0.0.0" not in url
    for name in allowed:
        assert hosts.allows(f"{name}:8787"), name
    for name in refused:
        assert not hosts.allows(f"{name}:8787"), name
    hosts, url = _addressing(host, _FakeSocket(address, 443), https=True)
    assert url.startswith("https://") and hosts.allows(f"{allowed[0]}")


# -- GraphQL work is bounded -----------------------------------------------------------------------


async def graphql(service: LocalService, key: str, document: str, **variables: Any) -> dict:
    payload = {"query": document, "variables": {"requestContext": REQUEST_CONTEXT, **variables}}
    status, _, content, _ = await asgi(
        service.app, headers=json_headers(key), chunks=[json.dumps(payload).encode()]
    )
    assert status in (200, 400, 413), content
    return json.loads(content)


def _messages(answer: dict) -> str:
    return " ".join(error["message"] for error in answer.get("errors", [])) or answer.get("detail", "")


async def test_one_request_cannot_mint_many_keys(service: LocalService, raw_key: str) -> None:
    for count in (2, 10, 1000):
        mutations = " ".join(
            f'k{i}: generateApiKey(input: {{name: "k{i}"}}, requestContext: $requestContext) '
            "{ __typename }"
            for i in range(count)
        )
        document = f"mutation M($requestContext: RequestContext!) {{ {mutations} }}"
        answer = await graphql(service, raw_key, document)
        assert answer.get("data") is None and "errors" in answer or "detail" in answer, count
    assert service.store.count() == 1  # only the admin key


@pytest.mark.parametrize(
    ("document", "limit_words"),
    [
        # Aliases on a query.
        ("query Q($requestContext: RequestContext!) { "
         + " ".join(f"a{i}: user(requestContext: $requestContext) {{ __typename }}" for i in range(9))
         + " }", "root field"),
        # Too many root fields even without aliases duplicates.
        ("query Q($requestContext: RequestContext!) { "
         + " ".join(f"u{i}: apiKeys(requestContext: $requestContext) {{ __typename }}" for i in range(5))
         + " }", "root field"),
        # Aliases inside one root field.
        ("query Q($requestContext: RequestContext!) { user(requestContext: $requestContext) { "
         "... on UserOutput { " + " ".join(f"p{i}: principalType" for i in range(20)) + " } } }",
         "aliases"),
    ],
    ids=["root-aliases", "root-fields", "nested-aliases"],
)
async def test_wide_documents_are_refused(
    service: LocalService, raw_key: str, document: str, limit_words: str
) -> None:
    answer = await graphql(service, raw_key, document)
    assert answer["data"] is None
    assert limit_words in _messages(answer)


def _fan_out(levels: int) -> str:
    """Fragments that each spread the one below twice: 2**levels fields from ~40 lines."""
    parts = ["fragment F0 on UserOutput { principalType apiKeyOwnerType }"]
    for level in range(1, levels + 1):
        parts.append(f"fragment F{level} on UserOutput {{ ...F{level - 1} ...F{level - 1} }}")
    top = f"...F{levels}"
    return (
        "query Q($requestContext: RequestContext!) { user(requestContext: $requestContext) { "
        f"{top} }} }} " + " ".join(parts)
    )


@pytest.mark.parametrize("levels", [10, 20, 40])
async def test_fragment_fan_out_is_refused_quickly(
    service: LocalService, raw_key: str, levels: int
, reliability: Any) -> None:
    started = time.monotonic()
    answer = await graphql(service, raw_key, _fan_out(levels))
    assert time.monotonic() - started < 2
    assert answer["data"] is None and "fields in all" in _messages(answer)
    reliability.passed("hardening", "serve-graphql", "outcome", 'refused before running: 2, 10, 1000 aliased creates (no key minted), 9 aliased roots, 5 root fields, 20 nested aliases, fragment fan-out 2^10-2^40 (< 2 s), depth 50-5000; introspection (4 forms) only with --introspection')


@pytest.mark.parametrize("depth", [50, 400, 5000])
async def test_deep_documents_are_a_clean_error(
    service: LocalService, raw_key: str, depth: int
) -> None:
    document = "query Q { " + "user { " * depth + "__typename" + " }" * depth + " }"
    answer = await graphql(service, raw_key, document)
    assert answer.get("data") is None
    assert _messages(answer)


@pytest.mark.parametrize(
    "document",
    [
        "query { __schema { types { name } } }",
        '{ __type(name: "Query") { fields { name } } }',
        "query { a: __schema { queryType { name } } }",
        "fragment S on __Schema { types { name } } query { __schema { ...S } }",
    ],
)
async def test_introspection_is_off_unless_asked_for(raw_key: str, document: str) -> None:
    for introspection in (False, True):
        svc = LocalService(in_memory=True, require_auth=True, introspection=introspection)
        key = svc.store.create_key("admin")[1]
        answer = await graphql(svc, key, document)
        svc.close()
        if introspection:
            assert answer["data"] and "errors" not in answer, answer
        else:
            assert answer["data"] is None and "introspection" in _messages(answer).lower()


@pytest.mark.parametrize("operation", [API_KEYS, GET_USER, GENERATE_API_KEY, EXPIRE_API_KEY])
def test_every_operation_oz_keys_sends_is_well_within_the_limits(operation: Any) -> None:
    from graphql import parse

    from oz_tui.local.limits import check_limits

    half = QueryLimits(max_aliases=QueryLimits().max_aliases // 2,
                       max_depth=QueryLimits().max_depth // 2,
                       max_cost=QueryLimits().max_cost // 4,
                       max_tokens=QueryLimits().max_tokens // 4)
    document = parse(operation.document, max_tokens=half.max_tokens)
    assert check_limits(document, operation.name, half) == []


# -- errors: JSON, no paths, no redirects ----------------------------------------------------------


async def test_store_failures_over_the_network_name_no_path(
    service: LocalService, raw_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
, reliability: Any) -> None:
    secret_path = str(tmp_path / "very-private" / "keys.db")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise LocalStoreError(f"{secret_path}: disk I/O error")

    monkeypatch.setattr(service.store, "active_keys", broken)
    status, _, content, _ = await asgi(service.app, headers=json_headers(raw_key), chunks=[LIST_BODY])
    assert status == 503 and b"very-private" not in content and str(tmp_path).encode() not in content
    monkeypatch.setattr(service.store, "authenticate", broken)
    status, _, content, _ = await asgi(service.app, headers=json_headers(raw_key), chunks=[LIST_BODY])
    assert status == 503 and b"very-private" not in content
    reliability.passed("hardening", "serve-paths", "outcome", '503 without the database path (list, authentication); a crash is a JSON 500 without paths and one log line')


async def test_a_crash_is_a_json_500_with_one_log_line(
    service: LocalService, raw_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def crashing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError(f"{REPO} is somewhere")

    app = Guard(crashing, authenticate=service._authenticate)
    status, headers, content, _ = await asgi(app, headers=json_headers(raw_key), chunks=[LIST_BODY])
    assert status == 500 and headers["content-type"] == "application/problem+json"
    assert str(REPO).encode() not in content
    assert [r.getMessage() for r in caplog.records] == [
        "local key service: RuntimeError on /graphql/v2"
    ]


@pytest.mark.parametrize("path", ["/graphql/v2/", "/health/", "//graphql/v2", "/graphql/v2/."])
async def test_no_redirect_is_built_from_the_host(service: LocalService, raw_key: str, path: str) -> None:
    for method in ("GET", "POST"):
        status, headers, _, _ = await asgi(
            service.app, method=method, path=path,
            headers=json_headers(raw_key, host="evil.example"), chunks=[LIST_BODY],
        )
        assert status == 404 and "location" not in headers, (method, path, status)


async def test_concurrency_limit_answers_busy(service: LocalService, raw_key: str) -> None:
    release = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Guard(slow, authenticate=service._authenticate, limits=Limits(max_concurrent=3))
    held = [asyncio.create_task(asgi(app, method="GET", path="/health")) for _ in range(3)]
    await asyncio.sleep(0.05)
    status, headers, _, _ = await asgi(app, method="GET", path="/health")
    assert status == 503 and headers["retry-after"] == "1"
    release.set()
    assert [(await task)[0] for task in held] == [200, 200, 200]
    assert (await asgi(app, method="GET", path="/health"))[0] == 200


# -- over a real socket ----------------------------------------------------------------------------

_SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import oz_tui.local.service as service
    import oz_tui.local.serving as serving
    from oz_tui.local.limits import Limits, ServerLimits

    serving.SERVER_LIMITS = ServerLimits(header_timeout=float(sys.argv[2]))
    service.LocalService.__init__.__kwdefaults__["limits"] = Limits(body_timeout=float(sys.argv[3]))
    serving.serve("127.0.0.1", 0, Path(sys.argv[1]), on_ready=lambda url: print(url, flush=True))
    print("stopped", flush=True)
    """
)


class Served:
    def __init__(self, url: str, data_dir: Path, proc: subprocess.Popen) -> None:
        self.url, self.data_dir, self.proc = url, data_dir, proc
        self.host, port = url[len("http://"):].split(":")
        self.port = int(port)
        store = KeyStore(data_dir / "keys.db")
        self.key = store.create_key("admin")[1]
        store.close()

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=5)

    def request_head(self, length: int | None = None, *, chunked: bool = False, key: bool = True) -> bytes:
        lines = [
            "POST /graphql/v2 HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
        ]
        if key:
            lines.append(f"Authorization: Bearer {self.key}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "served"
    proc = subprocess.Popen(
        [PYTHON, "-c", _SERVE, str(data_dir), "1.5", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        yield Served(url, data_dir, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "stopped" in out
    assert "Traceback" not in err, err


def read_response(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_over_the_socket_bodies_are_refused_before_they_are_sent(served: Served) -> None:
    for length, key in ((300 * 1024 * 1024, False), (300 * 1024 * 1024, True), (10**12, True)):
        with served.connect() as sock:
            sock.sendall(served.request_head(length, key=key))  # and not one byte of body
            started = time.monotonic()
            head = read_response(sock)
            assert time.monotonic() - started < 1
            assert head.startswith(b"HTTP/1.1 413" if key or length > CAP else b"HTTP/1.1 401"), head
    # No key: refused before the body, whatever its length.
    with served.connect() as sock:
        sock.sendall(served.request_head(1000, key=False))
        assert read_response(sock).startswith(b"HTTP/1.1 401")


def test_over_the_socket_a_chunked_body_is_cut_off_at_the_cap(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(served.request_head(chunked=True))
        chunk = b"%x\r\n%s\r\n" % (16 * 1024, b"x" * 16 * 1024)
        sent = 0
        answered = b""
        sock.settimeout(0.2)
        for _ in range(50 * 1024 * 1024 // (16 * 1024)):
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += 16 * 1024
            try:
                answered = sock.recv(65536)
                if answered:
                    break
            except TimeoutError:
                continue
        if not answered:
            answered = read_response(sock)
        assert answered.startswith(b"HTTP/1.1 413"), answered
        assert sent < 4 * 1024 * 1024  # the server stopped taking it long before 50 MB


def test_nested_json_and_redirect_probes_over_the_socket(served: Served, reliability: Any) -> None:
    headers = {"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for payload in (b"[" * 60_000, b'{"a":' * 12_000):
            response = client.post("/graphql/v2", content=payload, headers=headers)
            assert response.status_code == 400, response.text
            assert response.headers["content-type"] == "application/problem+json"
        # A document nested past the parser's bound: a GraphQL error, as for any syntax error.
        document = "query { " + "user { " * 5_000 + "}" * 5_000 + " }"
        response = client.post("/graphql/v2", json={"query": document}, headers=headers)
        assert response.status_code == 200 and response.json()["data"] is None
        response = client.post("/graphql/v2/", json=body(API_KEYS), headers={
            **headers, "Host": "evil.example"})
        assert response.status_code == 421 and "location" not in response.headers
        response = client.post("/graphql/v2/", json=body(API_KEYS), headers=headers)
        assert response.status_code == 404 and "location" not in response.headers
    reliability.passed("hardening", "serve-malformed", "outcome", "400 JSON problem for text, array, no query, not UTF-8, 50-60k nested arrays and objects; 5000-deep document a GraphQL error; /graphql/v2/, /health/, //graphql/v2 404 with no Location; no traceback on the server's stderr")


def test_stalled_clients_do_not_keep_out_a_good_one(served: Served, reliability: Any) -> None:
    silent = [served.connect() for _ in range(60)]
    partial_headers = [served.connect() for _ in range(30)]
    for sock in partial_headers:
        sock.sendall(b"POST /graphql/v2 HTTP/1.1\r\nHost: x")
    partial_bodies = [served.connect() for _ in range(30)]
    for sock in partial_bodies:
        sock.sendall(served.request_head(1000) + b'{"query": ')
    try:
        started = time.monotonic()
        with httpx.Client(base_url=served.url, timeout=5) as client:
            for _ in range(5):
                response = client.post(
                    "/graphql/v2", json=body(API_KEYS),
                    headers={"Authorization": f"Bearer {served.key}"},
                )
                assert response.status_code == 200, response.text
        assert time.monotonic() - started < 2.5
        # Header deadline (1.5 s here, 5 s by default) and body deadline (2 s here, 10 s).
        for sock in silent + partial_headers:
            sock.settimeout(5)
            assert sock.recv(1024) == b""  # closed by the server
        for sock in partial_bodies:
            head = read_response(sock)
            assert head.startswith(b"HTTP/1.1 408"), head
    finally:
        for sock in silent + partial_headers + partial_bodies:
            sock.close()
    reliability.passed("hardening", "serve-slow", "outcome", '60 silent, 30 half-header, 30 half-body connections: a good client served 5 times in < 2.5 s; the stalled ones closed at the header deadline, 408 at the body deadline; 503 + Retry-After past the concurrency limit')


def test_remote_addresses_need_tls_or_an_explicit_opt_in(tmp_path: Path, reliability: Any) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        with pytest.raises(ServeRefused, match="--tls-cert and --tls-key, or --insecure-remote"):
            serve(host, 0, tmp_path / "data")
    assert not (tmp_path / "data").exists()  # refused before anything was opened or bound
    result = subprocess.run(
        [PYTHON, "-m", "oz_tui", "serve", "--host", "0.0.0.0", "--port", "18787",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--insecure-remote" in result.stderr
    result = subprocess.run(
        [PYTHON, "-m", "oz_tui", "serve", "--tls-cert", str(tmp_path / "c.pem")],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )
    assert result.returncode == 2 and "--tls-key" in result.stderr
    reliability.passed("hardening", "serve-remote", "outcome", "0.0.0.0, ::, 192.0.2.1 refused before binding (exit 2, one line) without --tls-cert/--tls-key or --insecure-remote; TLS on loopback serves https at the banner's URL; a bad certificate is one line")


def test_tls_serves_https_with_a_usable_url(tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    proc = subprocess.Popen(
        [PYTHON, "-m", "oz_tui", "serve", "--port", port, "--data-dir", str(tmp_path / "d"),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        url = re.search(r"on (https://\S+) ", banner)
        assert url, banner
        trusting = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        response = httpx.get(f"{url.group(1)}/health", verify=trusting, timeout=10)
        assert response.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.group(1).replace("https", "http") + "/health", timeout=3)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    # A certificate that is not one: one line, exit 2.
    result = subprocess.run(
        [PYTHON, "-m", "oz_tui", "serve", "--port", port, "--data-dir", str(tmp_path / "d"),
         "--tls-cert", str(key), "--tls-key", str(cert)],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
