"""Connections opened at start-up (oz_tui/head_start.py, oz_tui/api/transport.py): used, reused, and never a change in
what the user sees when they fail."""

from __future__ import annotations

import ast
import functools
import io
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpcore
import httpx
import pytest
import trustme

import oz_tui
from oz_tui import cli
from oz_tui.api.client import OzClient
from oz_tui.core.errors import NetworkError, OzError
from oz_tui.core.models import Expiration
from oz_tui.head_start import Preconnect

from fault_server import (
    ThreadedFaultServer,
    close_mid_body,
    close_without_answer,
    closed_port,
    good,
    hang,
    huge_body,
)

FAKE_KEY = "wk-1." + "0" * 64


@pytest.fixture
def server() -> Any:
    threaded = ThreadedFaultServer(lambda request: good())
    yield threaded
    threaded.close()


def early_transport(preconnect: Preconnect | None) -> Any:
    """The client's transport over `preconnect`'s connections first (httpx's usual for None)."""
    return preconnect.transport() if preconnect is not None else None


def accepted(server: ThreadedFaultServer, count: int) -> int:
    """The connections the server has accepted, once `count` have been (or 5 s have passed)."""
    deadline = time.monotonic() + 5
    while server.server.connections < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.server.connections


async def test_the_client_uses_the_early_connections_then_reuses_them(server: Any) -> None:
    preconnect = Preconnect.start(server.url, count=2)
    assert preconnect is not None
    async with OzClient(server.url, FAKE_KEY, transport=early_transport(preconnect)) as client:
        for _ in range(3):
            assert len(await client.list_keys()) == 3
        await client.whoami()
    # Three lists, then who-am-I's two requests at once: the first took an early connection
    # and the next ones reused it, who-am-I's second took the other early one; nothing else.
    assert len(server.server.requests) == 5
    assert server.server.connections == 2


def test_the_cli_sends_its_request_on_the_early_connection(server: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {"WARP_API_KEY": FAKE_KEY, "XDG_CONFIG_HOME": "/nonexistent"}
    code = cli.run(["list", "--server-root-url", server.url, "--output-format", "json"],
                   env=env, stdin=io.StringIO(), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert server.server.connections == 1 and server.server.count("ApiKeys") == 1


async def test_a_failed_early_connection_reports_as_any_failed_connection() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    preconnect = Preconnect.start(url, count=1, timeout=2)
    assert preconnect is not None
    async with OzClient(url, FAKE_KEY, transport=early_transport(preconnect), max_retries=0) as client:
        with pytest.raises(NetworkError) as early:
            await client.list_keys()
    async with OzClient(url, FAKE_KEY, max_retries=0) as client:
        with pytest.raises(NetworkError) as usual:
            await client.list_keys()
    assert str(early.value) == str(usual.value)
    assert "Could not connect to 127.0.0.1" in str(early.value)


@pytest.mark.parametrize(
    "root", ["ftp://example.test", "not a url", "http://[::1", "https://"]
)
def test_nothing_to_open_for_an_address_that_is_not_a_server(root: str) -> None:
    assert Preconnect.start(root) is None


def test_a_proxy_in_the_environment_means_no_direct_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    assert Preconnect.start("https://app.warp.dev") is None


def test_https_gets_httpx_default_verification() -> None:
    import ssl

    preconnect = Preconnect.start(f"https://127.0.0.1:{closed_port()}", count=0)
    assert preconnect is not None
    context = preconnect.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded


async def test_every_request_goes_over_the_connection_opened_at_start_up(server: Any) -> None:
    preconnect = Preconnect.start(server.url, count=1)
    assert preconnect is not None
    assert accepted(server, 1) == 1  # the early connection, before the client exists
    async with OzClient(server.url, FAKE_KEY, transport=early_transport(preconnect)) as client:
        for _ in range(3):
            assert len(await client.list_keys()) == 3
    # Kept alive and reused: no second connection.
    assert len(server.server.requests) == 3 and server.server.connections == 1


async def test_an_early_connection_the_server_closed_is_replaced_not_used(server: Any) -> None:
    server.server.hang_up_first = 1
    preconnect = Preconnect.start(server.url, count=1)
    assert preconnect is not None
    deadline = time.monotonic() + 5
    while server.server.hung_up < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    async with OzClient(server.url, FAKE_KEY, transport=early_transport(preconnect), max_retries=0) as client:
        # Never retried: sent on the closed connection, it would end "may have been created".
        created = await client.create_key("ci", Expiration.NEVER)
        assert created.raw_key
    assert server.server.connections == 2 and server.server.count("GenerateApiKey") == 1


FAULTS = {
    "no answer (read timeout)": hang,
    "hang-up before answering": close_without_answer,
    "hang-up mid-body": close_mid_body,
    "10 MB chunked body": lambda: huge_body(declare_length=False),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_on_an_early_connection_reads_as_on_any_connection(fault: str) -> None:
    server = ThreadedFaultServer(lambda request: FAULTS[fault]())
    try:
        failures = []
        for preconnect in (Preconnect.start(server.url, count=1), None):
            async with OzClient(server.url, FAKE_KEY, transport=early_transport(preconnect), max_retries=0,
                                timeout=httpx.Timeout(0.5, connect=2.0)) as client:
                with pytest.raises(OzError) as failure:
                    await client.create_key("ci", Expiration.NEVER)
            failures.append((type(failure.value), str(failure.value)))
        assert failures[0] == failures[1]
        assert server.server.connections == 2 and server.server.count("GenerateApiKey") == 2
    finally:
        server.close()


@pytest.fixture
def unanswered() -> Iterator[str]:
    """A loopback server whose connections never open: its queue is full, it accepts none."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        queued = [socket.socket() for _ in range(3)]
        for sock in queued:
            sock.setblocking(False)
            sock.connect_ex(listener.getsockname())
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        for sock in queued:
            sock.close()


async def test_giving_up_on_an_early_connection_still_opening_leaves_no_failing_thread(
    unanswered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    preconnect = Preconnect.start(unanswered, count=1, timeout=0.6)
    timeout = httpx.Timeout(5.0, connect=0.2)  # gives up before the early connect does
    async with OzClient(unanswered, FAKE_KEY, transport=early_transport(preconnect), max_retries=0,
                        timeout=timeout) as client:
        with pytest.raises(NetworkError, match=r"^Timed out connecting to 127\.0\.0\.1:"):
            await client.list_keys()
    for thread in threading.enumerate():
        if thread.name == "oz-keys-preconnect":
            thread.join(5)
    # The early connect's own failure, later, went nowhere: no "Exception in thread" on stderr.
    assert failures == []


# -- https: TLS over the early connection ---------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ca` trusted the way httpx reads it from the environment."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def tls_server(ca: trustme.CA, name: str) -> Iterator[ThreadedFaultServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    threaded = ThreadedFaultServer(lambda request: good(), tls=context)
    yield threaded
    threaded.close()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[ThreadedFaultServer]:
    yield from tls_server(ca, "127.0.0.1")


async def test_https_verifies_the_server_over_the_early_connections_and_reuses_them(
    https_server: ThreadedFaultServer, trusted: None
) -> None:
    preconnect = Preconnect.start(https_server.url, count=2)
    assert preconnect is not None
    assert accepted(https_server, 2) == 2
    async with OzClient(https_server.url, FAKE_KEY, transport=early_transport(preconnect)) as client:
        for _ in range(3):
            assert len(await client.list_keys()) == 3
        await client.whoami()  # two requests at once: the second early connection
    assert len(https_server.server.requests) == 5 and https_server.server.connections == 2


async def test_the_environments_authorities_are_trusted_for_a_loopback_server_too(
    https_server: ThreadedFaultServer, trusted: None
) -> None:
    """SSL_CERT_FILE counts with or without early connections, loopback or not: a tunnel to a
    server with its own authority (`ssh -L 9443:localhost:8787`) is a loopback address."""
    async with OzClient(https_server.url, FAKE_KEY) as client:
        assert len(await client.list_keys()) == 3


@pytest.mark.parametrize("problem", ["another host's certificate", "an unknown authority"])
async def test_a_certificate_that_fails_verification_is_said_so_once(
    problem: str, ca: trustme.CA, trusted: None
) -> None:
    if problem == "an unknown authority":
        servers = tls_server(trustme.CA(), "127.0.0.1")
    else:
        servers = tls_server(ca, "other.test")  # checked against the name connected to
    server = next(servers)
    try:
        preconnect = Preconnect.start(server.url, count=1)
        async with OzClient(server.url, FAKE_KEY, transport=early_transport(preconnect), max_retries=0) as client:
            with pytest.raises(NetworkError) as early:
                await client.list_keys()
        async with OzClient(server.url, FAKE_KEY, max_retries=0) as client:
            with pytest.raises(NetworkError) as usual:
                await client.list_keys()
        assert str(early.value) == str(usual.value)
        # Said as what it is (not "is the network up?"), with what verification found.
        message = str(early.value)
        assert message.startswith("Could not verify 127.0.0.1:")
        assert ("mismatch" if problem == "another host's certificate" else "issuer") in message
        assert server.server.connections == 2 and not server.server.requests
        # Not retried: the same certificate fails the same way every time.
        async with OzClient(server.url, FAKE_KEY) as client:
            with pytest.raises(NetworkError):
                await client.list_keys()
        assert server.server.connections == 3
    finally:
        next(servers, None)


# -- public APIs only -----------------------------------------------------------------------------

LIBRARIES = ("httpx", "httpcore", "anyio", "h11")


@functools.cache
def private_attributes_of_httpx_objects() -> frozenset[str]:
    """What httpx's transport, httpcore's pool and AnyIO's streams keep to themselves."""
    transport = httpx.AsyncHTTPTransport()
    pool = httpcore.AsyncConnectionPool()
    objects = [transport, pool, httpx.AsyncClient(transport=transport), httpcore.AnyIOBackend()]
    names = {name for thing in objects for name in vars(thing) if name.startswith("_")}
    for module in (httpx, httpcore):
        names |= {name for name in dir(module) if name.startswith("_") and not name.endswith("__")}
    return frozenset(names)


def private_uses(source: str) -> list[str]:
    """Imports of the libraries' private modules, `lib._name`, and any object's (but `self`'s
    or `cls`'s) attribute of one of the private names those libraries' objects have."""
    private = private_attributes_of_httpx_objects()
    found = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] in LIBRARIES and any(part.startswith("_") for part in parts[1:]):
                found.append(f"import {module}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner in LIBRARIES or (owner not in ("self", "cls") and node.attr in private):
                found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_the_package_uses_no_private_api_of_httpx_httpcore_or_anyio() -> None:
    package = Path(oz_tui.__file__).parent
    uses = {
        str(path.relative_to(package)): private_uses(path.read_text(encoding="utf-8"))
        for path in sorted(package.rglob("*.py"))
    }
    assert {path: found for path, found in uses.items() if found} == {}


def test_the_check_finds_what_the_client_did_before() -> None:
    before = (
        "import httpx\n"
        "from httpcore._backends.anyio import AnyIOStream\n"
        "http = httpx.AsyncHTTPTransport()\n"
        "http._pool._network_backend = backend\n"
        "mapping = httpx._transports.default.HTTPCORE_EXC_MAP\n"
    )
    assert private_uses(before) == [
        "import httpcore._backends.anyio",
        "http._pool._network_backend (line 4)",
        "http._pool (line 4)",
        "httpx._transports (line 5)",
    ]
