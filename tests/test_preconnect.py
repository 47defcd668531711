"""Connections opened at start-up (oz_tui/api/preconnect.py): used, reused, and never a change in
what the user sees when they fail."""

from __future__ import annotations

import io
from typing import Any

import pytest

from oz_tui import cli
from oz_tui.api.client import OzClient
from oz_tui.api.errors import NetworkError
from oz_tui.api.preconnect import Preconnect

from fault_server import ThreadedFaultServer, closed_port, good

FAKE_KEY = "wk-1." + "0" * 64


@pytest.fixture
def server() -> Any:
    threaded = ThreadedFaultServer(lambda request: good())
    yield threaded
    threaded.close()


async def test_the_client_uses_the_early_connections_then_reuses_them(server: Any) -> None:
    preconnect = Preconnect.start(server.url, count=2)
    assert preconnect is not None
    async with OzClient(server.url, FAKE_KEY, preconnect=preconnect) as client:
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
    async with OzClient(url, FAKE_KEY, preconnect=preconnect, max_retries=0) as client:
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
