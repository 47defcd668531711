"""The fault matrix (tests/support/reliability.py): each operation against each fault, three ways.

* The client: the typed error, retries only for safe operations, what a failed create says.
* The panel (the real OzKeysApp): a clear message, and it keeps working.
* The CLI (a subprocess): one line on stderr and the documented exit code.

Each runs against an `httpx.MockTransport` and against real sockets on 127.0.0.1
(tests/support/fault_matrix.py). Every proven cell is recorded for the README's Reliability section.
Hung servers, and cancelling the wait for them, are at the end.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from textual.widgets import Button, Input, Static

import fault_server as fs
from determinism import FakeClock
from fault_matrix import (
    CALLS,
    CREDENTIAL_HINT,
    DNS_FAILURE_URL,
    FAKE_CREDENTIAL,
    FAULT_SPECS,
    IDEMPOTENT,
    MAYBE_CREATED,
    NOT_CREATED,
    Blackhole,
    FaultRouter,
    LoopbackFaults,
    MockFaults,
    client_options,
    closed_port_url,
    loopback_action,
)
from oz_tui.core.errors import OzError
from oz_tui.api.client import OzClient
from oz_tui.backend import Backend, remote_backend
from oz_tui.tui.screens import CreateKeyScreen, HelpScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.widgets import AuthPanel, ErrorBanner, KeyTable, StatusLine
from reliability import FAULTS, LOOPBACK, MOCK, OPERATIONS, TABLES_BY_KEY
from scenarios import make_app, settle
from screen_check import assert_inert, notification_messages, notifications, terminal_output, unhandled_error

# One worker for the whole module: its CLI cells run once, in the background, for every test
# here (`cli_cells` is module-scoped); split across workers, each would run all of them again.
pytestmark = pytest.mark.xdist_group("reliability-faults")

FAULT_IDS = [fault for fault, _ in FAULTS]
OPS = [op for op, _ in OPERATIONS]
MOCK_ROOT = "https://oz.example.test"
REPO = Path(__file__).resolve().parents[2]


class Sleeps(list[float]):
    """An injected `sleep`: records each retry delay and returns at once."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


def assert_no_credential(*texts: str) -> None:
    for text in texts:
        assert FAKE_CREDENTIAL not in text
        assert FAKE_CREDENTIAL[5:] not in text
        assert FAKE_CREDENTIAL[5:25] not in text


def assert_clean_error(error: BaseException) -> None:
    assert error.__cause__ is None and error.__context__ is None
    assert_no_credential("".join(traceback.format_exception(error)), repr(error))


# -- the client ----------------------------------------------------------------------------------


def check_client_error(error: OzError, fault: str, op: str, attempts: int) -> str:
    """Assert the cell's expectations; return its description for the README."""
    spec = FAULT_SPECS[fault]
    assert type(error) is spec.error, (type(error), spec.error)
    assert spec.says in error.message, error.message
    expected = 3 if spec.retried and IDEMPOTENT[op] else 1
    assert attempts == expected, (attempts, expected)
    assert_clean_error(error)
    detail = f"{spec.error.__name__}, {attempts} {'try' if attempts == 1 else 'tries'}"
    if op == "GenerateApiKey":
        if spec.create == NOT_CREATED:
            assert NOT_CREATED in error.message and not error.may_have_succeeded
            detail += ", “no key was created”"
        elif spec.create == MAYBE_CREATED:
            assert MAYBE_CREATED in error.message and error.may_have_succeeded
            detail += ", “may have been created”"
        else:
            assert NOT_CREATED not in error.message and MAYBE_CREATED not in error.message
            assert not error.may_have_succeeded
    return detail


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fault", FAULT_IDS)
async def test_client_mock(fault: str, op: str, reliability: Any) -> None:
    faults = MockFaults()
    faults.faults[op] = fault
    sleeps = Sleeps()
    async with OzClient(
        MOCK_ROOT, FAKE_CREDENTIAL, transport=faults.transport(), sleep=sleeps,
        **client_options(fault, only_faults=True),
    ) as client:
        with pytest.raises(OzError) as caught:
            await CALLS[op](client)
    assert faults.calls[op] == len(sleeps) + 1
    if fault == "http-429" and IDEMPOTENT[op]:
        assert sleeps == [1.0, 1.0]  # the server's Retry-After
    detail = check_client_error(caught.value, fault, op, faults.calls[op])
    reliability.passed("client", fault, op, detail, MOCK)


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackFaults]:
    faults = await LoopbackFaults().start()
    yield faults
    await faults.stop()


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fault", FAULT_IDS)
async def test_client_loopback(
    fault: str, op: str, loopback: LoopbackFaults, reliability: Any
) -> None:
    spec = FAULT_SPECS[fault]
    loopback.faults[op] = fault
    sleeps = Sleeps()
    # A connection fault reaches only the operation under test (who-am-I sends two).
    transport = FaultRouter(loopback) if spec.connect else None
    started = time.monotonic()
    options = client_options(fault, only_faults=True)
    async with OzClient(
        loopback.url, FAKE_CREDENTIAL, sleep=sleeps, transport=transport, **options
    ) as client:
        with pytest.raises(OzError) as caught:
            await CALLS[op](client)
    assert time.monotonic() - started < 5, "bounded by the client's timeouts"
    attempts = len(sleeps) + 1
    if not spec.connect:
        assert loopback.server.count(op) == attempts
    detail = check_client_error(caught.value, fault, op, attempts)
    reliability.passed("client", fault, op, detail, LOOPBACK)


async def test_create_refused_before_execution_says_nothing_was_created() -> None:
    """GraphQL errors without a `data` entry mean the document never ran: nothing created."""
    answer = {"errors": [{"message": "Cannot query field 'rawApiKey2'"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with OzClient(MOCK_ROOT, FAKE_CREDENTIAL, transport=transport) as client:
        with pytest.raises(OzError) as caught:
            await CALLS["GenerateApiKey"](client)
    assert not caught.value.may_have_succeeded
    assert MAYBE_CREATED not in caught.value.message


# -- the panel -----------------------------------------------------------------------------------

PANEL_SIZE = (80, 24)


async def _no_sleep(_delay: float) -> None:
    return None


def panel_backend(
    variant: str, faults: MockFaults | LoopbackFaults, clock: FakeClock, fault: str
) -> Backend:
    options = {**client_options(fault), "max_retries": 0, "sleep": _no_sleep}
    if variant == MOCK:
        assert isinstance(faults, MockFaults)
        return remote_backend(
            MOCK_ROOT, FAKE_CREDENTIAL, clock=clock, transport=faults.transport(), **options
        )
    assert isinstance(faults, LoopbackFaults)
    return remote_backend(
        faults.url, FAKE_CREDENTIAL, clock=clock, transport=FaultRouter(faults), **options
    )


def keys_screen(app: Any) -> KeysScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, KeysScreen)
    return screen


def notifications(app: Any) -> list[str]:
    return notification_messages(app)


def assert_screen_clean(app: Any) -> None:
    """Nothing on screen (or in a toast) shows the credential; only Textual's own escapes."""
    output = terminal_output(app)
    assert_inert(output, allowed_links={"https://docs.warp.dev/reference/cli/api-keys"})
    assert_no_credential(output, *notifications(app))


PANEL_CELLS = [
    pytest.param(fault, variant, id=f"{fault}-{variant}")
    for fault in FAULT_IDS
    for variant in TABLES_BY_KEY["panel"].variants_of(fault)
]


@pytest.mark.parametrize(("fault", "variant"), PANEL_CELLS)
async def test_panel_under_fault(
    fault: str, variant: str, reliability: Any, cli_cells: CliCells | None
) -> None:
    if cli_cells is not None:
        cli_cells.wait_busy()  # no subprocess competes for the CPU with the app's timing
    spec = FAULT_SPECS[fault]
    clock = FakeClock()
    faults: MockFaults | LoopbackFaults = (
        MockFaults() if variant == MOCK else await LoopbackFaults().start()
    )
    try:
        app = make_app(panel_backend(variant, faults, clock, fault), clock)
        faults.faults = {"GetUser": fault}
        async with app.run_test(size=PANEL_SIZE, notifications=True) as pilot:
            await settle(pilot)
            screen = keys_screen(app)
            table = screen.query_one(KeyTable)
            banner = screen.query_one(ErrorBanner)
            auth = screen.query_one(AuthPanel)
            status = screen.query_one(StatusLine)

            # 1. who-am-I fails at open: the page loads all the same.
            assert table.loaded and len(table.visible_keys) == 3
            assert not banner.shown and not auth.shown
            assert "signed in as" not in status.source_plain
            assert_screen_clean(app)
            reliability.passed(
                "panel", fault, "GetUser", "page loads; status line without the account", variant
            )

            # 2. create fails with the form open: the form stays, with its input and the reason.
            faults.faults = {"GenerateApiKey": fault}
            await pilot.press("n")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, CreateKeyScreen)
            team_help = str(dialog.query_one("#team-help", Static).content)
            assert "couldn't be loaded" in team_help  # not "you have no team": it is unknown
            dialog.query_one("#name", Input).value = "Matrix key"  # as typed (faster)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is dialog
            assert dialog.query_one("#name", Input).value == "Matrix key"
            failure = " ".join(str(dialog.query_one("#failure", Static).content).split())
            assert spec.says in failure, failure
            if spec.create:
                assert spec.create in failure
            create_button = dialog.query_one("#create", Button)
            assert not create_button.disabled and not dialog.pending
            assert_screen_clean(app)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, KeysScreen)
            outcome = {NOT_CREATED: "; “no key was created”",
                       MAYBE_CREATED: "; “may have been created, refresh”"}.get(spec.create, "")
            reliability.passed(
                "panel", fault, "GenerateApiKey", f"form kept, reason shown{outcome}", variant
            )

            # 3. delete fails: the row stays, a toast says why.
            faults.faults = {"ExpireApiKey": fault}
            target = table.highlighted_key
            assert target is not None
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert target.uid in {key.uid for key in table.visible_keys}
            toast = notifications(app)[-1]
            assert toast.startswith(f"Couldn't delete “{target.name}”") and spec.says in toast
            assert_screen_clean(app)
            reliability.passed("panel", fault, "ExpireApiKey", "row stays; toast says why", variant)

            # 4. refresh fails: the last good rows stay (behind the sign-in panel for 401).
            faults.faults = {"ApiKeys": fault}
            shown_before = [key.uid for key in table.visible_keys]
            await pilot.press("r")
            await settle(pilot)
            assert [key.uid for key in table.keys] == shown_before
            if fault == "http-401":
                assert auth.shown and spec.says in auth.message_plain
                assert not table.display
                detail = "sign-in panel says why; rows kept (hidden)"
            else:
                assert banner.shown and spec.says in banner.message_plain
                assert banner.message_plain.startswith("⚠ Couldn't refresh the keys:")
                assert table.display and [k.uid for k in table.visible_keys] == shown_before
                detail = "banner says why; last good rows stay"
            assert_screen_clean(app)

            # ... and a good refresh recovers.
            faults.faults = {}
            await pilot.press("r")
            await settle(pilot)
            assert not banner.shown and not auth.shown
            assert table.display and len(table.visible_keys) == 3
            assert "signed in as ada@example.com" in status.source_plain
            assert app.is_running and unhandled_error(app) is None
            reliability.passed("panel", fault, "ApiKeys", detail + "; recovers", variant)
    finally:
        if isinstance(faults, LoopbackFaults):
            await faults.stop()


# -- the CLI -------------------------------------------------------------------------------------

#: `--request-timeout` for the faults a read or the whole attempt times out: each attempt and
#: each read within 1 s (the default, 60 s with reads of 30 s, would take minutes per cell). The
#: drip still outlasts it: a dripped answer is padded to DRIP_MIN_BYTES (4 s at 20 ms a byte).
#: The connect timeout keeps the default (5 s per attempt), so its cells also show the message a
#: user sees without the option.
CLI_REQUEST_TIMEOUT = "1"
CLI_TIMED = frozenset({"read-timeout", "drip"})
CLI_ARGS = {
    "ApiKeys": ["list"],
    "GetUser": ["whoami"],
    "GenerateApiKey": ["create", "Matrix key"],
    "ExpireApiKey": ["expire", "key-personal", "--force"],
}


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARP_", "OZ_KEYS_"))}
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / name)
    env["WARP_API_KEY"] = FAKE_CREDENTIAL
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _cli_route(request: fs.Request) -> fs.Action:
    """/f/<fault>/<op>/graphql/v2: `fault` for `op`, good answers for the rest."""
    parts = request.path.split("/")
    if len(parts) > 3 and parts[1] == "f" and parts[3] == request.op:
        return loopback_action(parts[2], request.op)
    return fs.good()


class CliCells:
    """Every CLI cell, run concurrently in the background (most of their time is retry backoff
    and timeouts), started when this module's tests begin so they overlap the panel tests."""

    def __init__(self, home: Path) -> None:
        self.server = fs.ThreadedFaultServer(_cli_route)
        self.blackhole = Blackhole()
        self.env = cli_env(home)
        cells = [(f, op) for f in FAULT_IDS for op in OPS]
        # The connect timeouts take longest (5 s per attempt): start them first, then the other
        # timeouts (1 s per attempt).
        cells.sort(key=lambda cell: (cell[0] != "connect-timeout", cell[0] not in CLI_TIMED))
        self.pool = ThreadPoolExecutor(max_workers=6)
        self.futures = {cell: self.pool.submit(self._run, cell) for cell in cells}

    def _run(self, cell: tuple[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
        fault, op = cell
        spec = FAULT_SPECS[fault]
        if spec.connect:
            url = {"refused": closed_port_url(), "dns": DNS_FAILURE_URL}.get(
                fault, self.blackhole.url
            )
        else:
            url = f"{self.server.url}/f/{fault}/{op}"
        timeout = ["--request-timeout", CLI_REQUEST_TIMEOUT] if fault in CLI_TIMED else []
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "oz_tui", *CLI_ARGS[op], "--server-root-url", url, *timeout],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=self.env, cwd=REPO,
            timeout=60,
        )
        return result, time.monotonic() - started

    def result(self, cell: tuple[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
        return self.futures[cell].result(timeout=120)

    def wait_busy(self) -> None:
        """Wait for the cells that keep a CPU busy (the connect timeouts only sleep)."""
        for (fault, _op), future in self.futures.items():
            if fault != "connect-timeout":
                future.exception(timeout=120)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.server.close()
        self.blackhole.close()


@pytest.fixture(scope="module", autouse=True)
def cli_cells(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CliCells | None]:
    wanted = any(item.name.startswith("test_cli_under_fault") for item in request.session.items)
    cells = CliCells(tmp_path_factory.mktemp("cli-home")) if wanted else None
    yield cells
    if cells is not None:
        cells.close()


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fault", FAULT_IDS)
def test_cli_under_fault(fault: str, op: str, cli_cells: CliCells, reliability: Any) -> None:
    spec = FAULT_SPECS[fault]
    result, took = cli_cells.result((fault, op))
    assert took < 30
    assert result.returncode == spec.exit_code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("oz-keys: ") and spec.says in line, line
    assert "Traceback" not in result.stderr
    if op == "GenerateApiKey" and spec.create:
        assert spec.create in line
    assert_no_credential(result.stdout, result.stderr)
    reliability.passed("cli", fault, op, f"exit {spec.exit_code}, one line")


# -- hung servers: the panel stays responsive and Esc stops waiting ------------------------------

HUNG_OPTIONS = {"timeout": httpx.Timeout(60.0, connect=5.0), "total_timeout": 60.0, "max_retries": 0}


@pytest.fixture
async def hung() -> AsyncIterator[tuple[fs.FaultServer, dict[str, bool]]]:
    """A loopback server that never answers the operations marked in the dict."""
    hanging: dict[str, bool] = {}
    server = fs.FaultServer()
    server.answer(fs.dispatch(lambda r: fs.hang() if hanging.get(r.op or "") else fs.good()))
    await server.start()
    yield server, hanging
    await server.stop()


def hung_app(server: fs.FaultServer, clock: FakeClock) -> Any:
    backend = remote_backend(server.url, FAKE_CREDENTIAL, clock=clock, **HUNG_OPTIONS)
    return make_app(backend, clock)


def stop_offered(app: Any) -> bool:
    active = app.screen.active_bindings.get("escape")
    return active is not None and active.binding.action == "stop_waiting" and active.enabled


async def still_responsive(pilot: Any) -> None:
    """The help dialog opens and closes while the request hangs."""
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(pilot.app.screen, HelpScreen)
    await pilot.press("escape")
    await pilot.pause()
    assert isinstance(pilot.app.screen, KeysScreen)


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_hung_first_load_can_be_stopped(hung: Any, reliability: Any) -> None:
    server, hanging = hung
    hanging["ApiKeys"] = True
    clock = FakeClock()
    app = hung_app(server, clock)
    async with app.run_test(size=PANEL_SIZE) as pilot:
        await wait_for(lambda: server.count("ApiKeys") == 1)
        await pilot.pause()
        screen = keys_screen(app)
        table = screen.query_one(KeyTable)
        assert table.loading and stop_offered(app)
        await still_responsive(pilot)
        started = time.monotonic()
        await pilot.press("escape")
        await pilot.pause()
        assert time.monotonic() - started < 1
        banner = screen.query_one(ErrorBanner)
        assert banner.shown and "Stopped loading" in banner.message_plain
        assert not table.loading and not stop_offered(app)
        hanging.clear()
        await pilot.press("r")
        await settle(pilot)
        assert len(table.visible_keys) == 3 and not banner.shown
    reliability.passed("cancel", "first-load", "outcome",
                       "Esc stops; banner says so; r loads")


async def test_hung_refresh_can_be_stopped_and_keeps_the_rows(hung: Any, reliability: Any) -> None:
    server, hanging = hung
    clock = FakeClock()
    app = hung_app(server, clock)
    async with app.run_test(size=PANEL_SIZE) as pilot:
        await settle(pilot)
        screen = keys_screen(app)
        table = screen.query_one(KeyTable)
        assert len(table.visible_keys) == 3 and not stop_offered(app)
        hanging["ApiKeys"] = True
        await pilot.press("r")
        await wait_for(lambda: server.count("ApiKeys") == 2)
        await pilot.pause()
        assert stop_offered(app)
        assert screen.query_one(StatusLine).summary_plain == "Refreshing…"
        await still_responsive(pilot)
        await pilot.press("escape")
        await pilot.pause()
        banner = screen.query_one(ErrorBanner)
        assert banner.shown and "Stopped refreshing" in banner.message_plain
        assert "last successful refresh" in banner.message_plain
        assert len(table.visible_keys) == 3
        assert screen.query_one(StatusLine).summary_plain == "3 keys"
    reliability.passed("cancel", "refresh", "outcome", "Esc stops; last good rows stay")


async def test_hung_whoami_does_not_hold_up_the_list(hung: Any, reliability: Any) -> None:
    server, hanging = hung
    hanging["GetUser"] = True
    clock = FakeClock()
    app = hung_app(server, clock)
    async with app.run_test(size=PANEL_SIZE) as pilot:
        await wait_for(lambda: keys_screen(app).query_one(KeyTable).loaded)
        await pilot.pause()
        screen = keys_screen(app)
        assert len(screen.query_one(KeyTable).visible_keys) == 3
        assert stop_offered(app)  # who-am-I is still in flight
        await pilot.press("escape")
        await pilot.pause()
        assert not stop_offered(app)
        assert not screen.query_one(ErrorBanner).shown  # nothing was lost but the account
        assert app.is_running
    reliability.passed("cancel", "whoami", "outcome",
                       "the list shows at once; Esc stops waiting for the account")


async def test_hung_create_can_be_stopped_and_keeps_the_form(hung: Any, reliability: Any) -> None:
    server, hanging = hung
    hanging["GenerateApiKey"] = True
    clock = FakeClock()
    app = hung_app(server, clock)
    async with app.run_test(size=PANEL_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Slow key", "enter")
        await wait_for(lambda: server.count("GenerateApiKey") == 1)
        dialog = app.screen
        assert isinstance(dialog, CreateKeyScreen) and dialog.pending
        assert str(dialog.query_one("#cancel", Button).label) == "Stop waiting"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dialog and not dialog.pending
        failure = " ".join(str(dialog.query_one("#failure", Static).content).split())
        assert "Stopped waiting" in failure and "may have been created" in failure
        assert dialog.query_one("#name", Input).value == "Slow key"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
    reliability.passed("cancel", "create", "outcome",
                       "Esc stops; form kept; “may have been created: refresh to check”")


async def test_hung_delete_can_be_stopped(hung: Any, reliability: Any) -> None:
    server, hanging = hung
    hanging["ExpireApiKey"] = True
    clock = FakeClock()
    app = hung_app(server, clock)
    async with app.run_test(size=PANEL_SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = keys_screen(app)
        table = screen.query_one(KeyTable)
        target = table.highlighted_key
        assert target is not None
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(lambda: server.count("ExpireApiKey") == 1)
        await pilot.pause()
        assert stop_offered(app)
        assert screen.query_one(StatusLine).summary_plain.startswith("Deleting…")
        await still_responsive(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not stop_offered(app)
        assert target.uid in {key.uid for key in table.visible_keys}
        assert "may have been deleted" in notifications(app)[-1]
        assert screen.query_one(StatusLine).summary_plain == "3 keys"
    reliability.passed("cancel", "delete", "outcome",
                       "Esc stops; row stays; toast: “may have been deleted, refresh”")


def test_the_fault_matrix_covers_every_fault_and_operation() -> None:
    assert set(FAULT_SPECS) == set(FAULT_IDS)
    assert set(CALLS) == set(OPS) == set(CLI_ARGS)
    assert CREDENTIAL_HINT == f"wk-**{FAKE_CREDENTIAL[-4:]}"
